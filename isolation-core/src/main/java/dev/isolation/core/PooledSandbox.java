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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * One sandbox of a {@link SandboxPool}, set up once: its namespaces, mounts and cgroup, held by a
 * keeper whose init forks each run inside them ({@code pool.c}). Runs one program at a time; the
 * pool hands it out and takes it back. Not thread-safe: the pool guards it.
 */
final class PooledSandbox {
    /** How long {@link #close()} waits for a run still going to end (it dies with the init). */
    private static final long RUN_END_SECONDS = 10;

    private final HelperProcess keeper;
    private final int initPid;
    private final OptionalInt leasedId;
    private final Optional<SandboxCgroup> cgroup;
    private final String socket;
    /** The host files and directories its keeper bound, as they were just before it bound them. */
    private final List<BindSource> sources;
    /** When it last went idle, {@link System#nanoTime()}. */
    long idleSince;
    /** The run it serves, until the pool takes it back. */
    private IsolatedProcess current;

    private PooledSandbox(HelperProcess keeper, OptionalInt leasedId, Optional<SandboxCgroup> cgroup, String socket,
            List<BindSource> sources) {
        this.keeper = keeper;
        this.sources = sources;
        this.initPid = keeper.programPid();
        this.leasedId = leasedId;
        this.cgroup = cgroup;
        this.socket = socket;
    }

    /**
     * Sets up a pooled sandbox of {@code layout} listening on {@code socket} (an abstract unix
     * socket name, {@code @...}, a space and the pool's secret: see {@code Step.PoolListen}), in a cgroup with the policy's limits (pids one more than the
     * policy's: the init is one of them).
     */
    static PooledSandbox open(Sandbox policy, Sandbox layout, String socket) throws SandboxException {
        Optional<SandboxCgroup> cgroup = Optional.empty();
        Optional<SandboxIds.Lease> ids = Optional.empty();
        try {
            if (policy.cgroupLimits().isPresent()) {
                CgroupLimits limits = policy.cgroupLimits().get();
                if (limits.pidsLimit().isPresent()) {
                    limits = limits.toBuilder().pidsLimit(limits.pidsLimit().getAsLong() + 1).build();
                }
                cgroup = Optional.of(Launcher.createCgroup(limits, policy.cgroupParent(), Optional.empty()));
            }
            ids = layout.leaseIds(true);
            PlanCompiler.Placement placement = Launcher.placement(cgroup);
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
            return new PooledSandbox(keeper, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty()), cgroup, socket, sources);
        } catch (NativeCallException e) {
            SandboxException failure = HostDiagnostics.explain(e, layout);
            closeCgroup(cgroup, failure);
            throw failure;
        } catch (SandboxException | RuntimeException e) {
            closeCgroup(cgroup, e);
            throw e;
        } finally {
            ids.ifPresent(SandboxIds.Lease::close); // unless the keeper's monitor holds it now
        }
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

    /** Starts {@code pb}'s command as this sandbox's next run, with {@code run}'s per-run limits. */
    IsolatedProcess start(Sandbox layout, Sandbox run, ProcessBuilder pb, boolean capture) throws SandboxException {
        Optional<SharedCgroup> shared;
        try {
            shared = cgroup.isPresent() ? Optional.of(SharedCgroup.reset(cgroup.get())) : Optional.empty();
        } catch (IOException e) {
            throw new SandboxException("cannot reset the pooled sandbox's cgroup counters: " + e.getMessage(), e);
        }
        PlanCompiler.HostFacts host = PlanCompiler.HostFacts.withoutMounts(leasedId);
        Launcher.SetupCompiler setup = placement -> PlanCompiler.poolRun(layout, run, host, placement, socket);
        File directory = pb.directory() == null ? new File(SandboxSession.WORK_DIR) : pb.directory();
        Map<String, String> environment = run.environmentFor(pb, SandboxSession.WORK_DIR);
        try {
            current = Launcher.start(LaunchRequest.inPool(run, Sandbox.execPlan(pb.command(), environment, directory), pb, capture,
                    setup, Optional.empty(), shared));
            return current;
        } catch (SandboxSetupException e) {
            throw HostDiagnostics.explainStart(e, layout, pb.command(), environment);
        }
    }

    /**
     * Whether the sandbox may serve another run: its init lives, has no child left (every process
     * of the last run was killed and reaped: in a pid namespace each process descends from its
     * init) and, with a cgroup, is all that is in it.
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
            if (cgroup.isPresent()) {
                for (Path procs : cgroup.get().procsFiles()) {
                    for (String line : Files.readAllLines(procs)) {
                        if (!line.isBlank() && Integer.parseInt(line.strip()) != initPid) {
                            return false;
                        }
                    }
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether every host file and directory it bound is still the one it bound: the same device
     * and inode at the same path, with no symlink on the way. One that was renamed over, replaced
     * by a symlink (or a directory on its path was), or had a mount placed on it is not: the bind
     * would show the old one, so the pool closes this sandbox and sets up a new one, which binds
     * what is there now (or refuses a symlink).
     */
    boolean bindsUnchanged() {
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

        boolean unchanged() {
            try {
                Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
                return dev.equals(a.get("dev")) && ino.equals(a.get("ino")) && path.toRealPath().equals(path);
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

    /** Kills everything in it (a run still going ends SIGNALED, by SIGKILL) and removes it, cgroup included; waits until it is gone. */
    void close() throws IOException {
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
        if (cgroup.isPresent()) {
            cgroup.get().close();
        }
    }
}
