package dev.isolation.cgroups;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One value written to configure a sandbox cgroup: the limit in this library's words, the value
 * in the kernel's syntax, and the file written.
 *
 * @param limit the limit, e.g. {@code "memoryLimit"}, {@code "swapLimit"}, {@code "cpuShares"}
 * @param value the text written, e.g. {@code "67108864"} or {@code "50000 100000"}
 * @param file the file written
 * @since 0.1.0
 */
public record AppliedLimit(String limit, String value, Path file) {
    /**
     * Checks that no component is null.
     *
     * @param limit the limit, e.g. {@code "memoryLimit"}, {@code "swapLimit"}, {@code "cpuShares"}
     * @param value the text written, e.g. {@code "67108864"} or {@code "50000 100000"}
     * @param file the file written
     * @throws NullPointerException if a component is null
     */
    public AppliedLimit {
        Objects.requireNonNull(limit, "limit");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(file, "file");
    }

    @Override
    public String toString() {
        return limit + ": \"" + value + "\" -> " + file;
    }

    /**
     * A limit that was requested but not applied, with the reason. Only reported when the limits
     * were built with {@code bestEffort(true)}, or when a limit is moot on this host (a swap limit
     * on a host without swap and without swap accounting).
     *
     * @param limit the limit, in this library's words
     * @param value the value that would have been written
     * @param reason why it was not applied and how to fix the host
     * @since 0.1.0
     */
    public record NotApplied(String limit, String value, String reason) {
        /**
         * Checks that no component is null.
         *
         * @param limit the limit, in this library's words
         * @param value the value that would have been written
         * @param reason why it was not applied and how to fix the host
         * @throws NullPointerException if a component is null
         */
        public NotApplied {
            Objects.requireNonNull(limit, "limit");
            Objects.requireNonNull(value, "value");
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public String toString() {
            return limit + ": \"" + value + "\" not applied: " + reason;
        }
    }
}
