package dev.isolation.examples.judge;

import dev.isolation.core.Outcome;

/** A test's verdict, in the words of programming contests. */
public enum Verdict {
    /** Accepted: exited normally and the output matches. */
    AC,
    /** Wrong answer: exited normally, but the output does not match. */
    WA,
    /** Time limit exceeded: CPU time or wall time. */
    TLE,
    /** Memory limit exceeded: the OOM killer ended it. */
    MLE,
    /** Output limit exceeded. */
    OLE,
    /** Runtime error: a nonzero exit or a signal. */
    RE,
    /** Restricted function: a system call the judge's seccomp policy forbids. */
    RF,
    /** Compile error: the compiler failed (or exceeded its own limits). */
    CE,
    /** Internal error: the judge's sandbox could not be set up, failed or was interrupted; the submission is not to blame. */
    IE;

    /** The verdict of a test run that ended as {@code o}; {@code expected} is the test's answer. */
    static Verdict of(Outcome o, byte[] expected) {
        return switch (o.status()) {
            case OK -> Checker.matches(o.stdout(), expected) ? AC : WA;
            case NONZERO_EXIT, SIGNALED -> RE;
            case TIME_LIMIT, WALL_TIME_LIMIT -> TLE;
            case MEMORY_LIMIT -> MLE;
            case OUTPUT_LIMIT -> OLE;
            case RESTRICTED_SYSCALL -> RF;
            case SETUP_FAILED, INTERNAL_ERROR, INTERRUPTED -> IE;
        };
    }
}
