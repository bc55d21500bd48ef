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

    /** A host capability is missing; {@code message} should say how to fix the host. */
    public CgroupUnavailableException(String message) {
        super(message);
    }

    /** A host capability is missing for one file. */
    public CgroupUnavailableException(String message, String controller, Path file, String value, Throwable cause) {
        super(message, controller, file, value, cause);
    }
}
