package dev.isolation.core;

import dev.isolation.cgroups.AppliedLimit;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How a sandboxed run ended and what it used. Immutable and thread-safe.
 *
 * <p>Figures come from the sandbox's monitor: {@code wait4} on the sandbox's first process gives
 * CPU time and context switches of every process the sandbox reaped, and the largest resident set
 * of any single one of them; wall time is measured by the monitor from the sandbox's creation to
 * its end, so a JVM pause does not stretch it.
 */
public final class Outcome {
    /** The verdict, in order of precedence when several apply. */
    public enum Status {
        /** Exited with code 0. */
        OK,
        /** Exited with a code other than 0: see {@link #exitCode()}. */
        NONZERO_EXIT,
        /** Ended by a signal: see {@link #signal()}. */
        SIGNALED
    }

    private final int waitStatus;
    private final boolean killed;
    private final Duration wallTime;
    private final Duration userTime;
    private final Duration systemTime;
    private final ByteSize maxRss;
    private final long voluntaryContextSwitches;
    private final long involuntaryContextSwitches;
    private final Optional<CgroupStats> cgroupStats;
    private final List<AppliedLimit> appliedLimits;
    private final List<AppliedLimit.NotApplied> limitsNotApplied;

    Outcome(int waitStatus, boolean killed, Duration wallTime, Duration userTime, Duration systemTime,
            ByteSize maxRss, long voluntaryContextSwitches, long involuntaryContextSwitches,
            Optional<CgroupStats> cgroupStats, List<AppliedLimit> appliedLimits, List<AppliedLimit.NotApplied> limitsNotApplied) {
        this.cgroupStats = cgroupStats;
        this.appliedLimits = List.copyOf(appliedLimits);
        this.limitsNotApplied = List.copyOf(limitsNotApplied);
        this.waitStatus = waitStatus;
        this.killed = killed;
        this.wallTime = wallTime;
        this.userTime = userTime;
        this.systemTime = systemTime;
        this.maxRss = maxRss;
        this.voluntaryContextSwitches = voluntaryContextSwitches;
        this.involuntaryContextSwitches = involuntaryContextSwitches;
    }

    public Status status() {
        if (signal().isPresent()) {
            return Status.SIGNALED;
        }
        return exitCode().getAsInt() == 0 ? Status.OK : Status.NONZERO_EXIT;
    }

    /** The exit code (0..255), present unless the program was ended by a signal. */
    public OptionalInt exitCode() {
        return (waitStatus & 0x7f) == 0 ? OptionalInt.of((waitStatus >> 8) & 0xff) : OptionalInt.empty();
    }

    /** The number of the signal that ended the program, if one did. */
    public OptionalInt signal() {
        return (waitStatus & 0x7f) != 0 ? OptionalInt.of(waitStatus & 0x7f) : OptionalInt.empty();
    }

    /** The exit value as {@link Process#exitValue()} and shells report it: the code, or 128 + signal. */
    public int exitValue() {
        return exitCode().orElseGet(() -> 128 + signal().getAsInt());
    }

    /** True if the sandbox was killed by {@link IsolatedProcess#destroyForcibly()} or {@code close()}. */
    public boolean killed() {
        return killed;
    }

    /** From the creation of the sandbox to the end of its last process. */
    public Duration wallTime() {
        return wallTime;
    }

    /** CPU time in user mode of every process of the sandbox. */
    public Duration userTime() {
        return userTime;
    }

    /** CPU time in kernel mode of every process of the sandbox. */
    public Duration systemTime() {
        return systemTime;
    }

    /** {@link #userTime()} plus {@link #systemTime()}. */
    public Duration cpuTime() {
        return userTime.plus(systemTime);
    }

    /** The largest resident set size of any single process of the sandbox. */
    public ByteSize maxRss() {
        return maxRss;
    }

    public long voluntaryContextSwitches() {
        return voluntaryContextSwitches;
    }

    public long involuntaryContextSwitches() {
        return involuntaryContextSwitches;
    }

    /**
     * The sandbox cgroup's figures, read after its last process ended: CPU time of every process,
     * peak memory, peak pids, OOM kills, throttling. Empty if the sandbox had no cgroup.
     */
    public Optional<CgroupStats> cgroupStats() {
        return cgroupStats;
    }

    /** True if the kernel's OOM killer ended a process of the sandbox (its memory limit was hit). */
    public boolean oomKilled() {
        return cgroupStats.map(s -> s.oomKills().orElse(0) > 0).orElse(false);
    }

    /** The limits written to the sandbox's cgroup, each with the file it went to (v1 or v2). */
    public List<AppliedLimit> appliedLimits() {
        return appliedLimits;
    }

    /** Limits this host could not apply (only with {@code bestEffortLimits()}), with the reason. */
    public List<AppliedLimit.NotApplied> limitsNotApplied() {
        return limitsNotApplied;
    }

    @Override
    public String toString() {
        return "Outcome[" + status()
                + (signal().isPresent() ? " signal=" + signal().getAsInt() : " exitCode=" + exitCode().getAsInt())
                + (killed ? " killed" : "")
                + (oomKilled() ? " oomKilled" : "")
                + " wall=" + wallTime.toMillis() + "ms cpu=" + cpuTime().toMillis() + "ms maxRss=" + maxRss
                + cgroupStats.flatMap(CgroupStats::memoryPeak).map(p -> " memoryPeak=" + p).orElse("") + "]";
    }
}
