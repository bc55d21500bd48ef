package dev.isolation.core;

import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.SandboxCgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A pooled run's view of the cgroup its pooled sandbox was placed in once (cgroup v1, where a
 * run's own cgroup would cost a migration; and cgroup v2 where the init cannot create a run in a
 * cgroup of its own, see {@link PooledSandbox#freshRunCgroups}): the counters v1 lets us reset are reset before the
 * run ({@link #reset}), the others are read against a {@code baseline} taken then. The run never
 * removes it; the pool does, when the pooled sandbox is closed.
 *
 * <p>What a run's figures are, then: CPU time, OOM kills and throttling since the run began;
 * peak memory since the reset (v1 resets {@code memory.max_usage_in_bytes} to the usage at that
 * moment: the pooled sandbox's init, a few hundred KiB, and page cache earlier runs left charged);
 * no peak of pids (v1 cannot reset it); on cgroup v2, no peak memory either ({@code memory.peak}
 * cannot be reset for every reader).
 */
record SharedCgroup(SandboxCgroup cgroup, CgroupStats baseline, boolean peakReset) {
    /** The v1 counters that accept a write of 0: peak memory (and memory+swap), the limit-hit count, CPU time. */
    private static final List<String> RESETTABLE = List.of("memory.max_usage_in_bytes", "memory.memsw.max_usage_in_bytes",
            "memory.failcnt", "memory.memsw.failcnt", "cpuacct.usage");

    /**
     * The v1 counter files of {@code cg} that accept a write of 0, found once per pooled sandbox:
     * the controllers and swap accounting do not change while it lives.
     */
    static List<Path> resettableFiles(SandboxCgroup cg) {
        List<Path> out = new ArrayList<>();
        for (Path dir : cg.directories()) {
            for (String name : RESETTABLE) {
                Path f = dir.resolve(name);
                if (Files.exists(f)) { // else not this hierarchy's controller (or swap accounting is off)
                    out.add(f);
                }
            }
        }
        return List.copyOf(out);
    }

    /** Resets {@code cg}'s resettable counters and reads the baseline of the others: a run starts now. */
    static SharedCgroup reset(SandboxCgroup cg) throws IOException {
        return reset(cg, resettableFiles(cg));
    }

    /** {@link #reset(SandboxCgroup)} with {@code cg}'s {@link #resettableFiles} known. */
    static SharedCgroup reset(SandboxCgroup cg, List<Path> resettable) throws IOException {
        boolean peakReset = false;
        for (Path f : resettable) {
            Files.writeString(f, "0");
            peakReset |= f.getFileName().toString().equals(RESETTABLE.get(0));
        }
        return new SharedCgroup(cg, cg.stats(), peakReset);
    }

    /** The counters since {@link #reset}. */
    CgroupStats sinceBaseline() throws IOException {
        return since(cgroup.stats(), baseline, peakReset);
    }

    /** {@code now} against {@code start}; without {@code peakReset} (cgroup v2: memory.peak cannot be reset) no peak memory. */
    static CgroupStats since(CgroupStats now, CgroupStats start, boolean peakReset) {
        return new CgroupStats(minus(now.cpuTotal(), start.cpuTotal()), minus(now.cpuUser(), start.cpuUser()),
                minus(now.cpuSystem(), start.cpuSystem()), now.memoryCurrent(), peakReset ? now.memoryPeak() : Optional.empty(),
                now.pidsCurrent(),
                OptionalLong.empty(), minus(now.oomKills(), start.oomKills()),
                Math.max(0, now.cpuThrottledCount() - start.cpuThrottledCount()),
                minus(now.cpuThrottledTime(), start.cpuThrottledTime()));
    }

    private static Duration minus(Duration a, Duration b) {
        Duration d = a.minus(b);
        return d.isNegative() ? Duration.ZERO : d;
    }

    private static OptionalLong minus(OptionalLong a, OptionalLong b) {
        return a.isPresent() ? OptionalLong.of(Math.max(0, a.getAsLong() - b.orElse(0))) : a;
    }
}
