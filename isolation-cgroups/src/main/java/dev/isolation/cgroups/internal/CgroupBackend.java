package dev.isolation.cgroups.internal;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CgroupUnavailableException;
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

    /**
     * True for cgroup2: the one hierarchy that holds every controller it has, where a process can
     * be created directly (clone3 {@code CLONE_INTO_CGROUP}) and freeze, kill and CPU accounting
     * are core features. On a hybrid host a v1 hierarchy bound to a controller takes it first.
     */
    boolean unified();

    /** The controller's name as this version's files spell it, for messages. */
    String nameOf(CgroupController c);

    /** How messages name a hierarchy of this version with {@code controllers} (v1: the controllers, v2: cgroup2). */
    String label(Set<String> controllers);

    /**
     * The controllers of a hierarchy of this version mounted at {@code mountPoint}, of which
     * /proc/self/cgroup names {@code named}: v1 those; v2 the mount root's {@code cgroup.controllers}
     * (empty when it cannot be read, as for a fixture without the file).
     */
    Set<String> controllersOf(Path mountPoint, Set<String> named) throws CgroupException;

    /**
     * Where a new sandbox directory goes, made ready for it: the parent {@code start} (an explicit
     * parent, or with {@code explicit} false this process's own cgroup, {@code startIsRoot} when that
     * is the hierarchy's (namespace) root), or where this version's rules put it instead. {@code
     * required} and {@code wanted} are the controllers routed to this hierarchy the sandbox cannot
     * do without, and those it would like for statistics.
     *
     * @throws CgroupUnavailableException if a required controller cannot be had there
     */
    Parent parentFor(Path start, boolean explicit, boolean startIsRoot, Set<CgroupController> required,
                     Set<CgroupController> wanted) throws CgroupException;

    /**
     * The parent of a sandbox nested in {@code outer}, a sandbox directory of this hierarchy, made
     * ready to hold it; {@code outerSubtree} is the library's own subtree {@code outer} was created
     * in, if it was ({@link Parent#librarySubtree()}).
     */
    Path nestedParent(Path outer, Optional<Path> outerSubtree, Set<CgroupController> required, Set<CgroupController> wanted)
            throws CgroupException;

    /** Every directory {@link #parentFor} may put a default sandbox in for a process in {@code own}: where leftovers are. */
    List<Path> defaultParents(Path own, boolean ownIsRoot);

    /** Whether, and where, default sandboxes of a process in {@code own} get {@code c} (routed here), for {@code probe()}. */
    ParentStatus parentStatus(CgroupController c, Path own, boolean ownIsRoot);

    /** The CPUs (or with {@code mems} the memory nodes) allowed in {@code dir}, when this version shows them. */
    Optional<String> cpusetAllowed(Path dir, boolean mems) throws CgroupException;

    /**
     * Makes a directory just created under {@code parent} ready to take processes (v1 cpuset:
     * copies cpus and mems from the parent, as a new cpuset is empty).
     */
    void initialise(Path parent, Path dir, Set<String> controllers) throws CgroupException;

    /** The writes (or reasons not to write) that put {@code limits}' part for {@code c} into {@code dir}, in order. */
    List<LimitStep> limits(CgroupController c, Path dir, CgroupLimits limits);

    /** The file a process writes its pid (or 0) into to join the cgroup of {@code dir} (both versions: cgroup.procs). */
    default Path procsFile(Path dir) {
        return dir.resolve(CommonFiles.PROCS);
    }

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

    /** A sandbox's parent directory; {@code librarySubtree}: it is the library's own subtree, not the caller's. */
    record Parent(Path dir, boolean librarySubtree) {
    }

    /**
     * What {@code probe()} says of a controller: with {@code usable}, the sandboxes can have it if
     * {@code dir} is writable ({@code detail} says how they get it); else {@code detail} says what
     * is missing in {@code dir} and how to fix it.
     */
    record ParentStatus(Path dir, boolean usable, String detail) {
    }

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
