package dev.isolation.core.internal.launch;

/**
 * What the monitor reported when the sandbox ended: the program's raw wait status, whether the
 * monitor killed it on request, and {@code wait4}'s rusage of the sandbox.
 */
public record ExitReport(int waitStatus, boolean killed, long wallNanos, long userMicros, long systemMicros,
        long maxRssKib, long voluntaryContextSwitches, long involuntaryContextSwitches) {}
