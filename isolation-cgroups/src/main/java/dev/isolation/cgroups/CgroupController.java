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
    /** Memory: {@code memory.max} / {@code memory.limit_in_bytes}, swap, peak and OOM kills. */
    MEMORY("memory", "memory", false),
    /** The number of tasks: {@code pids.max}, {@code pids.current} (Linux 4.3+). */
    PIDS("pids", "pids", false),
    /**
     * CPU bandwidth and weight: {@code cpu.max}, {@code cpu.weight} / {@code cpu.cfs_quota_us},
     * {@code cpu.shares}.
     */
    CPU("cpu", "cpu", false),
    /** CPU time used: v1 {@code cpuacct.usage}; on v2 {@code cpu.stat}, in every cgroup. */
    CPUACCT("cpuacct", null, true),
    /** The CPUs and memory nodes a sandbox may use: {@code cpuset.cpus}, {@code cpuset.mems}. */
    CPUSET("cpuset", "cpuset", false),
    /** Block I/O weight and throttling: v2 {@code io.max}, {@code io.weight}; v1 {@code blkio}. */
    IO("blkio", "io", false),
    /**
     * Freezing every process: v1 {@code freezer.state}; on v2 {@code cgroup.freeze} (Linux 5.2+),
     * in every cgroup.
     */
    FREEZER("freezer", null, true),
    /** Device access rules, v1 only: {@code devices.allow}, {@code devices.deny}. */
    DEVICES("devices", null, false);

    private final String v1Name;
    private final String v2Name;
    private final boolean v2Core;

    CgroupController(String v1Name, String v2Name, boolean v2Core) {
        this.v1Name = v1Name;
        this.v2Name = v2Name;
        this.v2Core = v2Core;
    }

    /** {@return the controller's name in {@code /proc/self/cgroup} and in v1 mount options} */
    public String v1Name() {
        return v1Name;
    }

    /**
     * The controller's name in v2 {@code cgroup.controllers}; empty when v2 provides the feature
     * without a controller or not at all.
     *
     * @return the v2 name, or empty
     */
    public Optional<String> v2Name() {
        return Optional.ofNullable(v2Name);
    }

    /**
     * True when cgroup v2 provides this feature in every cgroup, without enabling a controller.
     *
     * @return whether v2 needs no controller for this feature
     */
    public boolean isV2Core() {
        return v2Core;
    }
}
