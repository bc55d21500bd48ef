package dev.isolation.cgroups.internal.v1;

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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/** cgroup v1: one hierarchy per controller (or group of co-mounted controllers). Stateless. */
public final class V1Backend implements CgroupBackend {
    public static final V1Backend INSTANCE = new V1Backend();

    static final String MEMORY_LIMIT = "memory.limit_in_bytes";
    static final String MEMSW_LIMIT = "memory.memsw.limit_in_bytes";
    static final String MEMORY_USAGE = "memory.usage_in_bytes";
    static final String MEMORY_MAX_USAGE = "memory.max_usage_in_bytes";
    static final String OOM_CONTROL = "memory.oom_control";
    static final String CPU_SHARES = "cpu.shares";
    static final String CFS_PERIOD = "cpu.cfs_period_us";
    static final String CFS_QUOTA = "cpu.cfs_quota_us";
    static final String CPUACCT_USAGE = "cpuacct.usage";
    static final String CPUACCT_USAGE_USER = "cpuacct.usage_user";
    static final String CPUACCT_USAGE_SYS = "cpuacct.usage_sys";
    static final String CPUACCT_STAT = "cpuacct.stat";
    static final String CPUSET_EFFECTIVE_CPUS = "cpuset.effective_cpus";
    static final String CPUSET_EFFECTIVE_MEMS = "cpuset.effective_mems";
    static final String BLKIO_WEIGHT = "blkio.weight";
    static final String BLKIO_BFQ_WEIGHT = "blkio.bfq.weight";
    static final String BLKIO_READ_BPS = "blkio.throttle.read_bps_device";
    static final String BLKIO_WRITE_BPS = "blkio.throttle.write_bps_device";
    static final String BLKIO_READ_IOPS = "blkio.throttle.read_iops_device";
    static final String BLKIO_WRITE_IOPS = "blkio.throttle.write_iops_device";
    static final String DEVICES_DENY = "devices.deny";
    static final String DEVICES_ALLOW = "devices.allow";
    static final String FREEZER_STATE = "freezer.state";
    static final String FROZEN = "FROZEN";
    static final String THAWED = "THAWED";
    /** What memory.limit_in_bytes reads when unlimited: PAGE_COUNTER_MAX pages of 4 KiB. */
    static final long UNLIMITED_MEMORY = Long.MAX_VALUE & ~4095L;

    private V1Backend() {
    }

    @Override
    public int version() {
        return 1;
    }

    @Override
    public boolean has(CgroupController c, Set<String> controllers) {
        return controllers.contains(c.v1Name());
    }

    @Override
    public boolean unified() {
        return false;
    }

    @Override
    public String nameOf(CgroupController c) {
        return c.v1Name();
    }

    @Override
    public String label(Set<String> controllers) {
        return String.join(",", controllers);
    }

    @Override
    public Set<String> controllersOf(Path mountPoint, Set<String> named) {
        return named;
    }

    /** v1 has no rule against processes in a parent: the sandbox goes where it was asked to, or beside this process. */
    @Override
    public Parent parentFor(Path start, boolean explicit, boolean startIsRoot, Set<CgroupController> required,
                            Set<CgroupController> wanted) {
        return new Parent(start, false);
    }

    @Override
    public Path nestedParent(Path outer, Optional<Path> outerSubtree, Set<CgroupController> required, Set<CgroupController> wanted) {
        return outer;
    }

    @Override
    public List<Path> defaultParents(Path own, boolean ownIsRoot) {
        return List.of(own);
    }

    @Override
    public ParentStatus parentStatus(CgroupController c, Path own, boolean ownIsRoot) {
        return new ParentStatus(own, true, "v1, sandboxes under " + own);
    }

    @Override
    public void initialise(Path parent, Path dir, Set<String> controllers) throws CgroupException {
        if (controllers.contains("cpuset")) {
            // A new v1 cpuset is empty; joining it fails with ENOSPC until both are set.
            for (String f : List.of(CommonFiles.CPUSET_CPUS, CommonFiles.CPUSET_MEMS)) {
                CgroupFs.write(dir.resolve(f), CgroupFs.read(parent.resolve(f), "cpuset"), "cpuset");
            }
        }
    }

    @Override
    public List<LimitStep> limits(CgroupController c, Path dir, CgroupLimits limits) {
        List<LimitStep> out = new ArrayList<>();
        switch (c) {
            case MEMORY -> limits.memoryLimit().ifPresent(mem -> {
                ByteSize swap = limits.swapLimit().orElse(ByteSize.ZERO);
                // A fresh cgroup's memsw is unlimited, so the memory limit (which must stay <= memsw) goes first.
                out.add(write("memoryLimit", Long.toString(mem.bytes()), dir, MEMORY_LIMIT, c));
                String memsw = Long.toString(mem.plus(swap).bytes());
                if (Files.exists(dir.resolve(MEMSW_LIMIT))) {
                    out.add(write("swapLimit", memsw, dir, MEMSW_LIMIT, c));
                } else {
                    out.add(Units.swapAccountingMissing("swapLimit", memsw, dir.resolve(MEMSW_LIMIT), "boot with swapaccount=1"));
                }
            });
            case CPU -> {
                limits.cpuShares().ifPresent(s -> out.add(write("cpuShares", Integer.toString(s), dir, CPU_SHARES, c)));
                limits.cpuWeight().ifPresent(w -> out.add(write("cpuWeight",
                        Long.toString(CgroupUnits.weightToShares(w)), dir, CPU_SHARES, c)));
                limits.cpuQuota().ifPresent(q -> {
                    out.add(write("cpuPeriod", Long.toString(Units.toMicros(limits.cpuPeriod())), dir, CFS_PERIOD, c));
                    out.add(write("cpuQuota", Long.toString(Units.toMicros(q)), dir, CFS_QUOTA, c));
                });
            }
            case CPUSET, PIDS -> out.addAll(CommonFiles.sharedLimits(c, dir, limits, nameOf(c)));
            case IO -> {
                limits.ioWeight().ifPresent(w -> {
                    // blkio.weight exists with CFQ (before 5.0); BFQ names it blkio.bfq.weight.
                    String file = !Files.exists(dir.resolve(BLKIO_WEIGHT)) && Files.exists(dir.resolve(BLKIO_BFQ_WEIGHT))
                            ? BLKIO_BFQ_WEIGHT : BLKIO_WEIGHT;
                    out.add(write("ioWeight", Long.toString(CgroupUnits.ioWeightToBlkioWeight(w)), dir, file, c));
                });
                for (CgroupLimits.IoThrottle t : limits.ioThrottles()) {
                    throttle(out, dir, t.device(), "ioReadBandwidth", BLKIO_READ_BPS, t.readBytesPerSecond());
                    throttle(out, dir, t.device(), "ioWriteBandwidth", BLKIO_WRITE_BPS, t.writeBytesPerSecond());
                    throttle(out, dir, t.device(), "ioReadIops", BLKIO_READ_IOPS, t.readIops());
                    throttle(out, dir, t.device(), "ioWriteIops", BLKIO_WRITE_IOPS, t.writeIops());
                }
            }
            case DEVICES -> {
                if (!limits.deviceRules().isEmpty()) {
                    out.add(write("deviceDenyAll", "a", dir, DEVICES_DENY, c));
                    for (CgroupLimits.DeviceRule r : limits.deviceRules()) {
                        out.add(write("deviceAllow", r.toString(), dir, DEVICES_ALLOW, c));
                    }
                }
            }
            default -> {
            }
        }
        return out;
    }

    private static void throttle(List<LimitStep> out, Path dir, String device, String limit, String file, OptionalLong value) {
        if (value.isPresent()) {
            out.add(write(limit, device + " " + value.getAsLong(), dir, file, CgroupController.IO));
        }
    }

    private static LimitStep write(String limit, String value, Path dir, String file, CgroupController c) {
        return new LimitStep.Write(limit, value, dir.resolve(file), c.v1Name());
    }

    @Override
    public Optional<CpuCounter> cpuCounter(Path dir) {
        Path f = dir.resolve(CPUACCT_USAGE);
        return Files.exists(f) ? Optional.of(new CpuCounter(f, Optional.empty(), 1)) : Optional.empty();
    }

    @Override
    public CpuTimes cpuTimes(Path d) throws CgroupException {
        Duration total = Duration.ofNanos(CgroupFs.readLongIfExists(d.resolve(CPUACCT_USAGE), "cpuacct").orElse(0L));
        Optional<Long> u = CgroupFs.readLongIfExists(d.resolve(CPUACCT_USAGE_USER), "cpuacct");
        Optional<Long> s = CgroupFs.readLongIfExists(d.resolve(CPUACCT_USAGE_SYS), "cpuacct");
        if (u.isPresent() && s.isPresent()) {
            return new CpuTimes(total, Duration.ofNanos(u.get()), Duration.ofNanos(s.get()));
        }
        // Before Linux 4.11 only cpuacct.stat exists, in USER_HZ ticks.
        Map<String, Long> st = CgroupFs.readKeyedIfExists(d.resolve(CPUACCT_STAT), "cpuacct").orElse(Map.of());
        return new CpuTimes(total, Units.fromUserHzTicks(st.getOrDefault("user", 0L)),
                Units.fromUserHzTicks(st.getOrDefault("system", 0L)));
    }

    @Override
    public Throttling throttling(Path dir) throws CgroupException {
        Map<String, Long> st = CommonFiles.cpuStat(dir);
        return new Throttling(st.getOrDefault("nr_throttled", 0L), Duration.ofNanos(st.getOrDefault("throttled_time", 0L)));
    }

    @Override
    public MemoryUsage memoryUsage(Path d) throws CgroupException {
        Optional<ByteSize> current = CommonFiles.bytes(d.resolve(MEMORY_USAGE));
        Optional<ByteSize> peak = CommonFiles.bytes(d.resolve(MEMORY_MAX_USAGE));
        OptionalLong oom = OptionalLong.empty();
        Optional<Map<String, Long>> ev = CgroupFs.readKeyedIfExists(d.resolve(OOM_CONTROL), "memory");
        if (ev.isPresent()) {
            Long kills = ev.get().get("oom_kill");
            // Before Linux 4.13 v1 only says whether the cgroup is under OOM right now.
            oom = kills != null ? OptionalLong.of(kills)
                    : ev.get().containsKey("under_oom") ? OptionalLong.of(ev.get().get("under_oom")) : OptionalLong.empty();
        }
        return new MemoryUsage(current, peak, oom);
    }

    @Override
    public Optional<ByteSize> memoryLimit(Path dir) throws CgroupException {
        return CgroupFs.readLongIfExists(dir.resolve(MEMORY_LIMIT), "memory")
                .filter(v -> v >= 0 && v < UNLIMITED_MEMORY).map(ByteSize::ofBytes);
    }

    /** The CPUs (or memory nodes) allowed in {@code dir}: effective_* when present, else the configured list. */
    @Override
    public Optional<String> cpusetAllowed(Path dir, boolean mems) throws CgroupException {
        Optional<String> eff = CgroupFs.readIfExists(dir.resolve(mems ? CPUSET_EFFECTIVE_MEMS : CPUSET_EFFECTIVE_CPUS), "cpuset");
        return eff.isPresent() ? eff : CgroupFs.readIfExists(dir.resolve(mems ? CommonFiles.CPUSET_MEMS : CommonFiles.CPUSET_CPUS), "cpuset");
    }

    @Override
    public Optional<Freezer> freezer(Path dir) {
        Path f = dir.resolve(FREEZER_STATE);
        return Files.exists(f) ? Optional.of(new Freezer(f, FROZEN, THAWED)) : Optional.empty();
    }

    @Override
    public void awaitFrozen(Freezer freezer, Path dir, boolean frozen, Duration patience) throws CgroupException {
        long deadline = System.nanoTime() + patience.toNanos();
        String want = frozen ? FROZEN : THAWED;
        while (!CgroupFs.read(freezer.file(), "freezer").equals(want)) {
            if (System.nanoTime() > deadline) {
                throw new CgroupException("cgroup " + dir + " did not reach " + want + " within " + patience.toSeconds()
                        + " s", "freezer", freezer.file(), want, null);
            }
            CgroupFs.sleep(1);
            // v1 can stay FREEZING when a task was busy; writing again retries the freeze.
            CgroupFs.write(freezer.file(), want, "freezer");
        }
    }

    @Override
    public Optional<Path> killFile(Path dir) {
        return Optional.empty();
    }

    @Override
    public Optional<String> advice(Path file, String value, String errno) {
        String name = file.getFileName().toString();
        String e = errno.split(" ")[0];
        if (name.equals(MEMORY_LIMIT) && e.equals("EBUSY")) {
            return Optional.of("the cgroup already uses more memory than " + value + " bytes: set the limit before"
                    + " starting processes, or a larger one");
        }
        if (name.equals(MEMSW_LIMIT) && e.equals("EINVAL")) {
            return Optional.of("memory + swap must be at least the memory limit (" + MEMORY_LIMIT + ")");
        }
        if ((name.equals(CFS_QUOTA) || name.equals(CFS_PERIOD)) && e.equals("EINVAL")) {
            return Optional.of("the quota must be >= 1 ms and fit the parent cgroup's own quota (cpu.cfs_quota_us)");
        }
        if (name.startsWith("blkio.throttle.") && (e.equals("EINVAL") || e.equals("ENODEV"))) {
            return Optional.of(CommonFiles.wholeDeviceAdvice(value));
        }
        return CommonFiles.advice(file, value, errno, CPUSET_EFFECTIVE_CPUS, CPUSET_EFFECTIVE_MEMS);
    }
}
