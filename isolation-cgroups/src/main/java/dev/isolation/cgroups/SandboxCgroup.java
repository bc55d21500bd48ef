package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One sandbox cgroup, spanning every hierarchy its limits need: on v1 and hybrid hosts a
 * directory per hierarchy (memory, pids, cpu, cpuacct and freezer when present, plus cpuset,
 * blkio, devices when limited) and, on hybrid hosts, a cgroup2 directory used for process
 * tracking, freeze and kill; on unified hosts one cgroup2 directory. Created by
 * {@link CgroupHost#create(CgroupLimits)}, or nested in another with
 * {@link CgroupHost#create(CgroupLimits, SandboxCgroup)}.
 *
 * <p>A process joins the sandbox by writing {@code 0} (itself) to every file of
 * {@link #procsFiles()}, or is placed there at birth with clone3 {@code CLONE_INTO_CGROUP} and
 * {@link #unifiedDirectory()} on unified hosts.
 *
 * <p>Thread-safe: every method synchronizes on the instance. {@link #close()} is idempotent; it
 * kills what is left and removes every directory this object created. Other methods throw
 * {@link IllegalStateException} once closed.
 *
 * @implNote {@link #freeze()} uses cgroup2 {@code cgroup.freeze} (Linux 5.2+) when the sandbox has
 *     a cgroup2 directory, else the v1 freezer. {@link #kill()} uses {@code cgroup.kill}
 *     (Linux 5.14+) when present, else freezes, SIGKILLs every pid and thaws.
 */
public final class SandboxCgroup implements AutoCloseable {
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Duration RMDIR_PATIENCE = Duration.ofSeconds(1);

    private record Node(Hierarchy hierarchy, Path dir) {
    }

    private final String name;
    private final CgroupLayout layout;
    /** The explicit parent it was created under (a path of every hierarchy), or null for the default. */
    private final String parent;
    /** The library's own v2 subtree it was created in ({@link CgroupHost#V2_SUBTREE}), or null. */
    private Path v2Base;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<CgroupController, Node> routes = new EnumMap<>(CgroupController.class);
    private Node unified;
    final List<AppliedLimit> applied = new ArrayList<>();
    final List<AppliedLimit.NotApplied> notApplied = new ArrayList<>();
    private boolean closed;

    private SandboxCgroup(String name, CgroupLayout layout, String parent) {
        this.name = name;
        this.layout = layout;
        this.parent = parent;
    }

    static SandboxCgroup create(CgroupHost host, CgroupLimits limits, String parent) throws IOException {
        return create(host, limits, parent, null);
    }

    /** Nested in {@code outer}: a child of its directory in each hierarchy where it has one, else beside it. */
    static SandboxCgroup createIn(CgroupHost host, CgroupLimits limits, SandboxCgroup outer) throws IOException {
        return create(host, limits, outer.parent, outer);
    }

    private static SandboxCgroup create(CgroupHost host, CgroupLimits limits, String parent, SandboxCgroup outer)
            throws IOException {
        String name = "isolation-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
        Set<CgroupController> required = EnumSet.noneOf(CgroupController.class);
        if (limits.memoryLimit().isPresent()) {
            required.add(CgroupController.MEMORY);
        }
        if (limits.pidsLimit().isPresent()) {
            required.add(CgroupController.PIDS);
        }
        if (limits.needsCpu()) {
            required.add(CgroupController.CPU);
        }
        if (limits.needsCpuset()) {
            required.add(CgroupController.CPUSET);
        }
        if (limits.needsIo()) {
            required.add(CgroupController.IO);
        }
        if (!limits.deviceRules().isEmpty()) {
            required.add(CgroupController.DEVICES);
        }
        // Always wanted, for stats, freeze and kill, when the host has them.
        Set<CgroupController> wanted = EnumSet.of(CgroupController.MEMORY, CgroupController.PIDS,
                CgroupController.CPU, CgroupController.CPUACCT, CgroupController.FREEZER);
        wanted.addAll(required);

        SandboxCgroup sb = new SandboxCgroup(name, host.layout(), parent);
        try {
            Set<Hierarchy> used = new LinkedHashSet<>();
            for (CgroupController c : wanted) {
                host.route(c).ifPresent(used::add);
            }
            host.v2().ifPresent(used::add);
            for (Hierarchy h : used) {
                Optional<Path> around = outer == null ? Optional.empty() : outer.directoryIn(h);
                Path parentDir;
                if (around.isPresent()) {
                    parentDir = h.v2 ? outer.openForChildren(host, h, wanted, required) : around.get();
                } else if (h.v2) {
                    parentDir = v2Parent(host, h, wanted, required, parent);
                    if (parent == null && parentDir.equals(ownV2Base(h))) {
                        sb.v2Base = parentDir;
                    }
                } else {
                    parentDir = parentDir(h, parent);
                }
                Path dir = parentDir.resolve(name);
                CgroupFs.mkdir(dir, h.v2 ? "cgroup2" : String.join(",", h.controllers));
                Node node = new Node(h, dir);
                sb.nodes.add(node);
                if (h.v2) {
                    sb.unified = node;
                }
                if (!h.v2 && h.controllers.contains("cpuset")) {
                    // A new v1 cpuset is empty; joining it fails with ENOSPC until both are set.
                    for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
                        CgroupFs.write(dir.resolve(f), CgroupFs.read(parentDir.resolve(f), "cpuset"), "cpuset");
                    }
                }
            }
            for (CgroupController c : wanted) {
                host.route(c).ifPresent(h -> sb.routes.put(c,
                        sb.nodes.stream().filter(n -> n.hierarchy() == h).findFirst().orElseThrow()));
            }
            new LimitWriter(sb, limits).apply();
            return sb;
        } catch (IOException | RuntimeException e) {
            try {
                sb.close();
            } catch (IOException | RuntimeException s) {
                e.addSuppressed(s);
            }
            throw e;
        }
    }

    private static Path parentDir(Hierarchy h, String parent) throws CgroupException {
        Path dir = parent == null ? h.ownDir() : h.dirOf(parent);
        if (!Files.isDirectory(dir)) {
            throw new CgroupUnavailableException("parent cgroup " + dir + " does not exist: create it first (mkdir "
                    + dir + ")", String.join(",", h.controllers), dir, null, null);
        }
        return dir;
    }

    /** Picks the v2 parent per the no-internal-processes rule; see {@link CgroupHost}. */
    private static Path v2Parent(CgroupHost host, Hierarchy h, Set<CgroupController> wanted,
                                 Set<CgroupController> required, String parent) throws CgroupException {
        Set<String> mandatory = new LinkedHashSet<>();
        Set<String> optional = new LinkedHashSet<>();
        for (CgroupController c : wanted) {
            if (host.route(c).orElse(null) == h && !c.isV2Core()) {
                (required.contains(c) ? mandatory : optional).add(c.v2Name().orElseThrow());
            }
        }
        if (parent != null || h.ownIsRoot() || (mandatory.isEmpty() && optional.isEmpty())) {
            Path dir = parentDir(h, parent);
            if (!mandatory.isEmpty()) {
                Path ctl = dir.resolve("cgroup.subtree_control");
                Set<String> enabled = CgroupHost.words(CgroupFs.readIfExists(ctl, "cgroup2").orElse(""));
                for (String c : mandatory) {
                    if (!enabled.contains(c)) {
                        throw new CgroupUnavailableException("the " + c + " controller is not enabled for children of "
                                + dir + ": enable it with echo +" + c + " > " + ctl
                                + " (only possible while that cgroup holds no processes, unless it is the root)",
                                c, ctl, null, null);
                    }
                }
            }
            return dir;
        }
        Path base = h.ownDir().getParent().resolve(CgroupHost.V2_SUBTREE);
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
        Set<String> available = CgroupHost.readV2Controllers(base);
        for (String c : mandatory) {
            if (!available.contains(c)) {
                Path parentCtl = base.getParent().resolve("cgroup.subtree_control");
                throw new CgroupUnavailableException("the " + c + " controller is not available in " + base
                        + ": enable it with echo +" + c + " > " + parentCtl + ", or delegate a subtree with it enabled",
                        c, parentCtl, null, null);
            }
        }
        enableForChildren(base, mandatory, optional, available);
        return base;
    }

    /**
     * Enables in {@code dir}'s {@code cgroup.subtree_control} every controller of {@code mandatory}
     * (available there: the caller checked) and those of {@code optional} that are available, as
     * far as it can (they are only wanted for statistics; the child works without them).
     */
    private static void enableForChildren(Path dir, Set<String> mandatory, Set<String> optional, Set<String> available)
            throws CgroupException {
        Path ctl = dir.resolve("cgroup.subtree_control");
        Set<String> enabled = CgroupHost.words(CgroupFs.readIfExists(ctl, "cgroup2").orElse(""));
        for (String c : mandatory) {
            if (!enabled.contains(c)) {
                CgroupFs.write(ctl, "+" + c, c);
            }
        }
        for (String c : optional) {
            if (available.contains(c) && !enabled.contains(c)) {
                try {
                    CgroupFs.write(ctl, "+" + c, c);
                } catch (CgroupException e) {
                    // only wanted for statistics
                }
            }
        }
    }

    private static Path ownV2Base(Hierarchy h) {
        return h.ownDir().getParent() == null ? null : h.ownDir().getParent().resolve(CgroupHost.V2_SUBTREE);
    }

    /** This cgroup's directory in {@code h} (matched by mount point), if it has one. */
    private synchronized Optional<Path> directoryIn(Hierarchy h) {
        checkOpen();
        return nodes.stream().filter(n -> n.hierarchy().mountPoint.equals(h.mountPoint)).map(Node::dir).findFirst();
    }

    /**
     * Makes this cgroup's v2 directory a parent for a nested cgroup: enables in its {@code
     * cgroup.subtree_control} the controllers the child needs (and those it wants, where possible).
     * A needed controller this cgroup lacks is first enabled in its own parent when that is the
     * library's {@code isolation} subtree; any other parent is not ours to change.
     */
    private synchronized Path openForChildren(CgroupHost host, Hierarchy h, Set<CgroupController> wanted,
                                              Set<CgroupController> required) throws CgroupException {
        checkOpen();
        Path dir = unified.dir();
        Set<String> mandatory = new LinkedHashSet<>();
        Set<String> optional = new LinkedHashSet<>();
        for (CgroupController c : wanted) {
            if (host.route(c).orElse(null) == h && !c.isV2Core()) {
                (required.contains(c) ? mandatory : optional).add(c.v2Name().orElseThrow());
            }
        }
        Set<String> available = CgroupHost.readV2Controllers(dir);
        for (String c : mandatory) {
            if (available.contains(c)) {
                continue;
            }
            Path ctl = dir.getParent().resolve("cgroup.subtree_control");
            if (v2Base == null || !CgroupHost.readV2Controllers(v2Base).contains(c)) {
                throw new CgroupUnavailableException("the " + c + " controller is not available in " + dir
                        + ", the cgroup this one is nested in: enable it with echo +" + c + " > " + ctl, c, ctl, null, null);
            }
            CgroupFs.write(ctl, "+" + c, c);
        }
        enableForChildren(dir, mandatory, optional, CgroupHost.readV2Controllers(dir));
        return dir;
    }

    Path dir(CgroupController c) {
        Node n = routes.get(c);
        return n == null ? null : n.dir();
    }

    Hierarchy hierarchy(CgroupController c) {
        Node n = routes.get(c);
        return n == null ? null : n.hierarchy();
    }

    /** {@code isolation-<jvm pid>-<counter>}, the directory name in every hierarchy. */
    public String name() {
        return name;
    }

    /** Every directory of this sandbox, one per hierarchy, in creation order. */
    public synchronized List<Path> directories() {
        return nodes.stream().map(Node::dir).toList();
    }

    /**
     * Every {@code cgroup.procs} file a process must write {@code 0} into to join this sandbox in
     * all hierarchies (v1 cpuset is already initialised from the parent).
     */
    public synchronized List<Path> procsFiles() {
        checkOpen();
        return nodes.stream().map(n -> n.dir().resolve("cgroup.procs")).toList();
    }

    /**
     * The cgroup2 directory to open for clone3 {@code CLONE_INTO_CGROUP} (Linux 5.7+): present only
     * on {@link CgroupLayout#UNIFIED} hosts, where it alone holds every controller; on hybrid hosts
     * the child must also join the v1 hierarchies via {@link #procsFiles()}.
     */
    public synchronized Optional<Path> unifiedDirectory() {
        checkOpen();
        return layout == CgroupLayout.UNIFIED && unified != null ? Optional.of(unified.dir()) : Optional.empty();
    }

    /** Every limit written, in order. */
    public synchronized List<AppliedLimit> appliedLimits() {
        return List.copyOf(applied);
    }

    /** Limits skipped (best effort, or moot on this host) with the reason. */
    public synchronized List<AppliedLimit.NotApplied> notApplied() {
        return List.copyOf(notApplied);
    }

    /** Reads the sandbox's counters; see {@link CgroupStats} for sources and units. */
    public synchronized CgroupStats stats() throws IOException {
        checkOpen();
        Duration total = Duration.ZERO;
        Duration user = Duration.ZERO;
        Duration system = Duration.ZERO;
        Node acct = routes.get(CgroupController.CPUACCT);
        if (acct == null && unified != null) {
            acct = unified;
        }
        if (acct != null && acct.hierarchy().v2) {
            Map<String, Long> st = CgroupFs.readKeyedIfExists(acct.dir().resolve("cpu.stat"), "cpu").orElse(Map.of());
            total = CgroupUnits.fromMicros(st.getOrDefault("usage_usec", 0L));
            user = CgroupUnits.fromMicros(st.getOrDefault("user_usec", 0L));
            system = CgroupUnits.fromMicros(st.getOrDefault("system_usec", 0L));
        } else if (acct != null) {
            Path d = acct.dir();
            total = CgroupUnits.fromNanos(CgroupFs.readLongIfExists(d.resolve("cpuacct.usage"), "cpuacct").orElse(0L));
            Optional<Long> u = CgroupFs.readLongIfExists(d.resolve("cpuacct.usage_user"), "cpuacct");
            Optional<Long> s = CgroupFs.readLongIfExists(d.resolve("cpuacct.usage_sys"), "cpuacct");
            if (u.isPresent() && s.isPresent()) {
                user = CgroupUnits.fromNanos(u.get());
                system = CgroupUnits.fromNanos(s.get());
            } else {
                // Before Linux 4.11 only cpuacct.stat exists, in USER_HZ ticks.
                Map<String, Long> st = CgroupFs.readKeyedIfExists(d.resolve("cpuacct.stat"), "cpuacct").orElse(Map.of());
                user = CgroupUnits.fromUserHzTicks(st.getOrDefault("user", 0L));
                system = CgroupUnits.fromUserHzTicks(st.getOrDefault("system", 0L));
            }
        }

        long throttledCount = 0;
        Duration throttledTime = Duration.ZERO;
        Node cpu = routes.get(CgroupController.CPU);
        if (cpu != null) {
            Map<String, Long> st = CgroupFs.readKeyedIfExists(cpu.dir().resolve("cpu.stat"), "cpu").orElse(Map.of());
            throttledCount = st.getOrDefault("nr_throttled", 0L);
            throttledTime = cpu.hierarchy().v2
                    ? CgroupUnits.fromMicros(st.getOrDefault("throttled_usec", 0L))
                    : CgroupUnits.fromNanos(st.getOrDefault("throttled_time", 0L));
        }

        Optional<ByteSize> memCurrent = Optional.empty();
        Optional<ByteSize> memPeak = Optional.empty();
        OptionalLong oom = OptionalLong.empty();
        Node mem = routes.get(CgroupController.MEMORY);
        if (mem != null) {
            Path d = mem.dir();
            boolean v2 = mem.hierarchy().v2;
            memCurrent = CgroupFs.readLongIfExists(d.resolve(v2 ? "memory.current" : "memory.usage_in_bytes"), "memory")
                    .map(ByteSize::ofBytes);
            memPeak = CgroupFs.readLongIfExists(d.resolve(v2 ? "memory.peak" : "memory.max_usage_in_bytes"), "memory")
                    .map(ByteSize::ofBytes);
            Optional<Map<String, Long>> ev = CgroupFs.readKeyedIfExists(
                    d.resolve(v2 ? "memory.events" : "memory.oom_control"), "memory");
            if (ev.isPresent()) {
                Long kills = ev.get().get("oom_kill");
                // Before Linux 4.13 v1 only says whether the cgroup is under OOM right now.
                oom = kills != null ? OptionalLong.of(kills)
                        : ev.get().containsKey("under_oom") ? OptionalLong.of(ev.get().get("under_oom")) : OptionalLong.empty();
            }
        }

        OptionalLong pidsCurrent = OptionalLong.empty();
        OptionalLong pidsPeak = OptionalLong.empty();
        Node pids = routes.get(CgroupController.PIDS);
        if (pids != null) {
            pidsCurrent = toOptional(CgroupFs.readLongIfExists(pids.dir().resolve("pids.current"), "pids"));
            pidsPeak = toOptional(CgroupFs.readLongIfExists(pids.dir().resolve("pids.peak"), "pids"));
        }
        return new CgroupStats(total, user, system, memCurrent, memPeak, pidsCurrent, pidsPeak, oom,
                throttledCount, throttledTime);
    }

    private static OptionalLong toOptional(Optional<Long> v) {
        return v.map(OptionalLong::of).orElse(OptionalLong.empty());
    }

    /**
     * Freezes every process in the sandbox and returns once the kernel reports it frozen.
     *
     * @throws CgroupUnavailableException if the host has neither cgroup2 freeze nor the v1 freezer
     * @throws CgroupException if it is not frozen within 5 s
     */
    public synchronized void freeze() throws IOException {
        checkOpen();
        setFrozen(true);
    }

    /** Thaws the sandbox and returns once the kernel reports it thawed. */
    public synchronized void thaw() throws IOException {
        checkOpen();
        setFrozen(false);
    }

    private void setFrozen(boolean frozen) throws IOException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        if (unified != null && Files.exists(unified.dir().resolve("cgroup.freeze"))) {
            Path events = unified.dir().resolve("cgroup.events");
            CgroupFs.write(unified.dir().resolve("cgroup.freeze"), frozen ? "1" : "0", "cgroup.freeze");
            long want = frozen ? 1 : 0;
            while (CgroupFs.readKeyedIfExists(events, "cgroup.freeze").orElse(Map.of()).getOrDefault("frozen", want) != want) {
                if (System.nanoTime() > deadline) {
                    throw new CgroupException("cgroup " + unified.dir() + " did not report frozen " + want + " in " + events
                            + " within " + WAIT.toSeconds() + " s", "cgroup.freeze", events, null, null);
                }
                CgroupFs.sleep(1);
            }
            return;
        }
        Node freezer = routes.get(CgroupController.FREEZER);
        if (freezer == null || freezer.hierarchy().v2) {
            throw new CgroupUnavailableException("cannot freeze " + name + ": the host has neither cgroup2 cgroup.freeze"
                    + " (Linux 5.2+) nor the v1 freezer controller: mount it (mount -t cgroup -o freezer cgroup"
                    + " /sys/fs/cgroup/freezer)");
        }
        Path state = freezer.dir().resolve("freezer.state");
        String want = frozen ? "FROZEN" : "THAWED";
        CgroupFs.write(state, want, "freezer");
        while (!CgroupFs.read(state, "freezer").equals(want)) {
            if (System.nanoTime() > deadline) {
                throw new CgroupException("cgroup " + freezer.dir() + " did not reach " + want + " within "
                        + WAIT.toSeconds() + " s", "freezer", state, want, null);
            }
            CgroupFs.sleep(1);
            // v1 can stay FREEZING when a task was busy; writing again retries the freeze.
            CgroupFs.write(state, want, "freezer");
        }
    }

    /** True while any process is in the sandbox, in any of its hierarchies. */
    public synchronized boolean isPopulated() throws IOException {
        checkOpen();
        return populated();
    }

    private boolean populated() throws IOException {
        if (unified != null) {
            Optional<Map<String, Long>> ev = CgroupFs.readKeyedIfExists(unified.dir().resolve("cgroup.events"), "cgroup2");
            if (ev.isPresent() && ev.get().getOrDefault("populated", 0L) != 0) {
                return true;
            }
        }
        for (Node n : nodes) {
            if (!CgroupFs.pids(n.dir().resolve("cgroup.procs")).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Kills every process in the sandbox with SIGKILL and returns once none is left.
     *
     * @throws CgroupException if processes remain after 5 s
     */
    public synchronized void kill() throws IOException {
        checkOpen();
        killAll();
    }

    private void killAll() throws IOException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        if (unified != null && Files.exists(unified.dir().resolve("cgroup.kill")) && populated()) {
            CgroupFs.write(unified.dir().resolve("cgroup.kill"), "1", "cgroup.kill");
            Path events = unified.dir().resolve("cgroup.events");
            while (CgroupFs.readKeyedIfExists(events, "cgroup2").orElse(Map.of()).getOrDefault("populated", 0L) != 0
                    && System.nanoTime() < deadline) {
                CgroupFs.sleep(1);
            }
        }
        // Without cgroup.kill, and for processes that joined only v1 hierarchies: freeze so
        // nothing forks while we look, SIGKILL each pid, thaw so the kills take effect.
        long self = ProcessHandle.current().pid();
        while (true) {
            Set<Long> pids = new LinkedHashSet<>();
            for (Node n : nodes) {
                pids.addAll(CgroupFs.pids(n.dir().resolve("cgroup.procs")));
            }
            if (pids.isEmpty()) {
                return;
            }
            if (pids.contains(self)) {
                throw new CgroupException("refusing to kill sandbox " + name + ": it contains this JVM (pid " + self + ")");
            }
            if (System.nanoTime() > deadline) {
                throw new CgroupException("processes " + pids + " still in " + name + " after " + WAIT.toSeconds() + " s");
            }
            boolean froze = false;
            try {
                setFrozen(true);
                froze = true;
            } catch (CgroupException e) {
                // Freezing only closes the fork race; killing still works without it.
            }
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            if (froze) {
                setFrozen(false);
            }
            CgroupFs.sleep(2);
        }
    }

    /**
     * Kills what is left and removes every directory this sandbox created, children first,
     * retrying for up to 1 s each while the kernel still reports them busy. Idempotent. The
     * first failure is thrown with later ones attached as suppressed; removal is attempted for
     * every directory regardless.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException failure = null;
        try {
            if (!nodes.isEmpty()) {
                killAll();
            }
        } catch (IOException e) {
            failure = e;
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            try {
                CgroupFs.rmdir(nodes.get(i).dir(), RMDIR_PATIENCE);
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("sandbox cgroup " + name + " is closed");
        }
    }

    @Override
    public String toString() {
        return "SandboxCgroup{" + name + ", " + directories() + "}";
    }
}
