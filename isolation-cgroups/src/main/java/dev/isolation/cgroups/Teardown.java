package dev.isolation.cgroups;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to kill everything in a sandbox cgroup and remove it, as data, so that a process outside
 * this library (the native monitor, when the JVM is gone) runs the same algorithm as {@link
 * SandboxCgroup#close()} without knowing cgroup files. Immutable.
 *
 * <p>The algorithm, in bounded rounds until every directory is gone: thaw every freezer (a frozen
 * task ignores SIGKILL); while a process is listed in a {@link #procsFiles() procs file}, kill:
 * write {@code 1} into the {@link #killFile() kill file} when there is one, else freeze with the
 * first freezer, SIGKILL every listed pid, thaw; then remove the {@link #directories()} in order,
 * a directory already gone counting as removed.
 *
 * @param killFile v2 {@code cgroup.kill} (Linux 5.14+), when present
 * @param freezers every freezer of the cgroup, the one its {@link SandboxCgroup#freeze()} uses first
 * @param procsFiles every file listing the cgroup's processes
 * @param directories the directories to remove, in order (nested cgroups before their parents)
 * @since 0.1.0
 */
public record Teardown(Optional<Path> killFile, List<Freezer> freezers, List<Path> procsFiles, List<Path> directories) {
    /**
     * Checks the components and copies the lists.
     *
     * @param killFile v2 {@code cgroup.kill} (Linux 5.14+), when present
     * @param freezers every freezer of the cgroup, the one its {@link SandboxCgroup#freeze()} uses first
     * @param procsFiles every file listing the cgroup's processes
     * @param directories the directories to remove, in order (nested cgroups before their parents)
     * @throws NullPointerException if a component is null
     */
    public Teardown {
        Objects.requireNonNull(killFile, "killFile");
        freezers = List.copyOf(freezers);
        procsFiles = List.copyOf(procsFiles);
        directories = List.copyOf(directories);
    }
}
