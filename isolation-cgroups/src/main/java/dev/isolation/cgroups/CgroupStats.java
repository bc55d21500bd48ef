package dev.isolation.cgroups;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A snapshot of a sandbox cgroup's counters, read by {@link SandboxCgroup#stats()}.
 *
 * <p>Counters start at zero when the sandbox cgroup is created. A value is empty when this host
 * cannot measure it: the controller is absent, or the kernel is too old for the file.
 *
 * @param cpuTotal CPU time used (v1 cpuacct.usage, v2 cpu.stat usage_usec)
 * @param cpuUser user-mode CPU time (v1 cpuacct.usage_user, v2 user_usec)
 * @param cpuSystem kernel-mode CPU time (v1 cpuacct.usage_sys, v2 system_usec)
 * @param memoryCurrent memory charged now (v1 memory.usage_in_bytes, v2 memory.current)
 * @param memoryPeak peak memory charged (v1 memory.max_usage_in_bytes, v2 memory.peak: kernel
 *     5.19+)
 * @param pidsCurrent tasks now (pids.current)
 * @param pidsPeak peak tasks (pids.peak: v2 kernel 6.1+, some v1 kernels)
 * @param oomKills processes killed by the OOM killer (v2 memory.events oom_kill; v1
 *     memory.oom_control oom_kill, kernel 4.13+, else 1 while under_oom)
 * @param cpuThrottledCount periods in which the quota throttled the cgroup (cpu.stat nr_throttled;
 *     0 when there is no cpu controller, as there is then no quota)
 * @param cpuThrottledTime time spent throttled (v1 throttled_time, v2 throttled_usec)
 * @since 0.1.0
 */
public record CgroupStats(Duration cpuTotal, Duration cpuUser, Duration cpuSystem,
                          Optional<ByteSize> memoryCurrent, Optional<ByteSize> memoryPeak,
                          OptionalLong pidsCurrent, OptionalLong pidsPeak, OptionalLong oomKills,
                          long cpuThrottledCount, Duration cpuThrottledTime) {
    /**
     * Checks that no component is null.
     *
     * @param cpuTotal CPU time used (v1 cpuacct.usage, v2 cpu.stat usage_usec)
     * @param cpuUser user-mode CPU time (v1 cpuacct.usage_user, v2 user_usec)
     * @param cpuSystem kernel-mode CPU time (v1 cpuacct.usage_sys, v2 system_usec)
     * @param memoryCurrent memory charged now (v1 memory.usage_in_bytes, v2 memory.current)
     * @param memoryPeak peak memory charged (v1 memory.max_usage_in_bytes, v2 memory.peak: kernel
     *     5.19+)
     * @param pidsCurrent tasks now (pids.current)
     * @param pidsPeak peak tasks (pids.peak: v2 kernel 6.1+, some v1 kernels)
     * @param oomKills processes killed by the OOM killer (v2 memory.events oom_kill; v1
     *     memory.oom_control oom_kill, kernel 4.13+, else 1 while under_oom)
     * @param cpuThrottledCount periods in which the quota throttled the cgroup (cpu.stat nr_throttled;
     *     0 when there is no cpu controller, as there is then no quota)
     * @param cpuThrottledTime time spent throttled (v1 throttled_time, v2 throttled_usec)
     * @throws NullPointerException if a component is null
     */
    public CgroupStats {
        Objects.requireNonNull(cpuTotal, "cpuTotal");
        Objects.requireNonNull(cpuUser, "cpuUser");
        Objects.requireNonNull(cpuSystem, "cpuSystem");
        Objects.requireNonNull(memoryCurrent, "memoryCurrent");
        Objects.requireNonNull(memoryPeak, "memoryPeak");
        Objects.requireNonNull(pidsCurrent, "pidsCurrent");
        Objects.requireNonNull(pidsPeak, "pidsPeak");
        Objects.requireNonNull(oomKills, "oomKills");
        Objects.requireNonNull(cpuThrottledTime, "cpuThrottledTime");
    }
}
