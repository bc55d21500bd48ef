package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random values, extremes first, for every setter of {@link Sandbox.Builder} that takes a number, duration or size. */
final class BuilderValues {
    private BuilderValues() {}

    /** A setter, by the name its error messages must contain. */
    record Setter(String name, Apply apply) {
        void apply(Sandbox.Builder b, Random r) {
            apply.to(b, r);
        }
    }

    interface Apply {
        void to(Sandbox.Builder b, Random r);
    }

    /** Setters whose accepted values a test may run: nothing that maps host ids or names a host device. */
    static final List<Setter> RUNNABLE = List.of(
            new Setter("cpuTimeLimit", (b, r) -> b.cpuTimeLimit(duration(r))),
            new Setter("wallTimeLimit", (b, r) -> b.wallTimeLimit(duration(r))),
            new Setter("outputLimit", (b, r) -> b.outputLimit(size(r))),
            new Setter("tmpSize", (b, r) -> b.tmpSize(size(r))),
            new Setter("tmpfs", (b, r) -> b.tmpfs("/scratch", size(r))),
            new Setter("memoryLimit", (b, r) -> b.memoryLimit(size(r))),
            new Setter("swapLimit", (b, r) -> b.swapLimit(size(r))),
            new Setter("cpuShares", (b, r) -> b.cpuShares(integer(r))),
            new Setter("cpuWeight", (b, r) -> b.cpuWeight(integer(r))),
            new Setter("cpuQuota", (b, r) -> b.cpuQuota(cores(r))),
            new Setter("cpuQuota", (b, r) -> b.cpuQuota(duration(r), duration(r))),
            new Setter("cpuset", (b, r) -> b.cpuset(cpuList(r))),
            new Setter("cpusetMems", (b, r) -> b.cpusetMems(cpuList(r))),
            new Setter("pidsLimit", (b, r) -> b.pidsLimit(number(r))),
            new Setter("ioWeight", (b, r) -> b.ioWeight(integer(r))),
            new Setter("runAs", (b, r) -> b.runAs(integer(r), integer(r))),
            new Setter("rlimit", (b, r) -> b.rlimit(Rlimit.values()[r.nextInt(Rlimit.values().length)], number(r), number(r))),
            new Setter("rlimit", (b, r) -> b.rlimit(Rlimit.values()[r.nextInt(Rlimit.values().length)], number(r))));

    /** Every setter: {@link #RUNNABLE} and those that map ids or need a block device. */
    static final List<Setter> ALL = all();

    private static List<Setter> all() {
        List<Setter> all = new ArrayList<>(RUNNABLE);
        all.add(new Setter("uidMap", (b, r) -> b.uidMap(number(r), number(r), number(r))));
        all.add(new Setter("gidMap", (b, r) -> b.gidMap(number(r), number(r), number(r))));
        all.add(new Setter("ioReadBps", (b, r) -> b.ioReadBps(Path.of("/nonexistent-device"), size(r))));
        all.add(new Setter("ioWriteIops", (b, r) -> b.ioWriteIops(Path.of("/dev/null"), number(r)))); // a char device
        return List.copyOf(all);
    }

    static Duration duration(Random r) {
        Duration[] extremes = {Duration.ZERO, Duration.ofNanos(1), Duration.ofNanos(-1), Duration.ofMillis(1),
            Duration.ofMillis(1).minusNanos(1), Duration.ofSeconds(1), Duration.ofSeconds(1).plusNanos(1), Duration.ofDays(24),
            Duration.ofDays(24).plusNanos(1), Duration.ofDays(36_500), Duration.ofDays(1_000_000),
            Duration.ofSeconds(Long.MAX_VALUE, 999_999_999), Duration.ofSeconds(Long.MIN_VALUE), Duration.ofNanos(Long.MAX_VALUE)};
        return switch (r.nextInt(4)) {
            case 0, 1 -> extremes[r.nextInt(extremes.length)];
            case 2 -> Duration.ofMillis(r.nextInt(2000));
            default -> Duration.ofSeconds(r.nextLong() >> r.nextInt(64), r.nextInt(1_000_000_000));
        };
    }

    static ByteSize size(Random r) {
        long[] extremes = {0, 1, 4095, 4096, (1 << 20) - 1, 1 << 20, 64L << 20, Long.MAX_VALUE, Long.MAX_VALUE - 4095};
        return ByteSize.ofBytes(switch (r.nextInt(3)) {
            case 0 -> extremes[r.nextInt(extremes.length)];
            case 1 -> r.nextInt(256 << 20);
            default -> (r.nextLong() >>> 1) >> r.nextInt(63);
        });
    }

    static long number(Random r) {
        long[] extremes = {0, -1, 1, 2, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE, 4_194_304, 4_194_305,
            0xffff_ffffL, 1L << 32, 65_534, -2};
        return r.nextBoolean() ? extremes[r.nextInt(extremes.length)] : r.nextLong() >> r.nextInt(64);
    }

    static int integer(Random r) {
        int[] extremes = {0, -1, 1, 2, 100, 1024, 10_000, 10_001, 262_144, 262_145, Integer.MAX_VALUE, Integer.MIN_VALUE};
        return r.nextBoolean() ? extremes[r.nextInt(extremes.length)] : r.nextInt() >> r.nextInt(32);
    }

    static double cores(Random r) {
        double[] extremes = {0, -1, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE,
            Double.MAX_VALUE, 1e-9, 0.01, 0.5, 1, 2, 1e6, 1e300};
        return r.nextBoolean() ? extremes[r.nextInt(extremes.length)] : r.nextDouble() * Math.pow(10, r.nextInt(20) - 5);
    }

    static String cpuList(Random r) {
        String[] extremes = {"0", "0-1", "1-0", "", "65535", "65536", "99999999999999999999", "0,", "a", "0-99999", "1,0", "-1"};
        return r.nextBoolean() ? extremes[r.nextInt(extremes.length)] : Integer.toString(r.nextInt(4));
    }
}
