package dev.isolation.core;

import dev.isolation.core.internal.launch.HelperProcess;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.Kernel.FileAction;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.File;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A persistent sandbox, as a judge uses one: namespaces and mounts set up once (a PID 1 keeps them
 * alive), a writable work directory at {@value #WORK_DIR}, and programs run in it one after another
 * (or side by side, like {@code docker exec}), each with its own limits, its own fresh cgroup (so no
 * limit or counter carries over from one run to the next) and its own outcome.
 *
 * <p>A root JVM's session has one host id of its own (see {@link Sandbox}) for its whole life: its
 * runs without {@code runAs} run as it, and so share their per-user counts with each other, not
 * with anything outside the session.
 *
 * <p>Thread-safe. {@link #close()} kills everything in the sandbox and removes it.
 */
public final class SandboxSession implements AutoCloseable {
    /** Where the work directory is inside the sandbox, and where programs start by default. */
    public static final String WORK_DIR = "/box";

    private final Sandbox policy;
    private final Sandbox layout;
    private final HelperProcess keeper;
    private final int keeperPid;
    /** The host id leased for the whole session (its keeper's monitor holds the lease), if it has one. */
    private final OptionalInt leasedId;

    private SandboxSession(Sandbox policy, Sandbox layout, HelperProcess keeper, OptionalInt leasedId) {
        this.policy = policy;
        this.layout = layout;
        this.keeper = keeper;
        this.keeperPid = keeper.programPid();
        this.leasedId = leasedId;
    }

    static SandboxSession open(Sandbox policy, Sandbox layout) throws SandboxException {
        Optional<SandboxIds.Lease> ids = layout.leaseIds(true);
        try {
            LaunchPlan setup = layout.setupPlan(ids, Optional.empty()).session(); // sized by open(workSize) and tmpSize alone
            List<FileAction> devNull = List.of(new FileAction.Open("/dev/null", 0, Kernel.O_RDONLY, 0),
                    new FileAction.Open("/dev/null", 1, Kernel.O_WRONLY, 0), new FileAction.Open("/dev/null", 2, Kernel.O_WRONLY, 0));
            HelperProcess keeper = HelperProcess.spawn(setup.encode(), devNull, ids.map(l -> OptionalInt.of(l.fd())).orElse(OptionalInt.empty()));
            ids.ifPresent(l -> l.handedOver(keeper.exited()));
            keeper.awaitStarted();
            return new SandboxSession(policy, layout, keeper, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty()));
        } catch (NativeCallException e) {
            throw new SandboxSetupException(e);
        } finally {
            ids.ifPresent(SandboxIds.Lease::close); // unless the keeper's monitor holds it now
        }
    }

    /**
     * Starts {@code pb}'s command in this sandbox with the session's own limits and environment
     * policy ({@link Sandbox#environmentFor}; {@code HOME} is {@value #WORK_DIR} here).
     */
    public IsolatedProcess start(ProcessBuilder pb) throws SandboxException {
        return start(policy, pb, false);
    }

    /**
     * Starts {@code pb}'s command in this sandbox with the per-run parts of {@code limits}: its
     * cgroup limits, time and output limits, identity, capabilities, seccomp policy, rlimits and
     * environment policy (its {@link Sandbox.Builder#env}, {@link Sandbox.Builder#passEnv},
     * {@link Sandbox.Builder#inheritEnvironment()} or {@link Sandbox.Builder#emptyEnvironment()},
     * not the session's). Its namespaces and file system are the session's; {@code HOME} is
     * {@value #WORK_DIR} by default.
     */
    public IsolatedProcess start(Sandbox limits, ProcessBuilder pb) throws SandboxException {
        return start(limits, pb, false);
    }

    /** Runs to the end with the session's limits, stdin from bytes and output captured; see {@link Sandbox#run}. */
    public Outcome run(ProcessBuilder pb, byte[] stdin) {
        return run(policy, pb, stdin);
    }

    /** Runs to the end with the per-run parts of {@code limits}. */
    public Outcome run(Sandbox limits, ProcessBuilder pb, byte[] stdin) {
        return Sandbox.runToEnd(pb, stdin, (p, capture) -> start(limits, p, capture));
    }

    private IsolatedProcess start(Sandbox limits, ProcessBuilder pb, boolean capture) throws SandboxException {
        if (pb.command().isEmpty()) {
            throw new IllegalArgumentException("command must not be empty");
        }
        if (keeper.exited().isDone()) {
            throw new IllegalStateException("the session is closed");
        }
        Sandbox run = limits.toBuilder().namespacesOf(layout).build();
        LaunchPlan setup = new LaunchPlan().cloneFlags(0).setupTimeout(run.setupTimeout().toNanos())
                .join(keeperPid, layout.cloneFlags() | (layout.namespaces().contains(Sandbox.Namespace.CGROUP)
                        ? LaunchPlan.CLONE_NEWCGROUP : 0))
                .init(); // forks the program inside the session's pid namespace, waits for it
        if (layout.namespaces().contains(Sandbox.Namespace.USER)) {
            setup.userNamespaceIds(0, 0);
        }
        try {
            run.processPlan(setup, leasedId);
        } catch (NativeCallException e) {
            throw new SandboxSetupException(e);
        }
        File directory = pb.directory() == null ? new File(WORK_DIR) : pb.directory();
        return Launcher.startJoined(run, setup, Sandbox.execPlan(pb.command(), run.environmentFor(pb, WORK_DIR), directory), pb, capture);
    }

    /** Kills everything in the sandbox and removes it; waits until it is gone. Idempotent. */
    @Override
    public void close() {
        keeper.kill();
        keeper.exited().handle((r, e) -> null).join();
        keeper.closeFds();
    }
}
