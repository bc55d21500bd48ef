package dev.isolation.cgroups.internal.v2;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CgroupUnavailableException;
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
    /** Why device rules are not applied on cgroup v2. */
    public static final String DEVICES_NEED_V1 = "device rules need the cgroup v1 devices controller, which this host lacks;"
            + " cgroup v2 filters devices with eBPF programs, which this library does not install: drop the device rules or"
            + " use a device-less mount namespace instead";
    /** The library's own subtree beside a process's cgroup, holding no processes (see {@link #parentFor}). */
    static final String LIBRARY_SUBTREE = "isolation";

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
    public boolean unified() {
        return true;
    }

    @Override
    public String nameOf(CgroupController c) {
        return c.v2Name().orElse(c == CgroupController.FREEZER ? FREEZE : "cpu");
    }

    @Override
    public String label(Set<String> controllers) {
        return "cgroup2";
    }

    @Override
    public Set<String> controllersOf(Path mountPoint, Set<String> named) throws CgroupException {
        return controllers(mountPoint);
    }

    /** The library's process-free subtree beside {@code own}, for sandboxes that need controllers: see {@link #parentFor}. */
    static Path librarySubtree(Path own) {
        return own.getParent().resolve(LIBRARY_SUBTREE);
    }

    /**
     * The no-internal-processes rule: a cgroup that holds processes cannot enable controllers for
     * its children. So {@code start} itself when it was named explicitly, when no controller is to
     * be enabled (hybrid hosts: cgroup2 only tracks, freezes and kills), or when it is the root (whose
     * {@code cgroup.subtree_control} is not ours to change: the required controllers must be enabled
     * there already); else the library's subtree {@code isolation} beside it, which holds no
     * processes: created on first use, the controllers enabled in its {@code cgroup.subtree_control},
     * and left in place for later sandboxes (it is empty between runs).
     */
    @Override
    public Parent parentFor(Path start, boolean explicit, boolean startIsRoot, Set<CgroupController> required,
                            Set<CgroupController> wanted) throws CgroupException {
        Set<String> mandatory = toEnable(required);
        Set<String> optional = toEnable(wanted);
        optional.removeAll(mandatory);
        if (explicit || startIsRoot || (mandatory.isEmpty() && optional.isEmpty())) {
            checkEnabled(start, mandatory);
            return new Parent(start, false);
        }
        Path base = librarySubtree(start);
        if (!Files.isDirectory(base)) {
            try {
                CgroupFs.mkdir(base, "cgroup2");
            } catch (CgroupException e) {
                if (!Files.isDirectory(base)) {
                    throw e;
                }
                // Another JVM created it concurrently.
            }
        }
        Set<String> available = controllers(base);
        for (String c : mandatory) {
            if (!available.contains(c)) {
                Path parentCtl = subtreeControl(base.getParent());
                throw new CgroupUnavailableException("the " + c + " controller is not available in " + base
                        + ": enable it with echo +" + c + " > " + parentCtl + ", or delegate a subtree with it enabled",
                        c, parentCtl, null, null);
            }
        }
        enableForChildren(base, mandatory, optional, available);
        return new Parent(base, true);
    }

    /**
     * {@code outer} with the controllers the nested sandbox needs (and those it wants, where
     * possible) enabled in its {@code cgroup.subtree_control}. A needed controller {@code outer}
     * lacks is first enabled in its own parent when that is the library's subtree; any other parent
     * is not ours to change.
     */
    @Override
    public Path nestedParent(Path outer, Optional<Path> outerSubtree, Set<CgroupController> required, Set<CgroupController> wanted)
            throws CgroupException {
        Set<String> mandatory = toEnable(required);
        Set<String> optional = toEnable(wanted);
        optional.removeAll(mandatory);
        Set<String> available = controllers(outer);
        for (String c : mandatory) {
            if (available.contains(c)) {
                continue;
            }
            Path ctl = subtreeControl(outer.getParent());
            if (outerSubtree.isEmpty() || !outerSubtree.get().equals(outer.getParent()) || !controllers(outerSubtree.get()).contains(c)) {
                throw new CgroupUnavailableException("the " + c + " controller is not available in " + outer
                        + ", the cgroup this one is nested in: enable it with echo +" + c + " > " + ctl, c, ctl, null, null);
            }
            enableForChildren(outer.getParent(), c);
        }
        enableForChildren(outer, mandatory, optional, controllers(outer));
        return outer;
    }

    @Override
    public List<Path> defaultParents(Path own, boolean ownIsRoot) {
        return ownIsRoot ? List.of(own) : List.of(own, librarySubtree(own));
    }

    @Override
    public ParentStatus parentStatus(CgroupController c, Path own, boolean ownIsRoot) {
        if (c.isV2Core() || c.v2Name().isEmpty()) {
            return new ParentStatus(own, true, "core cgroup2 feature, sandboxes under " + own);
        }
        String name = c.v2Name().get();
        if (ownIsRoot) {
            Path ctl = subtreeControl(own);
            if (!quietly(() -> enabledForChildren(own)).contains(name)) {
                return new ParentStatus(own, false, "not enabled in " + ctl + ": echo +" + name + " > " + ctl);
            }
            return new ParentStatus(own, true, "enabled in " + ctl);
        }
        Path base = librarySubtree(own);
        Path parent = base.getParent();
        if (!quietly(() -> controllers(own)).contains(name)) {
            Path ctl = subtreeControl(parent);
            return new ParentStatus(base, false, "not enabled in " + ctl + ": echo +" + name + " > " + ctl);
        }
        return new ParentStatus(parent, true, "sandboxes go in " + base + " (no-internal-processes rule)");
    }

    private interface Read {
        Set<String> get() throws CgroupException;
    }

    private static Set<String> quietly(Read r) {
        try {
            return r.get();
        } catch (CgroupException e) {
            return Set.of();
        }
    }

    /** The v2 names of the controllers among {@code cs} that a parent must enable for its children (not the core features). */
    private static Set<String> toEnable(Set<CgroupController> cs) {
        Set<String> out = new LinkedHashSet<>();
        for (CgroupController c : cs) {
            if (!c.isV2Core()) {
                c.v2Name().ifPresent(out::add);
            }
        }
        return out;
    }

    private void checkEnabled(Path dir, Set<String> mandatory) throws CgroupException {
        if (mandatory.isEmpty()) {
            return;
        }
        Path ctl = subtreeControl(dir);
        Set<String> enabled = enabledForChildren(dir);
        for (String c : mandatory) {
            if (!enabled.contains(c)) {
                throw new CgroupUnavailableException("the " + c + " controller is not enabled for children of "
                        + dir + ": enable it with echo +" + c + " > " + ctl
                        + " (only possible while that cgroup holds no processes, unless it is the root)",
                        c, ctl, null, null);
            }
        }
    }

    /**
     * Enables in {@code dir}'s {@code cgroup.subtree_control} every controller of {@code mandatory}
     * (available there: the caller checked) and those of {@code optional} that are available, as
     * far as it can (they are only wanted for statistics; the child works without them).
     */
    private void enableForChildren(Path dir, Set<String> mandatory, Set<String> optional, Set<String> available)
            throws CgroupException {
        Set<String> enabled = enabledForChildren(dir);
        for (String c : mandatory) {
            if (!enabled.contains(c)) {
                enableForChildren(dir, c);
            }
        }
        for (String c : optional) {
            if (available.contains(c) && !enabled.contains(c)) {
                try {
                    enableForChildren(dir, c);
                } catch (CgroupException e) {
                    // only wanted for statistics
                }
            }
        }
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
            case CPUSET, PIDS -> out.addAll(CommonFiles.sharedLimits(c, dir, limits, nameOf(c)));
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
            case DEVICES -> {
                if (!limits.deviceRules().isEmpty()) {
                    out.add(new LimitStep.Skip("deviceAllow", limits.deviceRules().toString(), DEVICES_NEED_V1, false));
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
    public Optional<CpuCounter> cpuCounter(Path dir) {
        return Optional.of(new CpuCounter(dir.resolve(CommonFiles.CPU_STAT), Optional.of("usage_usec"), 1000));
    }

    @Override
    public CpuTimes cpuTimes(Path dir) throws CgroupException {
        Map<String, Long> st = CommonFiles.cpuStat(dir);
        return new CpuTimes(Units.fromMicros(st.getOrDefault("usage_usec", 0L)), Units.fromMicros(st.getOrDefault("user_usec", 0L)),
                Units.fromMicros(st.getOrDefault("system_usec", 0L)));
    }

    @Override
    public Throttling throttling(Path dir) throws CgroupException {
        Map<String, Long> st = CommonFiles.cpuStat(dir);
        return new Throttling(st.getOrDefault("nr_throttled", 0L), Units.fromMicros(st.getOrDefault("throttled_usec", 0L)));
    }

    @Override
    public MemoryUsage memoryUsage(Path d) throws CgroupException {
        Optional<ByteSize> current = CommonFiles.bytes(d.resolve(MEMORY_CURRENT));
        Optional<ByteSize> peak = CommonFiles.bytes(d.resolve(MEMORY_PEAK));
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
    @Override
    public Optional<String> cpusetAllowed(Path dir, boolean mems) throws CgroupException {
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
            return Optional.of(CommonFiles.wholeDeviceAdvice(value));
        }
        if (name.equals(SUBTREE_CONTROL) && e.equals("EBUSY")) {
            return Optional.of("a cgroup that holds processes cannot enable controllers for children (the"
                    + " no-internal-processes rule): move its processes into a child cgroup first");
        }
        return CommonFiles.advice(file, value, errno, CPUSET_CPUS_EFFECTIVE, CPUSET_MEMS_EFFECTIVE);
    }
}
