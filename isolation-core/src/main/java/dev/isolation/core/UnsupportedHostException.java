package dev.isolation.core;

/**
 * This host cannot do what the sandbox asks for (a missing kernel feature, a disabled namespace
 * type, an undelegated cgroup). The message says how to fix the host.
 *
 * @since 0.1.0
 */
public class UnsupportedHostException extends SandboxException {
    private static final long serialVersionUID = 1L;

    public UnsupportedHostException(String message) {
        super(message);
    }

    public UnsupportedHostException(String message, Throwable cause) {
        super(message, cause);
    }
}
