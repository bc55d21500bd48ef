package dev.isolation.cgroups;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * Every unit conversion between cgroup v1, cgroup v2 and Java types, in one place. Stateless and
 * thread-safe.
 *
 * <ul>
 *   <li>cpu.shares (v1, 2..262144, default 1024) ↔ cpu.weight (v2, 1..10000, default 100), with
 *       the formula crun and runc adopted in 2025 (maps the default 1024 to the default 100).
 *   <li>blkio.weight (v1, 10..1000) ↔ io.weight (v2, 1..10000), linear.
 *   <li>CPU quota in cores ↔ quota/period in microseconds; "no limit" is {@code -1} in v1 files
 *       and {@code max} in v2 files.
 *   <li>v1 memsw (memory + swap) ↔ v2 memory.swap.max (swap only).
 * </ul>
 */
public final class CgroupUnits {
    /** Smallest cpu.shares the kernel accepts. */
    public static final long MIN_SHARES = 2;
    /** Largest cpu.shares the kernel accepts. */
    public static final long MAX_SHARES = 262_144;
    /** Smallest cpu.weight. */
    public static final long MIN_WEIGHT = 1;
    /** Largest cpu.weight and io.weight. */
    public static final long MAX_WEIGHT = 10_000;
    /** Smallest v1 blkio.weight. */
    public static final long MIN_BLKIO_WEIGHT = 10;
    /** Largest v1 blkio.weight. */
    public static final long MAX_BLKIO_WEIGHT = 1000;
    /** The kernel's default CFS period, 100 ms. */
    public static final Duration DEFAULT_CPU_PERIOD = Duration.ofMillis(100);

    /**
     * The value v1 memory.limit_in_bytes reads back as when unlimited: PAGE_COUNTER_MAX pages,
     * i.e. {@code Long.MAX_VALUE} rounded down to a 4 KiB page.
     */
    public static final long V1_UNLIMITED_MEMORY = Long.MAX_VALUE & ~4095L;

    // Guards ceil() against 10^2.0000000000000004 = 100.00000000000009 becoming 101.
    private static final double EPSILON = 1e-9;

    private CgroupUnits() {
    }

    /**
     * cpu.shares → cpu.weight: {@code l = log2(shares); weight = ceil(10^((l² + 125·l)/612 − 7/34))},
     * clamped to 1..10000 (shares ≤ 2 → 1, shares ≥ 262144 → 10000).
     */
    public static long sharesToWeight(long shares) {
        if (shares <= MIN_SHARES) {
            return MIN_WEIGHT;
        }
        if (shares >= MAX_SHARES) {
            return MAX_WEIGHT;
        }
        double l = Math.log(shares) / Math.log(2);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        long weight = (long) Math.ceil(Math.pow(10, exponent) - EPSILON);
        return Math.max(MIN_WEIGHT, Math.min(MAX_WEIGHT, weight));
    }

    /**
     * cpu.weight → cpu.shares, the exact inverse of the continuous curve behind
     * {@link #sharesToWeight}, rounded to the nearest share and clamped to 2..262144.
     *
     * <p>An approximation: {@code sharesToWeight} rounds up, so several share values map to one
     * weight and the inverse picks one of them. It is monotone, exact at the curve's anchor points
     * (1 ↔ 2, 100 ↔ 1024, 10000 ↔ 262144), and {@code sharesToWeight(weightToShares(w)) == w} for
     * those.
     */
    public static long weightToShares(long weight) {
        if (weight <= MIN_WEIGHT) {
            return MIN_SHARES;
        }
        if (weight >= MAX_WEIGHT) {
            return MAX_SHARES;
        }
        // Solve l² + 125·l − 612·(log10(w) + 7/34) = 0 for l > 0.
        double c = 612.0 * (Math.log10(weight) + 7.0 / 34.0);
        double l = (-125.0 + Math.sqrt(125.0 * 125.0 + 4.0 * c)) / 2.0;
        long shares = Math.round(Math.pow(2, l));
        return Math.max(MIN_SHARES, Math.min(MAX_SHARES, shares));
    }

    /** v1 blkio.weight (10..1000) → v2 io.weight (1..10000): {@code 1 + (w1 − 10) × 9999 / 990}. */
    public static long blkioWeightToIoWeight(long blkioWeight) {
        long w1 = Math.max(MIN_BLKIO_WEIGHT, Math.min(MAX_BLKIO_WEIGHT, blkioWeight));
        return 1 + (w1 - 10) * 9999 / 990;
    }

    /** v2 io.weight (1..10000) → v1 blkio.weight (10..1000): {@code 10 + (w2 − 1) × 990 / 9999}. */
    public static long ioWeightToBlkioWeight(long ioWeight) {
        long w2 = Math.max(MIN_WEIGHT, Math.min(MAX_WEIGHT, ioWeight));
        return 10 + (w2 - 1) * 990 / 9999;
    }

    /** A CPU quota in cores (e.g. 1.5) → quota in microseconds per {@code period}, at least 1000 µs. */
    public static long coresToQuotaMicros(double cores, Duration period) {
        long quota = Math.round(cores * toMicros(period));
        return Math.max(1000, quota);
    }

    /** Quota and period in microseconds → cores. */
    public static double quotaToCores(long quotaMicros, long periodMicros) {
        return (double) quotaMicros / (double) periodMicros;
    }

    /** Whole microseconds of {@code d}. */
    public static long toMicros(Duration d) {
        return d.toNanos() / 1000;
    }

    /** The v2 cpu.max line: {@code "QUOTA PERIOD"}, or {@code "max PERIOD"} for no quota. */
    public static String cpuMax(OptionalLong quotaMicros, long periodMicros) {
        return (quotaMicros.isPresent() ? Long.toString(quotaMicros.getAsLong()) : "max") + " " + periodMicros;
    }

    /** A v1 limit value to v2 syntax: {@code -1} → {@code "max"}, otherwise the number. */
    public static String v1ToV2Limit(long v1) {
        return v1 < 0 ? "max" : Long.toString(v1);
    }

    /** A v2 limit value to v1 syntax: {@code "max"} → {@code -1}, otherwise the number. */
    public static long v2ToV1Limit(String v2) {
        String s = v2.trim();
        return s.equals("max") ? -1 : Long.parseLong(s);
    }

    /** v1 memory.memsw.limit_in_bytes (memory + swap) from a memory limit and allowed swap. */
    public static long memswBytes(ByteSize memory, ByteSize swap) {
        return memory.plus(swap).bytes();
    }

    /** v2 memory.swap.max (swap only) from v1 memsw and memory limits: {@code memsw − memory}. */
    public static long swapFromMemsw(long memswBytes, long memoryBytes) {
        return Math.max(0, memswBytes - memoryBytes);
    }

    /** A v1 nanosecond counter (cpuacct.usage*) to a Duration. */
    public static Duration fromNanos(long nanos) {
        return Duration.ofNanos(nanos);
    }

    /** A v2 microsecond counter (cpu.stat *_usec) to a Duration. */
    public static Duration fromMicros(long micros) {
        return Duration.ofNanos(Math.multiplyExact(micros, 1000L));
    }

    /**
     * Clock ticks (cpuacct.stat) to a Duration. USER_HZ is 100 on every Linux architecture the
     * JDK supports.
     */
    public static Duration fromUserHzTicks(long ticks) {
        return Duration.ofMillis(Math.multiplyExact(ticks, 10L));
    }
}
