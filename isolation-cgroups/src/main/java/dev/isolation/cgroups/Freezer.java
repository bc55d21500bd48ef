package dev.isolation.cgroups;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A cgroup freezer as data: write {@link #freezeValue()} into {@link #file()} to freeze, {@link
 * #thawValue()} to thaw (v1 {@code freezer.state} {@code FROZEN}/{@code THAWED}, v2 {@code
 * cgroup.freeze} {@code 1}/{@code 0}). A frozen process does not act on SIGKILL until thawed.
 *
 * @param file the file written
 * @param freezeValue the text that freezes
 * @param thawValue the text that thaws
 * @since 0.1.0
 */
public record Freezer(Path file, String freezeValue, String thawValue) {
    /**
     * Checks that no component is null.
     *
     * @param file the file written
     * @param freezeValue the text that freezes
     * @param thawValue the text that thaws
     * @throws NullPointerException if a component is null
     */
    public Freezer {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(freezeValue, "freezeValue");
        Objects.requireNonNull(thawValue, "thawValue");
    }
}
