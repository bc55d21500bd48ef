package dev.isolation.core.internal.linux;

import jnr.constants.platform.Errno;

/**
 * A system call failed, in the JVM or in the native helper while it set up the sandbox. The
 * message has one shape: {@code execve("/nonexistent"): ENOENT (No such file or directory)}.
 *
 * <p>Unchecked inside the library's internals; the launch path wraps it in a
 * {@code SandboxSetupException}, so callers catch {@code SandboxException}.
 */
public final class NativeCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final String argument;
    private final int errno;

    public NativeCallException(String call, String argument, int errno) {
        super(format(call, argument, errno));
        this.call = call;
        this.argument = argument;
        this.errno = errno;
    }

    /** The system call or step that failed, e.g. {@code execve} or {@code mount}. */
    public String call() {
        return call;
    }

    /** What it was called on: a path, a name or a description; empty if none. */
    public String argument() {
        return argument;
    }

    /** The error number the kernel returned. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of {@link #errno()}, e.g. {@code ENOENT}. */
    public String errnoName() {
        return errnoName(errno);
    }

    public static String errnoName(int errno) {
        Errno e = Errno.valueOf(errno);
        return e == Errno.__UNKNOWN_CONSTANT__ ? "errno " + errno : e.name();
    }

    static String format(String call, String argument, int errno) {
        Errno e = Errno.valueOf(errno);
        String description = e == Errno.__UNKNOWN_CONSTANT__ ? "unknown error" : e.description();
        String arg = argument.isEmpty() ? "" : argument.startsWith("\"") ? argument : "\"" + argument + "\"";
        return call + "(" + arg + "): " + errnoName(errno) + " (" + description + ")";
    }
}
