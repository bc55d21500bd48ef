package dev.isolation.cgroups;

import java.nio.file.Path;

/**
 * This host cannot do what was asked: a controller is absent, not enabled for the subtree, not
 * delegated to this user, or {@code /sys/fs/cgroup} is read-only. The message says how to fix the
 * host. Callers may branch on this type, e.g. to fall back to running without limits only when
 * the user opted in with {@link CgroupLimits.Builder#bestEffort(boolean)}.
 *
 * @since 0.1.0
 */
public class CgroupUnavailableException extends CgroupException {
    private static final long serialVersionUID = 1L;

    /**
     * A host capability is missing; {@code message} should say how to fix the host.
     *
     * @param message what is missing and how to fix the host
     */
    public CgroupUnavailableException(String message) {
        super(message);
    }

    /**
     * A host capability is missing for one file.
     *
     * @param message what is missing and how to fix the host
     * @param controller the controller concerned (its v1 or v2 name), or {@code null}
     * @param file the file that is missing or refused, or {@code null}
     * @param value the value that could not be written, or {@code null}
     * @param cause the underlying I/O error, or {@code null}
     */
    public CgroupUnavailableException(String message, String controller, Path file, String value, Throwable cause) {
        super(message, controller, file, value, cause);
    }
}
