package dev.isolation.cgroups.internal.v2;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CgroupUnits;
import dev.isolation.cgroups.CpuCounter;
import dev.isolation.cgroups.Freezer;
import dev.isolation.cgroups.internal.CgroupBackend;
import dev.isolation.cgroups.internal.CgroupFs;
import dev.isolation.cgroups.internal.CommonFiles;
import dev.isolation.cgroups.internal.Units;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * cgroup v2: one hierarchy with every controller, enabled for children per directory in {@code
 * cgroup.subtree_control}; freeze, kill and CPU accounting are core features of every cgroup.
 * Stateless.
 */
public final class V2Backend implements CgroupBackend {
    public static final V2Backend INSTANCE = new V2Backend();

    static final String CONTROLLERS = "cgroup.controllers";
    static final String SUBTREE_CONTROL = "cgroup.subtree_control";
    static final String EVENTS = "cgroup.events";
    static final String FREEZE = "cgroup.freeze";
    static final String KILL = "cgroup.kill";
    static final String MEMORY_MAX = "memory.max";
    static final String SWAP_MAX = "memory.swap.max";
    static final String MEMORY_CURRENT = "memory.current";
    static final String MEMORY_PEAK = "memory.peak";
    static final String MEMORY_EVENTS = "memory.events";
    static final String CPU_WEIGHT = "cpu.weight";
    static final String CPU_MAX = "cpu.max";
    static final String CPUSET_CPUS_EFFECTIVE = "cpuset.cpus.effective";
    static final String CPUSET_MEMS_EFFECTIVE = "cpuset.mems.effective";
    static final String IO_WEIGHT = "io.weight";
    static final String IO_BFQ_WEIGHT = "io.bfq.weight";
    static final String IO_MAX = "io.max";

    private V2Backend() {
    }

    @Override
    public int version() {
        return 2;
    }

    @Override
    public boolean has(CgroupController c, Set<String> controllers) {
        return c.isV2Core() || c.v2Name().map(controllers::contains).orElse(false);
    }

    @Override
    public String nameOf(CgroupController c) {
        return c.v2Name().orElse(c == CgroupController.FREEZER ? FREEZE : "cpu");
    }

    @Override
    public void initialise(Path parent, Path dir, Set<String> controllers) {
        // A v2 cgroup inherits its effective cpuset; nothing to prepare.
    }

    @Override
    public List<LimitStep> limits(CgroupController c, Path dir, CgroupLimits limits) {
        List<LimitStep> out = new ArrayList<>();
        switch (c) {
            case MEMORY -> limits.memoryLimit().ifPresent(mem -> {
                out.add(write("memoryLimit", Long.toString(mem.bytes()), dir, MEMORY_MAX, c));
                String swap = Long.toString(limits.swapLimit().orElse(ByteSize.ZERO).bytes());
                if (Files.exists(dir.resolve(SWAP_MAX))) {
                    out.add(write("swapLimit", swap, dir, SWAP_MAX, c));
                } else {
                    out.add(Units.swapAccountingMissing("swapLimit", swap, dir.resolve(SWAP_MAX),
                            "use a kernel with CONFIG_MEMCG_SWAP (and swapaccount=1 where it is off by default)"));
                }
            });
            case CPU -> {
                limits.cpuShares().ifPresent(s -> out.add(write("cpuShares",
                        Long.toString(CgroupUnits.sharesToWeight(s)), dir, CPU_WEIGHT, c)));
                limits.cpuWeight().ifPresent(w -> out.add(write("cpuWeight", Integer.toString(w), dir, CPU_WEIGHT, c)));
                limits.cpuQuota().ifPresent(q -> out.add(write("cpuQuota",
                        cpuMax(OptionalLong.of(Units.toMicros(q)), Units.toMicros(limits.cpuPeriod())), dir, CPU_MAX, c)));
            }
            case CPUSET -> {
                limits.cpusetCpus().ifPresent(v -> out.add(write("cpusetCpus", v, dir, CommonFiles.CPUSET_CPUS, c)));
                limits.cpusetMems().ifPresent(v -> out.add(write("cpusetMems", v, dir, CommonFiles.CPUSET_MEMS, c)));
            }
            case PIDS -> limits.pidsLimit().ifPresent(p -> out.add(write("pidsLimit", Long.toString(p), dir, CommonFiles.PIDS_MAX, c)));
            case IO -> {
                limits.ioWeight().ifPresent(w -> {
                    if (!Files.exists(dir.resolve(IO_WEIGHT)) && Files.exists(dir.resolve(IO_BFQ_WEIGHT))) {
                        // io.bfq.weight takes the v1 scale 1..1000.
                        out.add(write("ioWeight", Long.toString(CgroupUnits.ioWeightToBlkioWeight(w)), dir, IO_BFQ_WEIGHT, c));
                    } else {
                        out.add(write("ioWeight", "default " + w, dir, IO_WEIGHT, c));
                    }
                });
                for (CgroupLimits.IoThrottle t : limits.ioThrottles()) {
                    StringBuilder sb = new StringBuilder(t.device());
                    t.readBytesPerSecond().ifPresent(v -> sb.append(" rbps=").append(v));
                    t.writeBytesPerSecond().ifPresent(v -> sb.append(" wbps=").append(v));
                    t.readIops().ifPresent(v -> sb.append(" riops=").append(v));
                    t.writeIops().ifPresent(v -> sb.append(" wiops=").append(v));
                    out.add(write("ioThrottle", sb.toString(), dir, IO_MAX, c));
                }
            }
            default -> {
            }
        }
        return out;
    }

    /** The cpu.max line: {@code "QUOTA PERIOD"}, or {@code "max PERIOD"} for no quota. */
    static String cpuMax(OptionalLong quotaMicros, long periodMicros) {
        return (quotaMicros.isPresent() ? Long.toString(quotaMicros.getAsLong()) : "max") + " " + periodMicros;
    }

    private static LimitStep write(String limit, String value, Path dir, String file, CgroupController c) {
        return new LimitStep.Write(limit, value, dir.resolve(file), c.v2Name().orElse(c.v1Name()));
    }

    @Override
    public Path procsFile(Path dir) {
        return dir.resolve(CommonFiles.PROCS);
    }

    @Override
    public Optional<CpuCounter> cpuCounter(Path dir) {
        return Optional.of(new CpuCounter(dir.resolve(CommonFiles.CPU_STAT), Optional.of("usage_usec"), 1000));
    }

    @Override
    public CpuTimes cpuTimes(Path dir) throws CgroupException {
        Map<String, Long> st = CgroupFs.readKeyedIfExists(dir.resolve(CommonFiles.CPU_STAT), "cpu").orElse(Map.of());
        return new CpuTimes(Units.fromMicros(st.getOrDefault("usage_usec", 0L)), Units.fromMicros(st.getOrDefault("user_usec", 0L)),
                Units.fromMicros(st.getOrDefault("system_usec", 0L)));
    }

    @Override
    public Throttling throttling(Path dir) throws CgroupException {
        Map<String, Long> st = CgroupFs.readKeyedIfExists(dir.resolve(CommonFiles.CPU_STAT), "cpu").orElse(Map.of());
        return new Throttling(st.getOrDefault("nr_throttled", 0L), Units.fromMicros(st.getOrDefault("throttled_usec", 0L)));
    }

    @Override
    public MemoryUsage memoryUsage(Path d) throws CgroupException {
        Optional<ByteSize> current = CgroupFs.readLongIfExists(d.resolve(MEMORY_CURRENT), "memory").map(ByteSize::ofBytes);
        Optional<ByteSize> peak = CgroupFs.readLongIfExists(d.resolve(MEMORY_PEAK), "memory").map(ByteSize::ofBytes);
        OptionalLong oom = CgroupFs.readKeyedIfExists(d.resolve(MEMORY_EVENTS), "memory")
                .map(ev -> ev.containsKey("oom_kill") ? OptionalLong.of(ev.get("oom_kill")) : OptionalLong.empty())
                .orElse(OptionalLong.empty());
        return new MemoryUsage(current, peak, oom);
    }

    @Override
    public Optional<ByteSize> memoryLimit(Path dir) throws CgroupException {
        return CgroupFs.readLongIfExists(dir.resolve(MEMORY_MAX), "memory").filter(v -> v >= 0).map(ByteSize::ofBytes);
    }

    /** The CPUs (or memory nodes) allowed in {@code dir}, from cpuset.*.effective. */
    public static Optional<String> cpusetAllowed(Path dir, boolean mems) throws CgroupException {
        return CgroupFs.readIfExists(dir.resolve(mems ? CPUSET_MEMS_EFFECTIVE : CPUSET_CPUS_EFFECTIVE), "cpuset");
    }

    @Override
    public Optional<Freezer> freezer(Path dir) {
        Path f = dir.resolve(FREEZE);
        return Files.exists(f) ? Optional.of(new Freezer(f, "1", "0")) : Optional.empty();
    }

    @Override
    public void awaitFrozen(Freezer freezer, Path dir, boolean frozen, Duration patience) throws CgroupException {
        long deadline = System.nanoTime() + patience.toNanos();
        Path events = dir.resolve(EVENTS);
        long want = frozen ? 1 : 0;
        while (CgroupFs.readKeyedIfExists(events, FREEZE).orElse(Map.of()).getOrDefault("frozen", want) != want) {
            if (System.nanoTime() > deadline) {
                throw new CgroupException("cgroup " + dir + " did not report frozen " + want + " in " + events
                        + " within " + patience.toSeconds() + " s", FREEZE, events, null, null);
            }
            CgroupFs.sleep(1);
        }
    }

    @Override
    public Optional<Path> killFile(Path dir) {
        Path f = dir.resolve(KILL);
        return Files.exists(f) ? Optional.of(f) : Optional.empty();
    }

    /** True while a process is in {@code dir} or below (cgroup.events {@code populated}). */
    public boolean populated(Path dir) throws CgroupException {
        return CgroupFs.readKeyedIfExists(dir.resolve(EVENTS), "cgroup2").orElse(Map.of()).getOrDefault("populated", 0L) != 0;
    }

    /** The controllers available in {@code dir} (its cgroup.controllers; empty when absent). */
    public Set<String> controllers(Path dir) throws CgroupException {
        return words(CgroupFs.readIfExists(dir.resolve(CONTROLLERS), null).orElse(""));
    }

    /** The controllers enabled for {@code dir}'s children (its cgroup.subtree_control). */
    public Set<String> enabledForChildren(Path dir) throws CgroupException {
        return words(CgroupFs.readIfExists(dir.resolve(SUBTREE_CONTROL), "cgroup2").orElse(""));
    }

    /** Enables {@code controller} for {@code dir}'s children. */
    public void enableForChildren(Path dir, String controller) throws CgroupException {
        CgroupFs.write(dir.resolve(SUBTREE_CONTROL), "+" + controller, controller);
    }

    /** The file that enables controllers for {@code dir}'s children, for messages. */
    public Path subtreeControl(Path dir) {
        return dir.resolve(SUBTREE_CONTROL);
    }

    /** The words of a space-separated cgroup file, in order. */
    public static Set<String> words(String s) {
        Set<String> out = new LinkedHashSet<>();
        for (String w : s.trim().split("\\s+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    @Override
    public Optional<String> advice(Path file, String value, String errno) {
        String name = file.getFileName().toString();
        String e = errno.split(" ")[0];
        if (name.equals(CPU_MAX) && e.equals("EINVAL")) {
            return Optional.of("the quota and period must be 1 ms..1 s of period and a quota >= 1 ms");
        }
        if (name.equals(IO_MAX) && (e.equals("EINVAL") || e.equals("ENODEV"))) {
            return Optional.of("the device must be a whole block device (not a partition) that exists: see /sys/dev/block/"
                    + value.split(" ")[0]);
        }
        if (name.equals(SUBTREE_CONTROL) && e.equals("EBUSY")) {
            return Optional.of("a cgroup that holds processes cannot enable controllers for children (the"
                    + " no-internal-processes rule): move its processes into a child cgroup first");
        }
        return CommonFiles.advice(file, value, errno, CPUSET_CPUS_EFFECTIVE, CPUSET_MEMS_EFFECTIVE);
    }
}
