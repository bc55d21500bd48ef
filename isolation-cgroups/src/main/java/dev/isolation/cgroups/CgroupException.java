package dev.isolation.cgroups;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A cgroup operation failed at run time. When the failure concerns one file, the exception names
 * the controller, the file and the value written, and its message has the shape
 * {@code write("999" -> /sys/fs/cgroup/cpuset/x/cpuset.cpus): EINVAL (Invalid argument)}.
 *
 * <p>Extends {@link IOException} as {@link ProcessBuilder#start()} failures do. Programming errors
 * (bad arguments) are reported with {@link IllegalArgumentException} instead.
 *
 * @since 0.1.0
 */
public class CgroupException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The controller concerned (its v1 or v2 name), or null. */
    private final String controller;
    /** The file read or written, or null. */
    private final Path file;
    /** The value written, or null. */
    private final String value;

    /**
     * A failure not tied to one file.
     *
     * @param message the full message
     */
    public CgroupException(String message) {
        this(message, null, null, null, null);
    }

    /**
     * A failure not tied to one file, with its cause.
     *
     * @param message the full message
     * @param cause the underlying error
     */
    public CgroupException(String message, Throwable cause) {
        this(message, null, null, null, cause);
    }

    /**
     * A failure on one file.
     *
     * @param message the full message
     * @param controller the controller concerned (its v1 or v2 name), or {@code null}
     * @param file the file read or written, or {@code null}
     * @param value the value written, or {@code null} for reads and directory operations
     * @param cause the underlying I/O error, or {@code null}
     */
    public CgroupException(String message, String controller, Path file, String value, Throwable cause) {
        super(message, cause);
        this.controller = controller;
        this.file = file;
        this.value = value;
    }

    /**
     * The controller concerned, when known.
     *
     * @return the controller's v1 or v2 name, or empty
     */
    public Optional<String> controller() {
        return Optional.ofNullable(controller);
    }

    /**
     * The file read or written, when the failure concerns one file.
     *
     * @return the file, or empty
     */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /**
     * The value written, when the failure was a write.
     *
     * @return the value written, or empty
     */
    public Optional<String> value() {
        return Optional.ofNullable(value);
    }
}
