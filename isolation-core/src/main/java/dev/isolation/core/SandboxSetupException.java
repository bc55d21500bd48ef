package dev.isolation.core;

import dev.isolation.core.internal.linux.NativeCallException;

/**
 * The sandbox could not be set up, or the program could not be executed in it: a system call of
 * the launch path failed. Nothing of the sandbox is left when this is thrown.
 */
public class SandboxSetupException extends SandboxException {
    private static final long serialVersionUID = 1L;

    private final NativeCallException failure;

    public SandboxSetupException(NativeCallException failure) {
        super(failure.getMessage(), failure);
        this.failure = failure;
    }

    /** The same failure, said with {@code message} (which begins with the call's own). */
    SandboxSetupException(NativeCallException failure, String message) {
        super(message, failure);
        this.failure = failure;
    }

    /** The system call or step that failed, e.g. {@code execve}. */
    public String call() {
        return failure.call();
    }

    /** What it was called on, e.g. the path. */
    public String argument() {
        return failure.argument();
    }

    public int errno() {
        return failure.errno();
    }

    /** e.g. {@code ENOENT}. */
    public String errnoName() {
        return failure.errnoName();
    }
}
