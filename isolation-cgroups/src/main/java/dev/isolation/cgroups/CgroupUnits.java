package dev.isolation.cgroups;

import java.time.Duration;

/**
 * The weight conversions between cgroup v1 and v2 scales, for callers that hold a value in one scale. Stateless and
 * thread-safe.
 *
 * <ul>
 *   <li>cpu.shares (v1, 2..262144, default 1024) ↔ cpu.weight (v2, 1..10000, default 100), with
 *       the formula crun and runc adopted in 2025 (maps the default 1024 to the default 100).
 *   <li>blkio.weight (v1, 10..1000) ↔ io.weight (v2, 1..10000), linear.
 * </ul>
 *
 * @since 0.1.0
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

    // Guards ceil() against 10^2.0000000000000004 = 100.00000000000009 becoming 101.
    private static final double EPSILON = 1e-9;

    private CgroupUnits() {
    }

    /**
     * cpu.shares → cpu.weight: {@code l = log2(shares); weight = ceil(10^((l² + 125·l)/612 − 7/34))},
     * clamped to 1..10000 (shares ≤ 2 → 1, shares ≥ 262144 → 10000).
     *
     * @param shares a v1 {@code cpu.shares} value (the kernel's default is 1024)
     * @return the v2 {@code cpu.weight}, 1..10000 (1024 shares give 100, the v2 default)
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
     *
     * @param weight a v2 {@code cpu.weight} value
     * @return the v1 {@code cpu.shares}, 2..262144
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

    /**
     * v1 blkio.weight (10..1000) → v2 io.weight (1..10000): {@code 1 + (w1 − 10) × 9999 / 990}.
     *
     * @param blkioWeight a v1 {@code blkio.weight}, clamped to 10..1000
     * @return the v2 {@code io.weight}, 1..10000
     */
    public static long blkioWeightToIoWeight(long blkioWeight) {
        long w1 = Math.max(MIN_BLKIO_WEIGHT, Math.min(MAX_BLKIO_WEIGHT, blkioWeight));
        return 1 + (w1 - 10) * 9999 / 990;
    }

    /**
     * v2 io.weight (1..10000) → v1 blkio.weight (10..1000): {@code 10 + round((w2 − 1) × 990 / 9999)},
     * rounded to the nearest so that every blkio weight survives {@link #blkioWeightToIoWeight} and back.
     *
     * @param ioWeight a v2 {@code io.weight}, clamped to 1..10000
     * @return the v1 {@code blkio.weight}, 10..1000
     */
    public static long ioWeightToBlkioWeight(long ioWeight) {
        long w2 = Math.max(MIN_WEIGHT, Math.min(MAX_WEIGHT, ioWeight));
        return 10 + ((w2 - 1) * 990 + 9999 / 2) / 9999;
    }
}
