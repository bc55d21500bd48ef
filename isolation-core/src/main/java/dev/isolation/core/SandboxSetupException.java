package dev.isolation.core;

import dev.isolation.core.internal.linux.NativeCallException;

/**
 * The sandbox could not be set up, or the program could not be executed in it: a system call of
 * the launch path failed. Nothing of the sandbox is left when this is thrown.
 *
 * @since 0.1.0
 */
public class SandboxSetupException extends SandboxException {
    private static final long serialVersionUID = 1L;

    /** The failed call, with its errno. */
    private final NativeCallException failure;

    /** Made by the library only: the failure it wraps is an internal type. */
    SandboxSetupException(NativeCallException failure) {
        super(failure.getMessage(), failure);
        this.failure = failure;
    }

    /** The same failure, said with {@code message} (which begins with the call's own). */
    SandboxSetupException(NativeCallException failure, String message) {
        super(message, failure);
        this.failure = failure;
    }

    /** {@return the system call or step that failed, e.g. {@code execve}} */
    public String call() {
        return failure.call();
    }

    /** {@return what it was called on, e.g. the path} */
    public String argument() {
        return failure.argument();
    }

    /** {@return the error number the call failed with, e.g. 2 for {@code ENOENT}; see {@link #errnoName()}} */
    public int errno() {
        return failure.errno();
    }

    /** {@return the errno's symbolic name, e.g. {@code ENOENT}} */
    public String errnoName() {
        return failure.errnoName();
    }
}
