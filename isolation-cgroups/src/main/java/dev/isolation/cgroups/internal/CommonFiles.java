package dev.isolation.cgroups.internal;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupLimits;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The files cgroup v1 and v2 name alike ({@code cgroup.procs}, {@code pids.*}, {@code cpuset.cpus},
 * {@code cpuset.mems}, {@code cpu.stat}), so that each name is spelt in one class. Their content
 * differs by version where it does ({@code cpu.stat}); the backends read that.
 */
public final class CommonFiles {
    public static final String PROCS = "cgroup.procs";
    public static final String PIDS_MAX = "pids.max";
    public static final String PIDS_CURRENT = "pids.current";
    public static final String PIDS_PEAK = "pids.peak";
    public static final String CPUSET_CPUS = "cpuset.cpus";
    public static final String CPUSET_MEMS = "cpuset.mems";
    public static final String CPU_STAT = "cpu.stat";

    private CommonFiles() {
    }

    /**
     * The writes of {@code limits}' cpuset and pids parts, which both versions spell alike
     * ({@code cpuset.cpus}, {@code cpuset.mems}, {@code pids.max}); nothing for other controllers.
     * {@code controller}: its name in the backend's version.
     */
    public static List<CgroupBackend.LimitStep> sharedLimits(CgroupController c, Path dir, CgroupLimits limits, String controller) {
        List<CgroupBackend.LimitStep> out = new ArrayList<>();
        if (c == CgroupController.CPUSET) {
            limits.cpusetCpus().ifPresent(v -> out.add(new CgroupBackend.LimitStep.Write("cpusetCpus", v, dir.resolve(CPUSET_CPUS), controller)));
            limits.cpusetMems().ifPresent(v -> out.add(new CgroupBackend.LimitStep.Write("cpusetMems", v, dir.resolve(CPUSET_MEMS), controller)));
        } else if (c == CgroupController.PIDS) {
            limits.pidsLimit().ifPresent(p -> out.add(new CgroupBackend.LimitStep.Write("pidsLimit", Long.toString(p),
                    dir.resolve(PIDS_MAX), controller)));
        }
        return out;
    }

    /** The keys and numbers of {@code dir}'s cpu.stat (what they mean differs by version), empty when absent. */
    public static Map<String, Long> cpuStat(Path dir) throws CgroupException {
        return CgroupFs.readKeyedIfExists(dir.resolve(CPU_STAT), "cpu").orElse(Map.of());
    }

    /** A memory counter file's value in bytes, empty when absent. */
    public static Optional<ByteSize> bytes(Path file) throws CgroupException {
        return CgroupFs.readLongIfExists(file, "memory").map(ByteSize::ofBytes);
    }

    /** What to say when an io throttle's device ({@code value}'s first word, MAJ:MIN) is refused. */
    public static String wholeDeviceAdvice(String value) {
        return "the device must be a whole block device (not a partition) that exists: see /sys/dev/block/" + value.split(" ")[0];
    }

    /** pids.current and pids.peak (v2 6.1+, some v1 kernels), each empty when absent. */
    public static OptionalLong[] pids(Path dir) throws CgroupException {
        return new OptionalLong[] {
                toOptional(CgroupFs.readLongIfExists(dir.resolve(PIDS_CURRENT), "pids")),
                toOptional(CgroupFs.readLongIfExists(dir.resolve(PIDS_PEAK), "pids"))};
    }

    private static OptionalLong toOptional(Optional<Long> v) {
        return v.map(OptionalLong::of).orElse(OptionalLong.empty());
    }

    /** Advice for a rejected write to a file both versions share, when there is any. */
    public static Optional<String> advice(Path file, String value, String errno, String effectiveCpus, String effectiveMems) {
        String name = file.getFileName().toString();
        String e = errno.split(" ")[0];
        if (name.equals(CPUSET_CPUS) && (e.equals("EINVAL") || e.equals("ERANGE"))) {
            return Optional.of("the CPUs must exist and be allowed to the parent cgroup (its " + effectiveCpus
                    + "); see /sys/devices/system/cpu/online and use a subset of it");
        }
        if (name.equals(CPUSET_MEMS) && (e.equals("EINVAL") || e.equals("ERANGE"))) {
            return Optional.of("the memory nodes must exist and be allowed to the parent cgroup (its " + effectiveMems
                    + "); see /sys/devices/system/node/online and use a subset of it");
        }
        if (name.equals(PIDS_MAX) && e.equals("EINVAL")) {
            return Optional.of("the kernel accepts 1..4194304 (PID_MAX_LIMIT) or \"max\"");
        }
        if (name.equals(PROCS) && e.equals("EACCES")) {
            return Optional.of("a process in a user namespace may only join cgroups its namespace's owner could"
                    + " write to: create the user namespace after joining, or delegate the cgroup to that user");
        }
        return Optional.empty();
    }
}
