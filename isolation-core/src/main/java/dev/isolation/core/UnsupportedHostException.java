package dev.isolation.core;

/**
 * This host cannot do what the sandbox asks for (a missing kernel feature, a disabled namespace
 * type, an undelegated cgroup). The message says how to fix the host.
 *
 * @since 0.1.0
 */
public class UnsupportedHostException extends SandboxException {
    private static final long serialVersionUID = 1L;

    /**
     * This host cannot do what the policy asks.
     *
     * @param message what is missing, and how to fix the host or the policy
     */
    public UnsupportedHostException(String message) {
        super(message);
    }

    /**
     * This host cannot do what the policy asks, with the cause.
     *
     * @param message what is missing, and how to fix the host or the policy
     * @param cause the underlying error
     */
    public UnsupportedHostException(String message, Throwable cause) {
        super(message, cause);
    }
}
