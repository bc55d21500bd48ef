package dev.isolation.core;

import java.io.IOException;

/**
 * Something went wrong at run time while setting up, running or tearing down a sandbox. The root
 * of this library's checked exceptions, an {@link IOException} as {@link ProcessBuilder#start()}'s.
 *
 * @since 0.1.0
 */
public class SandboxException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure.
     *
     * @param message what went wrong, and what to do
     */
    public SandboxException(String message) {
        super(message);
    }

    /**
     * A failure with its cause.
     *
     * @param message what went wrong, and what to do
     * @param cause the underlying error
     */
    public SandboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
