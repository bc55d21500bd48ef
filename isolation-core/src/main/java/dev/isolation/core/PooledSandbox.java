package dev.isolation.core;

import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.core.internal.launch.HelperProcess;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.Kernel.FileAction;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One sandbox of a {@link SandboxPool}, set up once: its namespaces, mounts and cgroup, held by a
 * keeper whose init forks each run inside them ({@code pool.c}). Runs one program at a time; the
 * pool hands it out and takes it back. Not thread-safe: the pool guards it.
 *
 * <p>Its cgroup holds the policy's limits (pids one more, for the init), and bounds the init and
 * every run together. Where the init can create a run in a cgroup of its own ({@link
 * #freshRunCgroups}: cgroup v2), the init sits in a leaf of that cgroup (cgroup v2's
 * no-internal-processes rule: a cgroup whose children have controllers holds no process) and each
 * run gets a fresh child of it, with the policy's own limits (its pids limit as the policy says:
 * the init is not in it), created before the run, the run's process cloned straight into it by
 * the init (clone3 {@code CLONE_INTO_CGROUP}), its figures read from it, removed after the run.
 * Elsewhere (cgroup v1, where a fresh cgroup would cost a migration) the runs run in the
 * sandbox's cgroup, whose counters are reset before each ({@link SharedCgroup}).
 */
final class PooledSandbox {
    /** How long {@link #close()} waits for a run still going to end (it dies with the init). */
    private static final long RUN_END_SECONDS = 10;

    private final HelperProcess keeper;
    private final int initPid;
    private final OptionalInt leasedId;
    private final Optional<SandboxCgroup> cgroup;
    /** The init's leaf in {@link #cgroup}, when each run gets a cgroup of its own there. */
    private final Optional<SandboxCgroup> initCgroup;
    private final String socket;
    /** The host files and directories its keeper bound, as they were just before it bound them. */
    private final List<BindSource> sources;
    /**
     * The directories on the way to {@link #sources}, each checked once per run however many
     * sources it leads to.
     */
    private final List<Path> sourceDirectories;
    /** Its cgroup's v1 counter files that a run starts from 0 ({@link SharedCgroup#resettableFiles}). */
    private final List<Path> resettable;
    /** The counters reset when it last went idle, the next run's baseline; empty: reset at the next start. */
    private Optional<SharedCgroup> next = Optional.empty();
    /** The next run's monitor, spawned when it last went idle (guarded by this); null: spawned at the next start. */
    private Launcher.Prepared prepared;
    /** Set by {@link #close()} (guarded by this): nothing is prepared any more. */
    private boolean closing;
    /** When it last went idle, {@link System#nanoTime()}. */
    long idleSince;
    /** The run it serves, until the pool takes it back. */
    private IsolatedProcess current;

    private PooledSandbox(HelperProcess keeper, OptionalInt leasedId, Optional<SandboxCgroup> cgroup,
            Optional<SandboxCgroup> initCgroup, String socket, List<BindSource> sources) {
        this.keeper = keeper;
        this.sources = sources;
        this.sourceDirectories = BindSource.directoriesOf(sources);
        this.resettable = cgroup.map(SharedCgroup::resettableFiles).orElse(List.of());
        this.initPid = keeper.programPid();
        this.leasedId = leasedId;
        this.cgroup = cgroup;
        this.initCgroup = initCgroup;
        this.socket = socket;
    }

    /**
     * Sets up a pooled sandbox of {@code layout} listening on {@code socket} (an abstract unix
     * socket name, {@code @...}, a space and the pool's secret: see {@code Step.PoolListen}), in a
     * cgroup with the policy's limits (pids one more than the policy's: the init is one of them);
     * where {@link #freshRunCgroups} holds, its init in a leaf of that cgroup.
     */
    static PooledSandbox open(Sandbox policy, Sandbox layout, String socket) throws SandboxException {
        Optional<SandboxCgroup> cgroup = Optional.empty();
        Optional<SandboxCgroup> initCgroup = Optional.empty();
        Optional<SandboxIds.Lease> ids = Optional.empty();
        try {
            if (policy.cgroupLimits().isPresent()) {
                CgroupLimits limits = policy.cgroupLimits().get();
                if (limits.pidsLimit().isPresent()) {
                    limits = limits.toBuilder().pidsLimit(limits.pidsLimit().getAsLong() + 1).build();
                }
                cgroup = Optional.of(Launcher.createCgroup(limits, policy.cgroupParent(), Optional.empty()));
                if (freshRunCgroups(cgroup.get(), layout)) {
                    // before the init is in it: the leaf enables the controllers for the runs' cgroups too
                    initCgroup = Optional.of(Launcher.createCgroup(CgroupLimits.none(), Optional.empty(), cgroup));
                }
            }
            ids = layout.leaseIds(true);
            // the keeper's monitor removes the init's leaf, then the sandbox's cgroup, if the JVM dies (the runs' monitors theirs)
            PlanCompiler.Placement placement = initCgroup.isPresent()
                    ? Launcher.placement(initCgroup).withTeardown(Launcher.teardownOnJvmDeath(cgroup.get()))
                    : Launcher.placement(cgroup);
            LaunchPlan setup = PlanCompiler.poolKeeper(layout,
                    PlanCompiler.HostFacts.of(layout, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty())), placement, socket);
            // before the keeper binds them: a source replaced in between is then noticed at the first run
            List<BindSource> sources = BindSource.of(setup);
            List<FileAction> devNull = List.of(new FileAction.Open("/dev/null", 0, Kernel.O_RDONLY, 0),
                    new FileAction.Open("/dev/null", 1, Kernel.O_WRONLY, 0), new FileAction.Open("/dev/null", 2, Kernel.O_WRONLY, 0));
            HelperProcess keeper = HelperProcess.spawn(setup.encode(), devNull, ids.map(l -> OptionalInt.of(l.fd())).orElse(OptionalInt.empty()));
            ids.ifPresent(l -> l.handedOver(keeper));
            try {
                keeper.awaitStarted();
            } catch (RuntimeException e) { // its setup failed: gone before its cgroup is removed
                keeper.kill();
                keeper.exited().handle((r, f) -> null).join();
                keeper.closeFds();
                throw e;
            }
            if (cgroup.isPresent()) {
                protectFromOomKiller(keeper.programPid());
            }
            return new PooledSandbox(keeper, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty()), cgroup, initCgroup,
                    socket, sources);
        } catch (NativeCallException e) {
            SandboxException failure = HostDiagnostics.explain(e, layout);
            closeCgroup(initCgroup, failure);
            closeCgroup(cgroup, failure);
            throw failure;
        } catch (SandboxException | RuntimeException e) {
            closeCgroup(initCgroup, e);
            closeCgroup(cgroup, e);
            throw e;
        } finally {
            ids.ifPresent(SandboxIds.Lease::close); // unless the keeper's monitor holds it now
        }
    }

    /**
     * Whether each run of a pooled sandbox in {@code cg} gets a fresh cgroup of its own: when the
     * init can create the run in it, that is on cgroup v2 ({@link SandboxCgroup#unifiedDirectory()})
     * with clone3 {@code CLONE_INTO_CGROUP} (Linux 5.7+), where the init sees the run's cgroup
     * (not with a cgroup namespace of the sandbox's: rooted at the init's leaf, it hides the
     * runs' cgroups beside it) and may write to the sandbox's {@code cgroup.procs} (not with a
     * user namespace of a root JVM's: the init is then a leased uid that owns no cgroup file).
     */
    static boolean freshRunCgroups(SandboxCgroup cg, Sandbox layout) {
        boolean rootUserNs = Kernel.get().getuid() == 0 && layout.namespaces().contains(Sandbox.Namespace.USER);
        return cg.unifiedDirectory().isPresent() && KernelVersion.atLeast(5, 7)
                && !layout.namespaces().contains(Sandbox.Namespace.CGROUP) && !rootUserNs;
    }

    /** The init holds the namespaces and memory it does not grow: never the OOM killer's pick (needs root). */
    private static void protectFromOomKiller(int pid) {
        try {
            Files.writeString(Path.of("/proc/" + pid + "/oom_score_adj"), "-1000");
        } catch (IOException e) {
            // without CAP_SYS_RESOURCE (not root, or a container's root): the kernel does not let us lower it
        }
    }

    private static void closeCgroup(Optional<SandboxCgroup> cgroup, Throwable failure) {
        cgroup.ifPresent(c -> {
            try {
                c.close();
            } catch (IOException e) {
                failure.addSuppressed(e);
            }
        });
    }

    /**
     * Starts {@code pb}'s command as this sandbox's next run, with {@code run}'s per-run limits: in
     * a fresh cgroup of its own in the sandbox's, with {@code run}'s cgroup limits (the run owns it
     * and removes it once everything in it is reaped), or in the sandbox's cgroup, its counters reset.
     */
    IsolatedProcess start(Sandbox layout, Sandbox run, ProcessBuilder pb, boolean capture) throws SandboxException {
        Optional<SharedCgroup> shared = next;
        next = Optional.empty();
        Launcher.Prepared ready = takePrepared();
        if (ready != null && !ready.fits(pb)) {
            ready.discard();
            ready = null;
        }
        File directory = pb.directory() == null ? new File(SandboxSession.WORK_DIR) : pb.directory();
        Map<String, String> environment = run.environmentFor(pb, SandboxSession.WORK_DIR);
        if (ready != null) {
            try {
                current = Launcher.start(ready, request(layout, run, pb, capture, shared,
                        Sandbox.execPlan(pb.command(), environment, directory)));
                return current;
            } catch (SandboxSetupException e) {
                throw HostDiagnostics.explainStart(e, layout, pb.command(), environment);
            }
        }
        try {
            if (shared.isEmpty() && initCgroup.isEmpty() && cgroup.isPresent()) {
                shared = Optional.of(SharedCgroup.reset(cgroup.get(), resettable));
            }
        } catch (IOException e) {
            throw new SandboxException("cannot reset the pooled sandbox's cgroup counters: " + e.getMessage(), e);
        }
        try {
            current = Launcher.start(request(layout, run, pb, capture, shared, Sandbox.execPlan(pb.command(), environment, directory)));
            return current;
        } catch (SandboxSetupException e) {
            throw HostDiagnostics.explainStart(e, layout, pb.command(), environment);
        }
    }

    /**
     * Whether the sandbox may serve another run: its init lives, has no child left (every process
     * of the last run was killed and reaped: in a pid namespace each process descends from its
     * init) and, with a cgroup, is all that is in it (with runs' cgroups of their own: no cgroup
     * but the init's leaf is left in it).
     */
    boolean clean() {
        current = null;
        if (keeper.exited().isDone()) {
            return false;
        }
        try {
            String children = Files.readString(Path.of("/proc/" + initPid + "/task/" + initPid + "/children")).strip();
            if (!children.isEmpty()) {
                return false;
            }
            for (SandboxCgroup cg : Stream.of(cgroup, initCgroup).flatMap(Optional::stream).toList()) {
                for (Path procs : cg.procsFiles()) {
                    for (String line : Files.readAllLines(procs)) {
                        if (!line.isBlank() && Integer.parseInt(line.strip()) != initPid) {
                            return false;
                        }
                    }
                }
            }
            if (initCgroup.isPresent()) {
                Path leaf = initCgroup.get().unifiedDirectory().orElseThrow();
                try (Stream<Path> dirs = Files.list(cgroup.orElseThrow().unifiedDirectory().orElseThrow())) {
                    if (dirs.anyMatch(c -> Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS) && !c.equals(leaf))) {
                        return false; // a run's cgroup its run could not remove
                    }
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Prepares the next run now that it is idle and {@link #clean()} (only its init is left, which
     * waits and uses no CPU), so that the next {@link #start} does not: resets its cgroup's counters
     * and reads the baseline, then spawns the next run's monitor with its setup plan and standard
     * streams that are pipes ({@link Launcher#prepare}; in POOL_RUN mode it waits for its exec plan
     * before it connects, and no deadline runs until then). With several sandboxes in the pool this
     * runs while another serves the next run. A run with other streams gets a monitor of its own
     * and this one is ended; so is it when the sandbox is closed. If anything fails here, the next
     * start does it again and reports the failure. Costs an idle sandbox one sleeping process and
     * six descriptors in the JVM.
     */
    void prepareNext(Sandbox layout, Sandbox run) {
        next = Optional.empty();
        if (cgroup.isPresent() && initCgroup.isEmpty()) { // a run in a fresh cgroup of its own needs no reset
            try {
                next = Optional.of(SharedCgroup.reset(cgroup.get(), resettable));
            } catch (IOException | RuntimeException e) {
                return; // the next start resets the counters itself and reports what fails
            }
        }
        // the next run's monitor, for a run whose standard streams are all pipes (ProcessBuilder's default)
        synchronized (this) {
            if (closing || prepared != null) {
                return;
            }
            try {
                prepared = Launcher.prepare(request(layout, run, new ProcessBuilder(), false, next, new byte[0]));
            } catch (SandboxException | RuntimeException e) {
                prepared = null; // the next start spawns its monitor itself and reports what fails
            }
        }
    }

    private synchronized Launcher.Prepared takePrepared() {
        Launcher.Prepared p = prepared;
        prepared = null;
        return p;
    }

    /** The launch of a run: its setup plan compiled as its monitor is spawned, {@code execPlan} its program. */
    private LaunchRequest request(Sandbox layout, Sandbox run, ProcessBuilder pb, boolean capture, Optional<SharedCgroup> shared,
            byte[] execPlan) {
        PlanCompiler.HostFacts host = PlanCompiler.HostFacts.withoutMounts(leasedId);
        Launcher.SetupCompiler setup = placement -> PlanCompiler.poolRun(layout, run, host, placement, socket);
        // with fresh run cgroups (v2), the run's own is created in the sandbox's; else it runs in the sandbox's, reset
        Optional<SandboxCgroup> outer = initCgroup.isPresent() ? cgroup : Optional.empty();
        return LaunchRequest.inPool(run, execPlan, pb, capture, setup, outer, shared);
    }

    /**
     * Whether every host file and directory it bound is still the one it bound: the same device
     * and inode at the same path, with no symlink on the way. One that was renamed over, replaced
     * by a symlink (or a directory on its path was), or had a mount placed on it is not: the bind
     * would show the old one, so the pool closes this sandbox and sets up a new one, which binds
     * what is there now (or refuses a symlink).
     */
    boolean bindsUnchanged() {
        for (Path dir : sourceDirectories) {
            if (!BindSource.realDirectory(dir)) {
                return false;
            }
        }
        for (BindSource s : sources) {
            if (!s.unchanged()) {
                return false;
            }
        }
        return true;
    }

    /** A bind's host path, as it was before the keeper bound it. */
    record BindSource(Path path, Object dev, Object ino) {
        /** The sources of the binds of {@code setup}'s mounts. */
        static List<BindSource> of(LaunchPlan setup) throws SandboxException {
            List<BindSource> sources = new ArrayList<>();
            for (Step step : setup.steps()) {
                if (step instanceof Step.Mount m && (m.flags() & LaunchPlan.MS_BIND) != 0 && m.source() != null && m.source().startsWith("/")
                        && (m.kind() == LaunchPlan.MountKind.DIR || m.kind() == LaunchPlan.MountKind.FILE)) {
                    Path path = Path.of(m.source());
                    try {
                        Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
                        sources.add(new BindSource(path, a.get("dev"), a.get("ino")));
                    } catch (IOException | UnsupportedOperationException e) {
                        throw new SandboxException("cannot read the bind source " + path + " of a pooled sandbox: " + e.getMessage(), e);
                    }
                }
            }
            return List.copyOf(sources);
        }

        /**
         * The directories on the way to {@code sources} (not {@code /}), each once. With each of
         * them a directory and not a symlink ({@link #realDirectory}), a source whose own path
         * is not a symlink either is reached without following any: its real path is its path.
         */
        static List<Path> directoriesOf(List<BindSource> sources) {
            Set<Path> dirs = new LinkedHashSet<>();
            for (BindSource s : sources) {
                for (Path d = s.path.getParent(); d != null && d.getNameCount() > 0; d = d.getParent()) {
                    dirs.add(d);
                }
            }
            return List.copyOf(dirs);
        }

        /** Whether {@code dir} is a directory itself, not a symlink (to one or to anything else). */
        static boolean realDirectory(Path dir) {
            try {
                return Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isDirectory();
            } catch (IOException e) {
                return false;
            }
        }

        /**
         * Whether the same device and inode is at its path, and that path is its own real path.
         * The caller has checked the directories on the way ({@link #directoriesOf}); a path that
         * is not absolute and normal (no {@code .} or {@code ..}) is resolved in full.
         */
        boolean unchanged() {
            try {
                Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
                if (!dev.equals(a.get("dev")) || !ino.equals(a.get("ino")) || Boolean.TRUE.equals(a.get("isSymbolicLink"))) {
                    return false;
                }
                return (path.isAbsolute() && path.normalize().equals(path)) || path.toRealPath().equals(path);
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** The init's pid as the JVM sees it (tests). */
    int initPid() {
        return initPid;
    }

    /** Its cgroup, if it has one (tests). */
    Optional<SandboxCgroup> cgroup() {
        return cgroup;
    }

    /** The init's leaf in its cgroup, when each run gets a cgroup of its own (tests). */
    Optional<SandboxCgroup> initCgroup() {
        return initCgroup;
    }

    /** Kills everything in it (a run still going ends SIGNALED, by SIGKILL) and removes it, cgroup included; waits until it is gone. */
    void close() throws IOException {
        Launcher.Prepared ready;
        synchronized (this) {
            closing = true;
            ready = prepared;
            prepared = null;
        }
        if (ready != null) {
            ready.discard();
        }
        keeper.kill(); // the init ends everything in the pid namespace, then itself
        keeper.exited().handle((r, e) -> null).join();
        keeper.closeFds();
        IsolatedProcess run = current;
        boolean interrupted = false;
        if (run != null) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_END_SECONDS);
            while (true) {
                try {
                    run.outcome().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (Exception e) {
                    break; // it failed or did not end in time; the cgroup's removal kills what is left
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        IOException failure = null;
        for (SandboxCgroup cg : Stream.of(initCgroup, cgroup).flatMap(Optional::stream).toList()) {
            try {
                cg.close(); // the leaf first: the sandbox's cgroup is removed once empty
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
}
