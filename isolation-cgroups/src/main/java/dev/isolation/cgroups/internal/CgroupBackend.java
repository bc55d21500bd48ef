package dev.isolation.cgroups.internal;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CpuCounter;
import dev.isolation.cgroups.Freezer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What one cgroup version knows: its file names, value syntax and units. {@code internal.v1} and
 * {@code internal.v2} implement it; the router in {@code dev.isolation.cgroups} picks the backend
 * of the hierarchy each controller lives in (on hybrid hosts both, per controller). Every method
 * works on a directory given to it, so each is tested on a fixture directory without root.
 */
public interface CgroupBackend {
    /** 1 or 2. */
    int version();

    /** True when a hierarchy of this version with {@code controllers} provides {@code c}. */
    boolean has(CgroupController c, Set<String> controllers);

    /** The controller's name as this version's files spell it, for messages. */
    String nameOf(CgroupController c);

    /**
     * Makes a directory just created under {@code parent} ready to take processes (v1 cpuset:
     * copies cpus and mems from the parent, as a new cpuset is empty).
     */
    void initialise(Path parent, Path dir, Set<String> controllers) throws CgroupException;

    /** The writes (or reasons not to write) that put {@code limits}' part for {@code c} into {@code dir}, in order. */
    List<LimitStep> limits(CgroupController c, Path dir, CgroupLimits limits);

    /** The file a process writes its pid (or 0) into to join the cgroup of {@code dir}. */
    Path procsFile(Path dir);

    /** The CPU usage counter of {@code dir}, when this version and the controllers there have one. */
    Optional<CpuCounter> cpuCounter(Path dir);

    /** User, system and total CPU time of {@code dir} (zero where unreadable). */
    CpuTimes cpuTimes(Path dir) throws CgroupException;

    /** Throttling by the CPU quota in {@code dir}, the cpu controller's directory. */
    Throttling throttling(Path dir) throws CgroupException;

    /** Memory counters of {@code dir}, the memory controller's directory. */
    MemoryUsage memoryUsage(Path dir) throws CgroupException;

    /** The memory limit in force in {@code dir} itself, empty when unlimited or unreadable. */
    Optional<ByteSize> memoryLimit(Path dir) throws CgroupException;

    /** The freezer of {@code dir}, when this version and kernel have one there. */
    Optional<Freezer> freezer(Path dir);

    /** Waits until the kernel reports {@code dir} frozen (or thawed), retrying the write where the kernel needs it. */
    void awaitFrozen(Freezer freezer, Path dir, boolean frozen, Duration patience) throws CgroupException;

    /** The file that kills every process below {@code dir} with one write, when the kernel has it. */
    Optional<Path> killFile(Path dir);

    /**
     * What to tell a user whose value the kernel rejected with {@code errno} in {@code file}; empty
     * when there is nothing more to say than the error itself.
     */
    Optional<String> advice(Path file, String value, String errno);

    /** One write, or one limit not written and why. */
    sealed interface LimitStep {
        /** Write {@code value} into {@code file} for the limit named {@code limit}. */
        record Write(String limit, String value, Path file, String controller) implements LimitStep {
        }

        /**
         * Not written. {@code moot}: the limit is complete without it (reported, never an error);
         * else the host lacks what it needs (an error unless best effort).
         */
        record Skip(String limit, String value, String reason, boolean moot) implements LimitStep {
        }
    }

    /** CPU times. */
    record CpuTimes(Duration total, Duration user, Duration system) {
        public static final CpuTimes ZERO = new CpuTimes(Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    /** Periods throttled and the time spent so. */
    record Throttling(long count, Duration time) {
        public static final Throttling NONE = new Throttling(0, Duration.ZERO);
    }

    /** Memory now, at peak, and OOM kills. */
    record MemoryUsage(Optional<ByteSize> current, Optional<ByteSize> peak, OptionalLong oomKills) {
    }
}
