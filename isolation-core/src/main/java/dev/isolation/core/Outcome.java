package dev.isolation.core;

import dev.isolation.cgroups.AppliedLimit;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.core.internal.launch.Capture;
import dev.isolation.core.internal.launch.CapturedBytes;
import dev.isolation.core.internal.launch.ExitReport;
import dev.isolation.core.internal.seccomp.BpfCompiler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How a sandboxed run ended and what it used: everything isolate's meta file and go-judge's result
 * carry. Immutable and thread-safe.
 *
 * <p>Figures come from the sandbox's native monitor: {@code wait4} on the sandbox's first process
 * gives CPU time and context switches of every process the sandbox reaped, and the largest
 * resident set of any single one of them; wall time is measured by the monitor from the program's
 * exec to the end of the sandbox, so a JVM pause does not stretch it. With a cgroup, its figures
 * ({@link #cgroupStats()}) count every process, reaped or not.
 *
 * @since 0.1.0
 */
public final class Outcome {
    /**
     * The verdict. When several apply, the first in this order wins: SETUP_FAILED, INTERNAL_ERROR,
     * INTERRUPTED, TIME_LIMIT, WALL_TIME_LIMIT, MEMORY_LIMIT (an OOM kill beats the SIGKILL it
     * caused), OUTPUT_LIMIT, RESTRICTED_SYSCALL, SIGNALED, NONZERO_EXIT, OK.
     *
     * @since 0.1.0
     */
    public enum Status {
        /** Exited with code 0. */
        OK,
        /** Exited with a code other than 0: see {@link #exitCode()}. */
        NONZERO_EXIT,
        /** Ended by a signal: see {@link #signal()}. */
        SIGNALED,
        /** Used more CPU time than {@code cpuTimeLimit} (all its processes together). */
        TIME_LIMIT,
        /** Ran longer than {@code wallTimeLimit}. */
        WALL_TIME_LIMIT,
        /** The kernel's OOM killer ended a process at the memory limit, and the run did not end OK. */
        MEMORY_LIMIT,
        /**
         * Wrote more than {@code outputLimit} to a stream, whatever it is connected to (or to a file:
         * SIGXFSZ); or more than {@link Sandbox#run} captures without one (64 MiB a stream), or than
         * this JVM's captures may hold together (see {@link Sandbox#run}); {@link #message()} says which.
         */
        OUTPUT_LIMIT,
        /** Killed by the seccomp policy for a system call it does not allow (SIGSYS). */
        RESTRICTED_SYSCALL,
        /** The sandbox could not be set up or the program not executed: see {@link #setupFailure()}. */
        SETUP_FAILED,
        /**
         * The thread waiting in {@link Sandbox#run} or {@link SandboxSession#run} was interrupted:
         * the sandbox was killed before its program ended on its own. The figures are those of the
         * killed run; the thread's interrupt status is set again when {@code run} returns.
         */
        INTERRUPTED,
        /**
         * The library failed while watching the run, e.g. the JVM ran out of memory reading its
         * report; the sandbox was killed and removed. {@link #setupFailure()} carries the failure.
         */
        INTERNAL_ERROR
    }

    static final int KILLED_ON_REQUEST = 1;
    static final int KILLED_CPU_LIMIT = 2;
    static final int KILLED_WALL_LIMIT = 3;
    static final int KILLED_SYSCALL = 4;
    /** The monitor relayed a stream whose program wrote past the output limit. */
    static final int KILLED_OUTPUT_LIMIT = 5;
    private static final int SIGSYS = 31;
    private static final int SIGXFSZ = 25;
    private static final int SIGXCPU = 24;

    private final int waitStatus;
    private final int killReason;
    private final Duration wallTime;
    private final Duration userTime;
    private final Duration systemTime;
    private final ByteSize maxRss;
    private final long voluntaryContextSwitches;
    private final long involuntaryContextSwitches;
    private final Optional<CgroupStats> cgroupStats;
    private final List<AppliedLimit> appliedLimits;
    private final List<AppliedLimit.NotApplied> limitsNotApplied;
    private final boolean outputLimitExceeded;
    private final boolean captureBudgetExceeded;
    private final boolean interrupted;
    private final Optional<Duration> cpuTimeLimit;
    private final CapturedBytes stdout;
    private final CapturedBytes stderr;
    private final Optional<SandboxException> setupFailure;
    private final Status status;
    private final Optional<String> forbiddenSyscall;

    Outcome(ExitReport r, Optional<CgroupStats> cgroupStats, List<AppliedLimit> appliedLimits,
            List<AppliedLimit.NotApplied> limitsNotApplied, boolean outputLimitExceeded, boolean captureBudgetExceeded,
            boolean interrupted, Optional<Duration> cpuTimeLimit, CapturedBytes stdout, CapturedBytes stderr) {
        this.waitStatus = r.waitStatus();
        this.killReason = r.killReason();
        this.wallTime = Duration.ofNanos(r.wallNanos());
        this.userTime = Duration.ofNanos(r.userMicros() * 1000);
        this.systemTime = Duration.ofNanos(r.systemMicros() * 1000);
        this.maxRss = ByteSize.kb(r.maxRssKib());
        this.voluntaryContextSwitches = r.voluntaryContextSwitches();
        this.involuntaryContextSwitches = r.involuntaryContextSwitches();
        this.cgroupStats = cgroupStats;
        this.appliedLimits = List.copyOf(appliedLimits);
        this.limitsNotApplied = List.copyOf(limitsNotApplied);
        this.outputLimitExceeded = outputLimitExceeded || captureBudgetExceeded || r.killReason() == KILLED_OUTPUT_LIMIT;
        this.captureBudgetExceeded = captureBudgetExceeded;
        this.interrupted = interrupted && r.killReason() == KILLED_ON_REQUEST; // else it ended before the kill
        this.cpuTimeLimit = cpuTimeLimit;
        this.stdout = stdout;
        this.stderr = stderr;
        this.setupFailure = Optional.empty();
        this.forbiddenSyscall = r.killReason() == KILLED_SYSCALL && r.forbiddenSyscall() >= 0
                ? Optional.of(BpfCompiler.syscallName((int) r.forbiddenSyscall())) : Optional.empty();
        this.status = verdict();
    }

    /** The outcome of a run whose sandbox could not be set up. */
    Outcome(SandboxException setupFailure) {
        this(setupFailure, Status.SETUP_FAILED);
    }

    /** The outcome of a run the library failed to watch. */
    static Outcome internalError(SandboxException failure) {
        return new Outcome(failure, Status.INTERNAL_ERROR);
    }

    private Outcome(SandboxException setupFailure, Status status) {
        this.waitStatus = 0;
        this.killReason = 0;
        this.wallTime = Duration.ZERO;
        this.userTime = Duration.ZERO;
        this.systemTime = Duration.ZERO;
        this.maxRss = ByteSize.ZERO;
        this.voluntaryContextSwitches = 0;
        this.involuntaryContextSwitches = 0;
        this.cgroupStats = Optional.empty();
        this.appliedLimits = List.of();
        this.limitsNotApplied = List.of();
        this.outputLimitExceeded = false;
        this.captureBudgetExceeded = false;
        this.interrupted = false;
        this.cpuTimeLimit = Optional.empty();
        this.stdout = CapturedBytes.EMPTY;
        this.stderr = CapturedBytes.EMPTY;
        this.setupFailure = Optional.of(setupFailure);
        this.forbiddenSyscall = Optional.empty();
        this.status = status;
    }

    private Status verdict() {
        if (interrupted) {
            return Status.INTERRUPTED;
        }
        OptionalInt sig = signal();
        boolean cpuOver = cpuTimeLimit.isPresent() && cpuTime().compareTo(cpuTimeLimit.get()) >= 0;
        // isolate's rule: CPU time over the limit is TIME_LIMIT however the run ended, even by itself
        // between two of the monitor's checks
        if (killReason == KILLED_CPU_LIMIT || (sig.isPresent() && sig.getAsInt() == SIGXCPU) || cpuOver) {
            return Status.TIME_LIMIT;
        }
        if (killReason == KILLED_WALL_LIMIT) {
            return Status.WALL_TIME_LIMIT;
        }
        boolean ok = sig.isEmpty() && exitCode().getAsInt() == 0;
        if (oomKilled() && !ok) {
            return Status.MEMORY_LIMIT;
        }
        if (outputLimitExceeded || (sig.isPresent() && sig.getAsInt() == SIGXFSZ)) {
            return Status.OUTPUT_LIMIT;
        }
        if (killReason == KILLED_SYSCALL || (sig.isPresent() && sig.getAsInt() == SIGSYS)) {
            return Status.RESTRICTED_SYSCALL;
        }
        if (sig.isPresent()) {
            return Status.SIGNALED;
        }
        return ok ? Status.OK : Status.NONZERO_EXIT;
    }

    /** {@return how the run ended} */
    public Status status() {
        return status;
    }

    /** {@return the exit code (0..255), present unless the program was ended by a signal or never ran} */
    public OptionalInt exitCode() {
        return setupFailure.isEmpty() && (waitStatus & 0x7f) == 0 ? OptionalInt.of((waitStatus >> 8) & 0xff) : OptionalInt.empty();
    }

    /** {@return the number of the signal that ended the program, if one did} */
    public OptionalInt signal() {
        return (waitStatus & 0x7f) != 0 ? OptionalInt.of(waitStatus & 0x7f) : OptionalInt.empty();
    }

    /** {@return the exit value as {@link Process#exitValue()} and shells report it: the code, or 128 + signal (-1 if it never ran)} */
    public int exitValue() {
        if (setupFailure.isPresent()) {
            return -1;
        }
        return exitCode().orElseGet(() -> 128 + signal().getAsInt());
    }

    /**
     * True if the monitor killed the sandbox: on request ({@code destroyForcibly}, {@code close}), at
     * a time limit, for a forbidden system call, or past the output limit of a stream it relayed.
     *
     * @return whether the monitor killed the sandbox
     */
    public boolean killed() {
        return killReason != 0;
    }

    /**
     * The system call the seccomp policy killed the program for, e.g. {@code ptrace}
     * ({@link Status#RESTRICTED_SYSCALL}); empty for a call from a foreign ABI (i386, x32), which
     * the kernel kills outright.
     *
     * @return the call's name, or empty
     */
    public Optional<String> forbiddenSyscall() {
        return forbiddenSyscall;
    }

    /**
     * Why the sandbox could not be set up, for {@link Status#SETUP_FAILED}; what failed in the
     * library, for {@link Status#INTERNAL_ERROR}.
     *
     * @return the failure, or empty unless the status is one of those
     */
    public Optional<SandboxException> setupFailure() {
        return setupFailure;
    }

    /**
     * From the program's exec to the end of the sandbox's last process, or to the delivery of the
     * last byte the monitor relays for it (see {@link Sandbox.Builder#outputLimit}), if that is later.
     *
     * @return the wall-clock time
     */
    public Duration wallTime() {
        return wallTime;
    }

    /** {@return CPU time in user mode of every process of the sandbox} */
    public Duration userTime() {
        return userTime;
    }

    /** {@return CPU time in kernel mode of every process of the sandbox} */
    public Duration systemTime() {
        return systemTime;
    }

    /** {@return {@link #userTime()} plus {@link #systemTime()}; the cgroup's figure where it counts more (unreaped processes)} */
    public Duration cpuTime() {
        Duration rusage = userTime.plus(systemTime);
        Duration cgroup = cgroupStats.map(CgroupStats::cpuTotal).orElse(Duration.ZERO);
        return cgroup.compareTo(rusage) > 0 ? cgroup : rusage;
    }

    /** {@return the largest resident set size of any single process of the sandbox} */
    public ByteSize maxRss() {
        return maxRss;
    }

    /**
     * {@return the number of times a process of the sandbox gave up the CPU to wait (voluntary
     * context switches; {@code getrusage}'s {@code ru_nvcsw})}
     */
    public long voluntaryContextSwitches() {
        return voluntaryContextSwitches;
    }

    /**
     * {@return the number of times a process of the sandbox was preempted (involuntary context
     * switches; {@code getrusage}'s {@code ru_nivcsw})}
     */
    public long involuntaryContextSwitches() {
        return involuntaryContextSwitches;
    }

    /**
     * The sandbox cgroup's figures, read after its last process ended: CPU time of every process,
     * peak memory, peak pids, OOM kills, throttling. Empty if the sandbox had no cgroup.
     *
     * @return the figures, or empty
     */
    public Optional<CgroupStats> cgroupStats() {
        return cgroupStats;
    }

    /** {@return true if the kernel's OOM killer ended a process of the sandbox (its memory limit was hit)} */
    public boolean oomKilled() {
        return cgroupStats.map(s -> s.oomKills().orElse(0) > 0).orElse(false);
    }

    /** {@return the limits written to the sandbox's cgroup, each with the file it went to (v1 or v2)} */
    public List<AppliedLimit> appliedLimits() {
        return appliedLimits;
    }

    /** {@return limits this host could not apply (only with {@code bestEffortLimits()}), with the reason} */
    public List<AppliedLimit.NotApplied> limitsNotApplied() {
        return limitsNotApplied;
    }

    /**
     * What the program wrote to standard output, when {@link Sandbox#run} captured it (at most the
     * output limit); a new array at each call.
     *
     * @return the bytes, empty if not captured
     */
    public byte[] stdout() {
        return stdout.toArray();
    }

    /** {@return {@link #stdout()} as UTF-8 text} */
    public String stdoutText() {
        return new String(stdout.toArray(), StandardCharsets.UTF_8);
    }

    /** {@return what the program wrote to standard error, when {@link Sandbox#run} captured it; a new array at each call} */
    public byte[] stderr() {
        return stderr.toArray();
    }

    /** {@return {@link #stderr()} as UTF-8 text} */
    public String stderrText() {
        return new String(stderr.toArray(), StandardCharsets.UTF_8);
    }

    /** {@return a one-line explanation, as isolate's {@code message:}} */
    public String message() {
        return switch (status) {
            case OK -> "exited normally";
            case NONZERO_EXIT -> "exited with code " + exitCode().getAsInt();
            case SIGNALED -> "killed by signal " + signal().getAsInt();
            case TIME_LIMIT -> "CPU time limit exceeded (" + cpuTime().toMillis() + " ms)";
            case WALL_TIME_LIMIT -> "wall time limit exceeded (" + wallTime.toMillis() + " ms)";
            case MEMORY_LIMIT -> "memory limit exceeded (OOM kill)";
            case OUTPUT_LIMIT -> captureBudgetExceeded
                    ? "output capture stopped: this JVM's captures held their bound of " + ByteSize.ofBytes(Capture.budget())
                            + " together (system property " + Capture.BUDGET_PROPERTY + ")"
                    : "output limit exceeded";
            case RESTRICTED_SYSCALL -> "forbidden system call " + forbiddenSyscall.orElse("(killed by seccomp)");
            case SETUP_FAILED, INTERNAL_ERROR -> setupFailure.get().getMessage();
            case INTERRUPTED -> "interrupted: the sandbox was killed before the program ended";
        };
    }

    @Override
    public String toString() {
        return "Outcome[" + status
                + (signal().isPresent() ? " signal=" + signal().getAsInt() : exitCode().isPresent() ? " exitCode=" + exitCode().getAsInt() : "")
                + (killed() ? " killed" : "")
                + (oomKilled() ? " oomKilled" : "")
                + " wall=" + wallTime.toMillis() + "ms cpu=" + cpuTime().toMillis() + "ms maxRss=" + maxRss
                + cgroupStats.flatMap(CgroupStats::memoryPeak).map(p -> " memoryPeak=" + p).orElse("")
                + forbiddenSyscall.map(c -> " syscall=" + c).orElse("")
                + setupFailure.map(e -> ": " + e.getMessage()).orElse("") + "]"; // why it failed, where one prints the outcome
    }
}
