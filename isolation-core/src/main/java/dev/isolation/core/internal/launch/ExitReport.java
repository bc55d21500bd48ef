package dev.isolation.core.internal.launch;

/**
 * What the monitor reported when the sandbox ended: the program's raw wait status, why the monitor
 * killed it (0 not, 1 on request, 2 CPU time limit, 3 wall time limit, 4 a forbidden system
 * call, whose number is then {@code forbiddenSyscall}, else -1; 5 output limit: a relayed stream
 * passed it), and {@code wait4}'s rusage of the
 * sandbox.
 */
public record ExitReport(int waitStatus, int killReason, long wallNanos, long userMicros, long systemMicros,
        long maxRssKib, long voluntaryContextSwitches, long involuntaryContextSwitches, long forbiddenSyscall) {}
