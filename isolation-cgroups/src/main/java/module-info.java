/**
 * One interface over cgroup v1, v2 and hybrid hosts: limits, stats, freeze, kill and clean
 * removal. Plain Java file I/O; knows nothing of namespaces. Exports its API package; the
 * mountinfo and /proc/PID/cgroup readers of {@code internal} to isolation-core only.
 */
module dev.isolation.cgroups {
    exports dev.isolation.cgroups;
    exports dev.isolation.cgroups.internal to dev.isolation.core;
}
