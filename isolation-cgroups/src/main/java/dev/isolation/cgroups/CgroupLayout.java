package dev.isolation.cgroups;

/**
 * How the cgroup filesystems of a host are arranged, as seen by this process.
 *
 * <p>Decided from {@code /proc/self/mountinfo}: only {@code cgroup} (v1) mounts is {@link #LEGACY},
 * {@code cgroup} and {@code cgroup2} mounts together is {@link #HYBRID}, only {@code cgroup2} is
 * {@link #UNIFIED}.
 *
 * @since 0.1.0
 */
public enum CgroupLayout {
    /** Only cgroup v1 hierarchies, one per controller or per group of co-mounted controllers. */
    LEGACY,
    /**
     * cgroup v1 hierarchies for (most) controllers plus a cgroup2 hierarchy (usually at
     * {@code /sys/fs/cgroup/unified}) used for process tracking, freeze and kill, and for any
     * controller not bound to a v1 hierarchy.
     */
    HYBRID,
    /** A single cgroup2 hierarchy holds every controller. */
    UNIFIED
}
