package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.core.internal.launch.HelperProcess;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.Kernel.FileAction;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * A persistent sandbox, as a judge uses one: namespaces and mounts set up once (a PID 1 keeps them
 * alive), a writable work directory at {@value #WORK_DIR}, and programs run in it one after another
 * (or side by side, like {@code docker exec}), each with its own limits, its own fresh cgroup (so no
 * limit or counter carries over from one run to the next) and its own outcome.
 *
 * <p><b>Limits of a run.</b> A run has the session policy's per-run parts ({@link
 * Sandbox#runLimits()}), or the {@link RunLimits} it is started with: cgroup limits, CPU and wall
 * time, output limit, identity, capabilities, seccomp policy, rlimits and environment policy.
 * Its namespaces and file system are always the session's: a {@code RunLimits} cannot name them.
 *
 * <p><b>Files between runs.</b> By default a run leaves no files for the next one: each run starts
 * with empty tmpfs mounts of its own at {@value #WORK_DIR}, {@code /tmp}, {@code /dev/shm} and each
 * {@link Sandbox.Builder#tmpfs} (in a mount namespace of its own, copied from the session's), and
 * they are gone, their memory freed, when the run ends. Runs side by side do not see each other's
 * files there either. With {@link Options.Builder#persistentWorkDir()} every run shares the
 * session's one {@value #WORK_DIR}, whose files outlive the runs (compile in one run, execute the
 * binary in the next) until {@link #resetWorkDir()} or {@link #close()}; {@code /tmp} and the other
 * tmpfs mounts stay fresh for each run. A {@link Sandbox.Builder#bindWritable} at {@value #WORK_DIR}
 * is the caller's host directory: every run shares it, and the session never empties it.
 *
 * <p><b>Memory.</b> A session with a memory limit ({@link Options.Builder#memoryLimit}, by default
 * the policy's {@link Sandbox.Builder#memoryLimit}), or whose policy has any cgroup limit, has a
 * cgroup of its own: its PID 1 runs in a leaf of it, and every run's cgroup is created in it (a
 * run whose limits set no cgroup gets one without limits). A file in a tmpfs mount is charged to
 * the cgroup of the process that wrote it: while a run lives, its files and its memory count
 * towards its own limit and the session's; what outlives the run (the files of a persistent
 * {@value #WORK_DIR}, SysV shared memory in the session's IPC namespace) stays charged to the
 * session, never to the JVM's cgroup, and leaves that much less of the session's limit to every
 * later run. The session's limit bounds every run: a run asking for more is refused. A run that
 * needs more than the session has left is OOM-killed as one past its own limit is: {@link
 * Outcome.Status#MEMORY_LIMIT}, {@link Outcome#oomKilled()}; a session whose files fill its limit
 * leaves later runs nothing until {@link #resetWorkDir()}. (Past a tmpfs mount's own size a write
 * fails with ENOSPC instead.) The session's PID 1 is protected from the OOM killer when the JVM
 * is root. Without a memory limit and without cgroup limits the session has no cgroup: its runs'
 * files are charged where the runs run (the JVM's cgroup, for runs without limits).
 *
 * <p>A root JVM's session has one host id of its own (see {@link Sandbox}) for its whole life: its
 * runs without {@code runAs} run as it, and so share their per-user counts with each other, not
 * with anything outside the session.
 *
 * <p>Thread-safe. {@link #close()} kills everything in the sandbox and removes it, cgroups
 * included.
 *
 * @since 0.1.0
 */
public final class SandboxSession implements AutoCloseable {
    /** Where the work directory is inside the sandbox, and where programs start by default. */
    public static final String WORK_DIR = "/box";

    /** How long {@link #close()} waits for the runs to end (they die with the session's PID 1) before it removes the cgroup. */
    private static final long RUNS_END_SECONDS = 10;

    private final Sandbox policy;
    private final Sandbox layout;
    private final Options options;
    private final HelperProcess keeper;
    private final int keeperPid;
    /** The keeper's start time, clock ticks after boot: a run joins no process that reused its pid. */
    private final long keeperStart;
    /** The host id leased for the whole session (its keeper's monitor holds the lease), if it has one. */
    private final OptionalInt leasedId;
    /** The session's cgroup, in which the runs' cgroups are made, and the keeper's leaf in it. */
    private final Optional<SandboxCgroup> cgroup;
    private final Optional<SandboxCgroup> keeperCgroup;

    private final Object lock = new Object();
    /** Runs started, until seen ended; guarded by {@link #lock}. */
    private final List<IsolatedProcess> runs = new ArrayList<>();
    /** Starts in progress; guarded by {@link #lock}. */
    private int starting;
    /** The next run starts with an empty work directory ({@link #resetWorkDir()}); guarded by {@link #lock}. */
    private boolean resetPending;
    private boolean closed;

    private SandboxSession(Sandbox policy, Sandbox layout, Options options, HelperProcess keeper, long keeperStart, OptionalInt leasedId,
            Optional<SandboxCgroup> cgroup, Optional<SandboxCgroup> keeperCgroup) {
        this.policy = policy;
        this.layout = layout;
        this.options = options;
        this.keeper = keeper;
        this.keeperPid = keeper.programPid();
        this.keeperStart = keeperStart;
        this.leasedId = leasedId;
        this.cgroup = cgroup;
        this.keeperCgroup = keeperCgroup;
    }

    static SandboxSession open(Sandbox policy, Sandbox layout, Options options) throws SandboxException {
        Optional<SandboxCgroup> cgroup = Optional.empty();
        Optional<SandboxCgroup> keeperCgroup = Optional.empty();
        Optional<SandboxIds.Lease> ids = Optional.empty();
        try {
            cgroup = sessionCgroup(policy, options);
            if (cgroup.isPresent()) {
                keeperCgroup = Optional.of(Launcher.createCgroup(CgroupLimits.none(), Optional.empty(), cgroup));
            }
            ids = layout.leaseIds(true);
            // the monitor removes the keeper's leaf, then the session's cgroup, if the JVM dies (the runs' monitors theirs)
            PlanCompiler.Placement placement = Launcher.placement(keeperCgroup)
                    .withTeardown(cgroup.map(Launcher::teardownOnJvmDeath).orElse(List.of()));
            LaunchPlan setup = PlanCompiler.sessionKeeper(layout,
                    PlanCompiler.HostFacts.of(layout, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty())), placement);
            List<FileAction> devNull = List.of(new FileAction.Open("/dev/null", 0, Kernel.O_RDONLY, 0),
                    new FileAction.Open("/dev/null", 1, Kernel.O_WRONLY, 0), new FileAction.Open("/dev/null", 2, Kernel.O_WRONLY, 0));
            HelperProcess keeper = HelperProcess.spawn(setup.encode(), devNull, ids.map(l -> OptionalInt.of(l.fd())).orElse(OptionalInt.empty()));
            ids.ifPresent(l -> l.handedOver(keeper));
            long keeperStart;
            try {
                keeper.awaitStarted();
                keeperStart = startTime(keeper.programPid());
            } catch (RuntimeException | SandboxException e) { // its setup failed: gone before its cgroup is removed
                keeper.kill();
                keeper.exited().handle((r, f) -> null).join();
                keeper.closeFds();
                throw e;
            }
            if (cgroup.isPresent()) {
                protectFromOomKiller(keeper.programPid());
            }
            return new SandboxSession(policy, layout, options, keeper, keeperStart, ids.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty()),
                    cgroup, keeperCgroup);
        } catch (NativeCallException e) {
            SandboxSetupException failure = new SandboxSetupException(e);
            closeCgroups(keeperCgroup, cgroup, failure);
            throw failure;
        } catch (SandboxException | RuntimeException e) {
            closeCgroups(keeperCgroup, cgroup, e);
            throw e;
        } finally {
            ids.ifPresent(SandboxIds.Lease::close); // unless the keeper's monitor holds it now
        }
    }

    /**
     * The session's own cgroup: with the memory limit of {@code options}, else of the policy (and
     * the policy's swap limit and best-effort choice), under the policy's cgroup parent; none
     * without a memory limit and without cgroup limits in the policy.
     */
    private static Optional<SandboxCgroup> sessionCgroup(Sandbox policy, Options options) throws SandboxException {
        Optional<ByteSize> memory = memoryLimit(policy, options);
        if (memory.isEmpty() && policy.cgroupLimits().isEmpty()) {
            return Optional.empty();
        }
        CgroupLimits.Builder limits = CgroupLimits.builder();
        memory.ifPresent(limits::memoryLimit);
        policy.cgroupLimits().ifPresent(l -> {
            if (memory.isPresent()) {
                l.swapLimit().ifPresent(limits::swapLimit);
            }
            limits.bestEffort(l.bestEffort());
        });
        return Optional.of(Launcher.createCgroup(limits.build(), policy.cgroupParent(), Optional.empty()));
    }

    /** The session's memory limit: of the options, else of the policy. */
    private static Optional<ByteSize> memoryLimit(Sandbox policy, Options options) {
        return options.memoryLimit().or(() -> policy.cgroupLimits().flatMap(CgroupLimits::memoryLimit));
    }

    /**
     * The keeper holds the session's namespaces, and only memory it does not grow: were it the OOM
     * killer's pick when the session's cgroup is full, every run would die with it. Needs root;
     * elsewhere it stays as likely a victim as the runs' own inits.
     */
    private static void protectFromOomKiller(int pid) {
        try {
            Files.writeString(Path.of("/proc/" + pid + "/oom_score_adj"), "-1000");
        } catch (IOException e) {
            // not root: the kernel does not let us lower it
        }
    }

    private static void closeCgroups(Optional<SandboxCgroup> keeperCgroup, Optional<SandboxCgroup> cgroup, Throwable failure) {
        for (Optional<SandboxCgroup> cg : List.of(keeperCgroup, cgroup)) {
            cg.ifPresent(c -> {
                try {
                    c.close();
                } catch (IOException e) {
                    failure.addSuppressed(e);
                }
            });
        }
    }

    /**
     * Starts {@code pb}'s command in this sandbox with the session's own limits and environment
     * policy ({@link Sandbox#runLimits()} of its policy; {@link Sandbox#environmentFor}, with {@code
     * HOME} = {@value #WORK_DIR} here).
     *
     * @param pb the command, working directory, environment and redirects
     * @return the running process
     * @throws SandboxException if the sandbox cannot be set up (a {@link SandboxSetupException}
     *     names the failed call)
     */
    public IsolatedProcess start(ProcessBuilder pb) throws SandboxException {
        return start(policy.runLimits(), pb, false);
    }

    /**
     * Starts {@code pb}'s command in this sandbox with {@code limits} instead of the session's own:
     * its cgroup limits, time and output limits, identity, capabilities, seccomp policy, rlimits and
     * environment policy (its {@link RunLimits.Builder#env}, {@link RunLimits.Builder#passEnv},
     * {@link RunLimits.Builder#inheritEnvironment()} or {@link RunLimits.Builder#emptyEnvironment()},
     * not the session's), each at its default where {@code limits} sets none. Its namespaces and
     * file system are the session's; {@code HOME} is {@value #WORK_DIR} by default.
     *
     * @param limits the run's limits
     * @param pb the command, working directory, environment and redirects
     * @return the running process
     * @throws IllegalArgumentException if the memory limit of {@code limits} is above the
     *     session's ({@link Options.Builder#memoryLimit}), which bounds every run
     * @throws IllegalStateException if the session's namespaces cannot confine the identity or
     *     capabilities of {@code limits} (see {@link Sandbox.Builder#build()}), or the session is closed
     * @throws SandboxException if the sandbox cannot be set up (a {@link SandboxSetupException}
     *     names the failed call)
     */
    public IsolatedProcess start(RunLimits limits, ProcessBuilder pb) throws SandboxException {
        return start(Objects.requireNonNull(limits, "limits"), pb, false);
    }

    /**
     * Runs to the end with the session's limits, stdin from bytes and output captured; see {@link Sandbox#run}.
     *
     * @param pb the command, working directory and environment
     * @param stdin the program's standard input
     * @return how it ended, with its output
     */
    public Outcome run(ProcessBuilder pb, byte[] stdin) {
        return run(policy.runLimits(), pb, stdin);
    }

    /**
     * Runs to the end with {@code limits} instead of the session's own, as {@link #start(RunLimits,
     * ProcessBuilder)} starts it; stdin from bytes and output captured as {@link Sandbox#run} does.
     *
     * @param limits the run's limits
     * @param pb the command, working directory and environment
     * @param stdin the program's standard input
     * @return how it ended, with its output
     * @throws IllegalArgumentException if the memory limit of {@code limits} is above the session's
     * @throws IllegalStateException as {@link #start(RunLimits, ProcessBuilder)}
     */
    public Outcome run(RunLimits limits, ProcessBuilder pb, byte[] stdin) {
        Objects.requireNonNull(limits, "limits");
        return Sandbox.runToEnd(pb, stdin, (p, capture) -> start(limits, p, capture));
    }

    /**
     * Empties the persistent work directory: the next run starts with an empty {@value #WORK_DIR}
     * (a fresh tmpfs; the old one, and the memory its files held, is released when that run starts,
     * or when the session is closed). Does nothing without {@link Options.Builder#persistentWorkDir()}:
     * each run's {@value #WORK_DIR} is empty anyway.
     *
     * @throws IllegalStateException if a run of this session is live or starting (its files would
     *     vanish under it), if {@value #WORK_DIR} is a {@link Sandbox.Builder#bindWritable} of the
     *     caller's (the session never empties a host directory), or if the session is closed
     */
    public void resetWorkDir() {
        synchronized (lock) {
            checkOpen();
            if (layout.workDirIsBound()) {
                throw new IllegalStateException(WORK_DIR + " is a host directory bound with bindWritable: the session never empties it");
            }
            if (!options.persistentWorkDir()) {
                return;
            }
            runs.removeIf(r -> !r.isAlive());
            if (starting > 0 || !runs.isEmpty()) {
                throw new IllegalStateException("cannot reset " + WORK_DIR + " while a run of the session is live: "
                        + (starting + runs.size()) + " live or starting; wait for them (or destroy them) first");
            }
            resetPending = true;
        }
    }

    /**
     * Copies {@code content} into the sandbox as the regular file {@code inside} (mode 0644), as
     * go-judge's {@code copyIn} does: {@code inside} is a path in {@value #WORK_DIR}, absolute
     * ({@code /box/src/main.c}) or relative to it ({@code src/main.c}), whose missing parent
     * directories are created (0755). Whatever is at {@code inside} (a file, a symbolic link, a FIFO)
     * is replaced, never written through: nothing a program of the sandbox planted there or above it
     * makes this write outside {@value #WORK_DIR} (a symbolic link or a non-directory among the
     * parents fails the copy). A root JVM gives the file and the directories it made to the
     * session's own id, which its runs without {@code runAs} run as. If a {@link #resetWorkDir()} is
     * pending, {@value #WORK_DIR} is emptied first.
     *
     * @param content the file's bytes
     * @param inside the path in {@value #WORK_DIR}
     * @throws IllegalArgumentException if {@code inside} is not a plain path in {@value #WORK_DIR},
     *     or {@code content} is larger than {@link Options#copyLimit()}
     * @throws IllegalStateException without {@link Options.Builder#persistentWorkDir()} or a
     *     {@link Sandbox.Builder#bindWritable} at {@value #WORK_DIR} (each run's {@value #WORK_DIR}
     *     would be empty anyway), while a run is live or starting, or once the session is closed
     * @throws SandboxException naming the path if a parent is a link or not a directory, or {@value
     *     #WORK_DIR} is full; nothing is left of the copy then
     */
    public void copyIn(byte[] content, String inside) throws SandboxException {
        checkCopySize(content.length, "copyIn(" + content.length + " bytes)");
        try {
            copyIn(new java.io.ByteArrayInputStream(content), content.length, 0644, inside);
        } catch (SandboxException e) {
            throw e;
        } catch (IOException e) {
            throw new SandboxException("copyIn(\"" + inside + "\"): " + e.getMessage(), e);
        }
    }

    /**
     * Copies the host's regular file {@code host} into the sandbox as {@code inside}, as {@link
     * #copyIn(byte[], String)} does; mode 0755 if {@code host} is executable by its owner, else 0644.
     *
     * @param host the host file to copy
     * @param inside the path in {@value #WORK_DIR}
     * @throws java.nio.file.NoSuchFileException if {@code host} does not exist
     * @throws IllegalArgumentException if {@code host} is not a regular file or is larger than
     *     {@link Options#copyLimit()}
     */
    public void copyIn(Path host, String inside) throws IOException {
        java.nio.file.attribute.PosixFileAttributes attrs = Files.readAttributes(host, java.nio.file.attribute.PosixFileAttributes.class);
        if (!attrs.isRegularFile()) {
            throw new IllegalArgumentException("copyIn(" + host + "): not a regular file");
        }
        checkCopySize(attrs.size(), "copyIn(" + host + ")");
        int mode = attrs.permissions().contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE) ? 0755 : 0644;
        try (java.io.InputStream in = Files.newInputStream(host)) {
            copyIn(in, attrs.size(), mode, inside);
        }
    }

    /**
     * The bytes of the regular file {@code inside} of the sandbox ({@code /box/out.txt} or {@code
     * out.txt}), as go-judge's {@code copyOut} does, at most {@link Options#copyLimit()} of them. It
     * is opened without following a symbolic link, neither at its place nor above it, and without
     * blocking: a link, a FIFO, a device or a directory there fails the copy, so nothing a program
     * of the sandbox planted makes this read outside {@value #WORK_DIR}.
     *
     * @param inside the path in {@value #WORK_DIR}
     * @return the file's bytes
     * @throws java.nio.file.NoSuchFileException if there is no such file
     * @throws SandboxException naming the path if it is a link or not a regular file, or is larger
     *     than the copy limit
     * @throws IllegalStateException as {@link #copyIn(byte[], String)}
     */
    public byte[] copyOut(String inside) throws IOException {
        List<String> parts = WorkDirFiles.components(inside);
        synchronized (lock) {
            checkCopyAllowed("copyOut");
            if (resetPending) {
                throw new java.nio.file.NoSuchFileException(WORK_DIR + "/" + String.join("/", parts), null,
                        "resetWorkDir() emptied " + WORK_DIR);
            }
            int box = openWorkDir("copyOut");
            try {
                return WorkDirFiles.copyOut(box, parts, options.copyLimit(), "copyOut(\"" + inside + "\")");
            } finally {
                Kernel.get().close(box);
            }
        }
    }

    private void copyIn(java.io.InputStream in, long size, int mode, String inside) throws IOException {
        List<String> parts = WorkDirFiles.components(inside);
        synchronized (lock) {
            checkCopyAllowed("copyIn");
            int box = openWorkDir("copyIn");
            try {
                if (resetPending) {
                    WorkDirFiles.empty(box, 0);
                    resetPending = false;
                }
                OptionalInt owner = Kernel.get().getuid() == 0 ? leasedId : OptionalInt.empty();
                WorkDirFiles.copyIn(box, parts, in, size, mode, owner, "copyIn(\"" + inside + "\")");
            } finally {
                Kernel.get().close(box);
            }
        }
    }

    private void checkCopySize(long size, String what) {
        if (size > options.copyLimit().bytes()) {
            throw new IllegalArgumentException(what + ": " + ByteSize.ofBytes(size) + " is above the copy limit of "
                    + options.copyLimit() + ": raise SandboxSession.Options.Builder.copyLimit");
        }
    }

    /** Guarded by {@link #lock}: a persistent work directory, and no run that could change it meanwhile. */
    private void checkCopyAllowed(String what) {
        checkOpen();
        if (!options.persistentWorkDir() && !layout.workDirIsBound()) {
            throw new IllegalStateException(what + " needs SandboxSession.Options.builder().persistentWorkDir(): without it each run"
                    + " starts with an empty " + WORK_DIR + " of its own");
        }
        runs.removeIf(r -> !r.isAlive());
        if (starting > 0 || !runs.isEmpty()) {
            throw new IllegalStateException(what + " while a run of the session is live: " + (starting + runs.size())
                    + " live or starting; wait for them (or destroy them) first");
        }
    }

    private int openWorkDir(String what) throws SandboxException {
        try {
            return WorkDirFiles.openWorkDir(keeperPid, keeperStart);
        } catch (IllegalStateException e) {
            throw new SandboxException(what + ": " + e.getMessage(), e);
        } catch (NativeCallException e) {
            throw new SandboxException(what + ": cannot open the session's " + WORK_DIR + ": " + e.getMessage(), e);
        }
    }

    private IsolatedProcess start(RunLimits limits, ProcessBuilder pb, boolean capture) throws SandboxException {
        if (pb.command().isEmpty()) {
            throw new IllegalArgumentException("command must not be empty");
        }
        Optional<ByteSize> runMemory = limits.cgroupLimits().flatMap(CgroupLimits::memoryLimit);
        Optional<ByteSize> sessionMemory = memoryLimit(policy, options);
        if (runMemory.isPresent() && sessionMemory.isPresent() && runMemory.get().compareTo(sessionMemory.get()) > 0) {
            throw new IllegalArgumentException("the run's memoryLimit (" + runMemory.get() + ") is above the session's memory limit ("
                    + sessionMemory.get() + "), which bounds every run: open the session with"
                    + " SandboxSession.Options.builder().memoryLimit(...) of at least " + runMemory.get());
        }
        Sandbox run = runPolicy(policy, layout, limits);
        synchronized (lock) {
            checkOpen();
            runs.removeIf(r -> !r.isAlive());
            if (resetPending) {
                // the reset is done in this run's setup, in the session's mount namespace: nothing else starts meanwhile
                IsolatedProcess p = launch(run, pb, capture, true);
                resetPending = false;
                runs.add(p);
                return p;
            }
            starting++;
        }
        IsolatedProcess p = null;
        try {
            p = launch(run, pb, capture, false);
            return p;
        } finally {
            synchronized (lock) {
                starting--;
                if (p != null) {
                    runs.add(p);
                }
                lock.notifyAll();
            }
        }
    }

    /**
     * The policy of a run with {@code limits} in the session of {@code policy} and {@code layout}:
     * the session's policy with its per-run parts replaced by {@code limits}, and the layout's
     * namespaces; the file system is the session's too, mounted by the run's plan from the layout.
     *
     * @throws IllegalStateException if the session's namespaces cannot confine the run's identity or capabilities
     */
    static Sandbox runPolicy(Sandbox policy, Sandbox layout, RunLimits limits) {
        return policy.toBuilder().runLimits(limits).namespacesOf(layout).build();
    }

    private IsolatedProcess launch(Sandbox run, ProcessBuilder pb, boolean capture, boolean resetWorkDir) throws SandboxException {
        PlanCompiler.HostFacts host = PlanCompiler.HostFacts.withoutMounts(leasedId); // a run sees the session's mounts
        Launcher.SetupCompiler setup = placement -> PlanCompiler.sessionRun(layout, run, keeperPid, keeperStart, host, placement,
                options.persistentWorkDir(), resetWorkDir);
        File directory = pb.directory() == null ? new File(WORK_DIR) : pb.directory();
        Map<String, String> environment = run.environmentFor(pb, WORK_DIR);
        try {
            return Launcher.start(LaunchRequest.inSession(run, Sandbox.execPlan(pb.command(), environment, directory),
                    pb, capture, setup, cgroup));
        } catch (SandboxSetupException e) {
            throw HostDiagnostics.explainStart(e, layout, pb.command(), environment);
        }
    }

    /** The 22nd field of {@code /proc/PID/stat}: when the process started, in clock ticks after boot. */
    static long startTime(int pid) throws SandboxException {
        try {
            return startTimeOf(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat")));
        } catch (IOException | RuntimeException e) {
            throw new SandboxException("the session's PID 1 (pid " + pid + ") is gone: " + e, e);
        }
    }

    /** The start time in a {@code /proc/PID/stat} line. */
    static long startTimeOf(String stat) {
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // the command name may hold anything
        return Long.parseLong(after[19].trim()); // fields 3.. after it: starttime is the 22nd
    }

    private void checkOpen() {
        if (closed || keeper.exited().isDone()) {
            throw new IllegalStateException("the session is closed");
        }
    }

    /** The session's own cgroup, if it has one (tests). */
    Optional<SandboxCgroup> cgroup() {
        return cgroup;
    }

    /** {@return the options it was opened with} */
    public Options options() {
        return options;
    }

    /**
     * Kills everything in the sandbox and removes it, its cgroups included; waits until it is gone.
     * Idempotent. A run still going ends {@link Outcome.Status#SIGNALED} by {@code SIGKILL} (with
     * its session's PID 1), not as a program that exited by itself.
     *
     * @throws UncheckedIOException wrapping a {@link SandboxException} if the session's cgroup
     *     cannot be removed
     */
    @Override
    public void close() {
        List<IsolatedProcess> live;
        boolean interrupted = false;
        synchronized (lock) {
            closed = true;
            keeper.kill(); // PID 1 of the runs' pid namespace: every run dies with it
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUNS_END_SECONDS);
            while (starting > 0 && System.nanoTime() < deadline) {
                try {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            live = List.copyOf(runs);
            runs.clear();
        }
        keeper.exited().handle((r, e) -> null).join();
        keeper.closeFds();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUNS_END_SECONDS);
        for (IsolatedProcess r : live) { // each removes its cgroup, in the session's, as it ends
            while (true) {
                try {
                    r.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (IllegalStateException e) {
                    break; // its monitor failed; it still removed its cgroup
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        IOException failure = null;
        for (Optional<SandboxCgroup> cg : List.of(keeperCgroup, cgroup)) {
            if (cg.isPresent()) {
                try {
                    cg.get().close();
                } catch (IOException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
        }
        if (failure != null) {
            throw new UncheckedIOException(new SandboxException("cannot remove the session's cgroup: " + failure.getMessage(), failure));
        }
    }

    /**
     * How a session keeps its files and its memory: immutable, thread-safe; built by {@link #builder()}.
     * Given to {@link Sandbox#open(Options)}.
     *
     * @since 0.1.0
     */
    public static final class Options {
        private static final ByteSize DEFAULT_WORK_SIZE = ByteSize.mb(256);
        private static final ByteSize DEFAULT_COPY_LIMIT = ByteSize.mib(64);

        private final ByteSize workSize;
        private final Optional<ByteSize> memoryLimit;
        private final boolean persistentWorkDir;
        private final ByteSize copyLimit;

        private Options(Builder b) {
            this.workSize = b.workSize;
            this.memoryLimit = b.memoryLimit;
            this.persistentWorkDir = b.persistentWorkDir;
            this.copyLimit = b.copyLimit;
        }

        /**
         * A builder with the defaults: a 256 MiB work directory, fresh for each run; the policy's memory limit.
         *
         * @return a new builder
         */
        public static Builder builder() {
            return new Builder();
        }

        /**
         * A builder with these options.
         *
         * @return a new builder
         */
        public Builder toBuilder() {
            Builder b = new Builder();
            b.workSize = workSize;
            b.memoryLimit = memoryLimit;
            b.persistentWorkDir = persistentWorkDir;
            b.copyLimit = copyLimit;
            return b;
        }

        /** {@return the size of the {@value #WORK_DIR} tmpfs (each run's, or the session's one if persistent)} */
        public ByteSize workSize() {
            return workSize;
        }

        /** {@return the session's memory limit; empty for the policy's {@link Sandbox.Builder#memoryLimit} (if any)} */
        public Optional<ByteSize> memoryLimit() {
            return memoryLimit;
        }

        /** {@return whether every run shares one {@value #WORK_DIR} whose files outlive the runs} */
        public boolean persistentWorkDir() {
            return persistentWorkDir;
        }

        /** {@return the most {@link SandboxSession#copyIn} and {@link SandboxSession#copyOut} copy in one call (default 64 MiB)} */
        public ByteSize copyLimit() {
            return copyLimit;
        }

        @Override
        public String toString() {
            return "SandboxSession.Options{workSize=" + workSize + ", memoryLimit=" + memoryLimit.map(ByteSize::toString).orElse("policy's")
                    + ", persistentWorkDir=" + persistentWorkDir + ", copyLimit=" + copyLimit + "}";
        }

        /**
         * Builds {@link Options}; not thread-safe.
         *
         * @since 0.1.0
         */
        public static final class Builder {
            private ByteSize workSize = DEFAULT_WORK_SIZE;
            private Optional<ByteSize> memoryLimit = Optional.empty();
            private boolean persistentWorkDir;
            private ByteSize copyLimit = DEFAULT_COPY_LIMIT;

            private Builder() {}

            /**
             * The most one {@link SandboxSession#copyIn} or {@link SandboxSession#copyOut} copies
             * (default 64 MiB): a larger file is refused, not truncated. The work directory's own
             * size ({@link #workSize}) bounds what fits in it.
             *
             * @param limit the limit
             * @return this builder
             */
            public Builder copyLimit(ByteSize limit) {
                copyLimit = Objects.requireNonNull(limit, "copyLimit");
                return this;
            }

            /**
             * The size of the {@value #WORK_DIR} tmpfs, at least 4 KiB (default 256 MiB); past it a
             * write fails with ENOSPC. Unused with a {@link Sandbox.Builder#bindWritable} at {@value #WORK_DIR}.
             *
             * @param size the size
             * @return this builder
             * @throws IllegalArgumentException if below 4 KiB
             */
            public Builder workSize(ByteSize size) {
                workSize = Sandbox.Builder.tmpfsSize(size, "workSize");
                return this;
            }

            /**
             * The memory of the whole session, at least 1 MiB: its files (a persistent
             * {@value #WORK_DIR}, each live run's tmpfs files) and every live run's memory together.
             * Default: the policy's {@link Sandbox.Builder#memoryLimit}. The session's swap limit is
             * the policy's {@link Sandbox.Builder#swapLimit} (default: no swap beyond it).
             *
             * @param limit the limit
             * @return this builder
             * @throws IllegalArgumentException if below 1 MiB
             */
            public Builder memoryLimit(ByteSize limit) {
                Objects.requireNonNull(limit, "memoryLimit");
                if (limit.bytes() < 1024 * 1024) {
                    throw new IllegalArgumentException("memoryLimit must be at least 1 MiB, was " + limit);
                }
                memoryLimit = Optional.of(limit);
                return this;
            }

            /**
             * Every run shares the session's one {@value #WORK_DIR}, whose files outlive the runs
             * (a judge compiles in one run and executes the binary in the next) until {@link
             * SandboxSession#resetWorkDir()}; they count towards the session's memory limit.
             * {@code /tmp}, {@code /dev/shm} and other tmpfs mounts stay fresh for each run.
             *
             * @return this builder
             */
            public Builder persistentWorkDir() {
                persistentWorkDir = true;
                return this;
            }

            /**
             * Builds the options.
             *
             * @return the options
             */
            public Options build() {
                return new Options(this);
            }
        }
    }
}
