package dev.isolation.cgroups;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What {@link CgroupHost#probe()} found: the layout, every cgroup hierarchy mounted, and for each
 * controller where it lives and whether a sandbox can use it. {@link #toString()} is a readable
 * multi-line report for a {@code doctor} command. Immutable.
 *
 * @param layout the host layout
 * @param kernelRelease {@code uname -r}, or {@code "unknown"}
 * @param hierarchies every cgroup hierarchy this process can see
 * @param controllers one entry per {@link CgroupController}, in enum order
 * @since 0.1.0
 */
public record HostReport(CgroupLayout layout, String kernelRelease, List<Hierarchy> hierarchies,
                         List<ControllerStatus> controllers) {
    /**
     * Checks the components and copies the lists.
     *
     * @param layout the host layout
     * @param kernelRelease {@code uname -r}, or {@code "unknown"}
     * @param hierarchies every cgroup hierarchy this process can see
     * @param controllers one entry per {@link CgroupController}, in enum order
     * @throws NullPointerException if a component is null
     */
    public HostReport {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(kernelRelease, "kernelRelease");
        hierarchies = List.copyOf(hierarchies);
        controllers = List.copyOf(controllers);
    }

    /**
     * The status of one controller.
     *
     * @param c the controller
     * @return its status on this host
     */
    public ControllerStatus controller(CgroupController c) {
        return controllers.stream().filter(s -> s.controller() == c).findFirst().orElseThrow();
    }

    /**
     * One mounted hierarchy.
     *
     * @param version 1 or 2
     * @param mountPoint where it is mounted
     * @param controllers v1: controllers bound to it (or {@code name=...}); v2: the root's
     *     cgroup.controllers
     * @param ownCgroup this process's cgroup in it, as in /proc/self/cgroup
     * @param ownDirectory the directory of this process's cgroup
     * @since 0.1.0
     */
    public record Hierarchy(int version, Path mountPoint, Set<String> controllers, String ownCgroup, Path ownDirectory) {
        /**
         * Copies {@code controllers}.
         *
         * @param version 1 or 2
         * @param mountPoint where it is mounted
         * @param controllers v1: controllers bound to it (or {@code name=...}); v2: the root's
         *     cgroup.controllers
         * @param ownCgroup this process's cgroup in it, as in /proc/self/cgroup
         * @param ownDirectory the directory of this process's cgroup
         */
        public Hierarchy {
            controllers = Set.copyOf(controllers);
        }
    }

    /**
     * Where a controller lives and whether sandboxes can use it.
     *
     * @param controller the controller
     * @param version 1 or 2 when available, empty when the host lacks it
     * @param directory the directory sandboxes would be created in, when available
     * @param usable whether a sandbox can use it
     * @param detail why not and how to fix the host, or what is used
     * @since 0.1.0
     */
    public record ControllerStatus(CgroupController controller, Optional<Integer> version, Optional<Path> directory,
                                   boolean usable, String detail) {
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append("cgroup layout: ").append(layout).append(" (kernel ").append(kernelRelease).append(")\n");
        sb.append("hierarchies:\n");
        for (Hierarchy h : hierarchies) {
            sb.append(String.format("  v%d %-28s own cgroup %-20s controllers: %s%n", h.version(), h.mountPoint(),
                    h.ownCgroup(), h.controllers().isEmpty() ? "(none)" : String.join(",", new java.util.TreeSet<>(h.controllers()))));
        }
        sb.append("controllers:\n");
        for (ControllerStatus c : controllers) {
            sb.append(String.format("  %-8s %-3s %-6s %s%n", c.controller().name().toLowerCase(java.util.Locale.ROOT),
                    c.version().map(v -> "v" + v).orElse("-"), c.usable() ? "ok" : "NO", c.detail()));
        }
        return sb.toString();
    }
}
