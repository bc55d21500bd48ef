package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupBackend;
import dev.isolation.cgroups.internal.CgroupFs;
import dev.isolation.cgroups.internal.CommonFiles;

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
 * @since 0.1.0
 */
public final class SandboxCgroup implements AutoCloseable {
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Duration CLOSE_PATIENCE = Duration.ofSeconds(10);

    /** One directory of the sandbox, in one hierarchy. */
    record Node(Hierarchy hierarchy, Path dir) {
    }

    private final String name;
    private final CgroupLayout layout;
    /** The explicit parent it was created under (a path of every hierarchy), or null for the default. */
    private final String parent;
    /** The library's own subtree it was created in ({@link CgroupBackend.Parent#librarySubtree()}), or null. */
    private Path librarySubtree;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<CgroupController, Node> routes = new EnumMap<>(CgroupController.class);
    private Node unified;
    private LimitWriter.Result limitsWritten = LimitWriter.Result.NONE;
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
        Set<CgroupController> required = LimitWriter.controllersNeeded(limits);
        // Always wanted, for stats, freeze and kill, when the host has them.
        Set<CgroupController> wanted = EnumSet.of(CgroupController.MEMORY, CgroupController.PIDS,
                CgroupController.CPU, CgroupController.CPUACCT, CgroupController.FREEZER);
        wanted.addAll(required);

        Set<Hierarchy> used = new LinkedHashSet<>();
        for (CgroupController c : wanted) {
            host.route(c).ifPresent(used::add);
        }
        host.unified().ifPresent(used::add); // tracks, freezes and kills
        if (parent != null && outer == null) {
            checkParentExists(used, parent);
        }
        HostChecks.check(limits, host.pidMax());

        SandboxCgroup sb = new SandboxCgroup(name, host.layout(), parent);
        try {
            for (Hierarchy h : used) {
                // the controllers this hierarchy gives the sandbox: its backend prepares the parent for them
                Set<CgroupController> here = EnumSet.noneOf(CgroupController.class);
                wanted.stream().filter(c -> host.route(c).orElse(null) == h).forEach(here::add);
                Set<CgroupController> needed = EnumSet.noneOf(CgroupController.class);
                here.stream().filter(required::contains).forEach(needed::add);
                Optional<Path> around = outer == null ? Optional.empty() : outer.directoryIn(h);
                Path parentDir;
                if (around.isPresent()) {
                    parentDir = h.backend.nestedParent(around.get(), outer.librarySubtree(), needed, here);
                } else {
                    CgroupBackend.Parent p = h.backend.parentFor(parentDir(h, parent), parent != null, parent == null && h.ownIsRoot(),
                            needed, here);
                    parentDir = p.dir();
                    if (p.librarySubtree()) {
                        sb.librarySubtree = parentDir;
                    }
                }
                HostChecks.checkAgainstParent(limits, h, host, parentDir);
                Path dir = parentDir.resolve(name);
                CgroupFs.mkdir(dir, h.label());
                Node node = new Node(h, dir);
                sb.nodes.add(node);
                if (h.unified()) {
                    sb.unified = node;
                }
                h.backend.initialise(parentDir, dir, h.controllers);
            }
            for (CgroupController c : wanted) {
                host.route(c).ifPresent(h -> sb.routes.put(c,
                        sb.nodes.stream().filter(n -> n.hierarchy() == h).findFirst().orElseThrow()));
            }
            sb.limitsWritten = LimitWriter.apply(sb.routes, limits);
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

    /** An explicit parent must exist in every hierarchy the sandbox uses; the message names each that lacks it. */
    private static void checkParentExists(Set<Hierarchy> used, String parent) throws CgroupException {
        List<Path> missing = used.stream().map(h -> h.dirOf(parent)).filter(d -> !Files.isDirectory(d)).toList();
        if (!missing.isEmpty()) {
            throw new CgroupUnavailableException("parent cgroup " + parent + " does not exist in " + missing.size() + " of "
                    + used.size() + " cgroup hierarchies the sandbox needs: create it first (mkdir "
                    + String.join(" ", missing.stream().map(Path::toString).toList()) + ")", null, missing.get(0), null, null);
        }
    }

    private static Path parentDir(Hierarchy h, String parent) throws CgroupException {
        Path dir = parent == null ? h.ownDir() : h.dirOf(parent);
        if (!Files.isDirectory(dir)) {
            throw new CgroupUnavailableException("parent cgroup " + dir + " does not exist: create it first (mkdir "
                    + dir + ")", h.label(), dir, null, null);
        }
        return dir;
    }

    /** This cgroup's directory in {@code h} (matched by mount point), if it has one. */
    private synchronized Optional<Path> directoryIn(Hierarchy h) {
        checkOpen();
        return nodes.stream().filter(n -> n.hierarchy().mountPoint.equals(h.mountPoint)).map(Node::dir).findFirst();
    }

    /** The library's own subtree this cgroup was created in, if it was. */
    private synchronized Optional<Path> librarySubtree() {
        return Optional.ofNullable(librarySubtree);
    }

    /** {@return {@code isolation-<jvm pid>-<counter>}, the directory name in every hierarchy} */
    public String name() {
        return name;
    }

    /** {@return every directory of this sandbox, one per hierarchy, in creation order} */
    public synchronized List<Path> directories() {
        return nodes.stream().map(Node::dir).toList();
    }

    /**
     * Every {@code cgroup.procs} file a process must write {@code 0} into to join this sandbox in
     * all hierarchies (v1 cpuset is already initialised from the parent).
     *
     * @return the files, one per hierarchy
     * @throws IllegalStateException if closed
     */
    public synchronized List<Path> procsFiles() {
        checkOpen();
        return nodes.stream().map(n -> n.hierarchy().backend.procsFile(n.dir())).toList();
    }

    /**
     * The cgroup2 directory to open for clone3 {@code CLONE_INTO_CGROUP} (Linux 5.7+): present only
     * on {@link CgroupLayout#UNIFIED} hosts, where it alone holds every controller; on hybrid hosts
     * the child must also join the v1 hierarchies via {@link #procsFiles()}.
     *
     * @return the directory, or empty on v1 and hybrid hosts
     * @throws IllegalStateException if closed
     */
    public synchronized Optional<Path> unifiedDirectory() {
        checkOpen();
        return layout == CgroupLayout.UNIFIED && unified != null ? Optional.of(unified.dir()) : Optional.empty();
    }

    /** {@return every limit written, in order} */
    public synchronized List<AppliedLimit> appliedLimits() {
        return limitsWritten.applied();
    }

    /** {@return limits skipped (best effort, or moot on this host) with the reason} */
    public synchronized List<AppliedLimit.NotApplied> notApplied() {
        return limitsWritten.notApplied();
    }

    /**
     * Reads the sandbox's counters; see {@link CgroupStats} for sources and units.
     *
     * @return the counters now
     * @throws IOException if a counter file cannot be read
     * @throws IllegalStateException if closed
     */
    public synchronized CgroupStats stats() throws IOException {
        checkOpen();
        CgroupBackend.CpuTimes cpu = CgroupBackend.CpuTimes.ZERO;
        Node acct = accounting();
        if (acct != null) {
            cpu = acct.hierarchy().backend.cpuTimes(acct.dir());
        }
        CgroupBackend.Throttling throttling = CgroupBackend.Throttling.NONE;
        Node cpuNode = routes.get(CgroupController.CPU);
        if (cpuNode != null) {
            throttling = cpuNode.hierarchy().backend.throttling(cpuNode.dir());
        }
        CgroupBackend.MemoryUsage mem = new CgroupBackend.MemoryUsage(Optional.empty(), Optional.empty(), OptionalLong.empty());
        Node memNode = routes.get(CgroupController.MEMORY);
        if (memNode != null) {
            mem = memNode.hierarchy().backend.memoryUsage(memNode.dir());
        }
        OptionalLong[] pids = {OptionalLong.empty(), OptionalLong.empty()};
        Node pidsNode = routes.get(CgroupController.PIDS);
        if (pidsNode != null) {
            pids = CommonFiles.pids(pidsNode.dir());
        }
        return new CgroupStats(cpu.total(), cpu.user(), cpu.system(), mem.current(), mem.peak(), pids[0], pids[1],
                mem.oomKills(), throttling.count(), throttling.time());
    }

    /** Where CPU time is counted: the cpuacct controller's directory, else the cgroup2 one (a core feature there). */
    private Node accounting() {
        Node acct = routes.get(CgroupController.CPUACCT);
        return acct != null ? acct : unified;
    }

    /**
     * The counter of this sandbox's CPU time, as data for a reader that knows no cgroup files:
     * v1 {@code cpuacct.usage} when the cpuacct controller is mounted, else cgroup2 {@code cpu.stat}
     * {@code usage_usec}; empty when the host has neither.
     *
     * @return the counter, or empty
     * @throws IllegalStateException if closed
     */
    public synchronized Optional<CpuCounter> cpuCounter() {
        checkOpen();
        Node acct = accounting();
        return acct == null ? Optional.empty() : acct.hierarchy().backend.cpuCounter(acct.dir());
    }

    /**
     * How to kill everything in this sandbox and remove it, as data: what {@link #close()} does,
     * for a process that must do it when this JVM is gone.
     *
     * @return the teardown data
     * @throws IllegalStateException if closed
     */
    public synchronized Teardown teardown() {
        checkOpen();
        return teardownOf(nodes, freezerNode());
    }

    private static Teardown teardownOf(List<Node> nodes, Node freezerFirst) {
        List<Freezer> freezers = new ArrayList<>();
        if (freezerFirst != null) {
            freezerFirst.hierarchy().backend.freezer(freezerFirst.dir()).ifPresent(freezers::add);
        }
        Optional<Path> kill = Optional.empty();
        List<Path> procs = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (Node n : nodes) {
            CgroupBackend b = n.hierarchy().backend;
            if (n != freezerFirst) {
                b.freezer(n.dir()).ifPresent(freezers::add);
            }
            if (kill.isEmpty()) {
                kill = b.killFile(n.dir());
            }
            procs.add(b.procsFile(n.dir()));
            dirs.add(0, n.dir());
        }
        return new Teardown(kill, freezers, procs, dirs);
    }

    /** The teardown of directories found on disk (a leftover), each with the backend of its hierarchy. */
    static Teardown teardownOf(List<Map.Entry<Hierarchy, Path>> found) {
        List<Node> nodes = found.stream().map(e -> new Node(e.getKey(), e.getValue())).toList();
        return teardownOf(nodes, null);
    }

    /** The directory whose freezer {@link #freeze()} uses: cgroup2's when it has cgroup.freeze, else the v1 freezer's. */
    private Node freezerNode() {
        if (unified != null && unified.hierarchy().backend.freezer(unified.dir()).isPresent()) {
            return unified;
        }
        Node f = routes.get(CgroupController.FREEZER);
        return f != null && f.hierarchy().backend.freezer(f.dir()).isPresent() ? f : null;
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

    /**
     * Thaws the sandbox and returns once the kernel reports it thawed.
     *
     * @throws IOException if the freeze file cannot be written, or the sandbox is not thawed
     *     within 5 s
     */
    public synchronized void thaw() throws IOException {
        checkOpen();
        setFrozen(false);
    }

    private void setFrozen(boolean frozen) throws IOException {
        Node n = freezerNode();
        if (n == null) {
            throw new CgroupUnavailableException("cannot freeze " + name + ": the host has neither the cgroup2 freezer"
                    + " (Linux 5.2+) nor the v1 freezer controller: mount it (mount -t cgroup -o freezer cgroup"
                    + " /sys/fs/cgroup/freezer)");
        }
        CgroupBackend b = n.hierarchy().backend;
        Freezer f = b.freezer(n.dir()).orElseThrow();
        CgroupFs.write(f.file(), frozen ? f.freezeValue() : f.thawValue(), b.nameOf(CgroupController.FREEZER));
        b.awaitFrozen(f, n.dir(), frozen, WAIT);
    }

    /**
     * Kills every process in the sandbox with SIGKILL (thawing it first) and returns once none is
     * left; see {@link Teardown} for the algorithm.
     *
     * @throws CgroupException if processes remain after 5 s
     */
    public synchronized void kill() throws IOException {
        checkOpen();
        Remover.kill(teardown(), WAIT);
    }

    /**
     * Kills what is left and removes every directory this sandbox created, children first,
     * retrying for up to 10 s while the kernel still reports them busy; see {@link Teardown}.
     * Idempotent.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        Teardown t = teardownOf(nodes, freezerNode());
        closed = true;
        if (!nodes.isEmpty()) {
            Remover.killAndRemove(t, CLOSE_PATIENCE);
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
