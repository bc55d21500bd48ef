package dev.isolation.cgroups.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The unit conversions the backends need and no user calls. Stateless. */
public final class Units {
    private Units() {
    }

    /** Whole microseconds of {@code d}. */
    public static long toMicros(Duration d) {
        return d.toNanos() / 1000;
    }

    /** A microsecond counter (v2 cpu.stat *_usec) to a Duration. */
    public static Duration fromMicros(long micros) {
        return Duration.ofNanos(Math.multiplyExact(micros, 1000L));
    }

    /** Clock ticks (v1 cpuacct.stat) to a Duration; USER_HZ is 100 on every Linux architecture the JDK supports. */
    public static Duration fromUserHzTicks(long ticks) {
        return Duration.ofMillis(Math.multiplyExact(ticks, 10L));
    }

    /**
     * The step for a swap limit whose file is missing (no swap accounting): moot when the host has
     * no swap, so the memory limit alone is complete; else the host cannot apply it.
     */
    public static CgroupBackend.LimitStep swapAccountingMissing(String limit, String value, Path file, String fix) {
        if (!hostHasSwap()) {
            return new CgroupBackend.LimitStep.Skip(limit, value, file.getFileName()
                    + " is missing (no swap accounting), and the host has no swap: the limit is moot", true);
        }
        return new CgroupBackend.LimitStep.Skip(limit, value, file + " is missing: swap accounting is off, so the"
                + " memory limit could be exceeded with swap; " + fix + ", or disable swap", false);
    }

    private static boolean hostHasSwap() {
        try {
            return Files.readAllLines(Path.of("/proc/swaps")).size() > 1;
        } catch (IOException e) {
            return true;
        }
    }
}
