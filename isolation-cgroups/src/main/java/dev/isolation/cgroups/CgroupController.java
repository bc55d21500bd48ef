package dev.isolation.cgroups;

import java.util.Optional;

/**
 * The controllers this library configures or reads, with their names in each cgroup version.
 *
 * <p>On cgroup v2, {@link #CPUACCT} (the {@code cpu.stat} usage counters) and {@link #FREEZER}
 * ({@code cgroup.freeze}) are core features that need no controller; {@link #DEVICES} does not
 * exist (v2 uses eBPF device programs, which this library does not install).
 *
 * @since 0.1.0
 */
public enum CgroupController {
    MEMORY("memory", "memory", false),
    PIDS("pids", "pids", false),
    CPU("cpu", "cpu", false),
    CPUACCT("cpuacct", null, true),
    CPUSET("cpuset", "cpuset", false),
    IO("blkio", "io", false),
    FREEZER("freezer", null, true),
    DEVICES("devices", null, false);

    private final String v1Name;
    private final String v2Name;
    private final boolean v2Core;

    CgroupController(String v1Name, String v2Name, boolean v2Core) {
        this.v1Name = v1Name;
        this.v2Name = v2Name;
        this.v2Core = v2Core;
    }

    /** The controller's name in {@code /proc/self/cgroup} and in v1 mount options. */
    public String v1Name() {
        return v1Name;
    }

    /**
     * The controller's name in v2 {@code cgroup.controllers}; empty when v2 provides the feature
     * without a controller or not at all.
     */
    public Optional<String> v2Name() {
        return Optional.ofNullable(v2Name);
    }

    /** True when cgroup v2 provides this feature in every cgroup, without enabling a controller. */
    public boolean isV2Core() {
        return v2Core;
    }
}
