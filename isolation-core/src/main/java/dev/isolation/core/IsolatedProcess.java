package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.core.internal.launch.Capture;
import dev.isolation.core.internal.launch.CapturedBytes;
import dev.isolation.core.internal.launch.Completions;
import dev.isolation.core.internal.launch.ExitReport;
import dev.isolation.core.internal.launch.HelperProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A program running in a sandbox. Behaves like the {@link Process} it extends: streams, {@code
 * waitFor}, {@code onExit}, {@code destroy}, plus the sandbox's {@link #outcome()}.
 *
 * <p>Thread-safe. {@link #close()} is idempotent: it kills whatever is left in the sandbox, waits
 * until it is gone and releases every descriptor. The process has ended when everything in the
 * sandbox has, not only the main program.
 *
 * <p>{@link #outcome()} and {@link #onExit()} complete on the sandbox's {@linkplain
 * Sandbox.Builder#completionExecutor completion executor}: by default the library's pool of daemon
 * threads named {@code isolation-completion-N}, one for each completion in flight (created when
 * none is idle, ended after 60 s without work), as the JDK's process reaper. Their dependent
 * actions that are not {@code *Async} run there too, so an action that blocks delays no other
 * sandbox. They never run on the thread that watches all sandboxes ({@code isolation-monitor}).
 *
 * <p>{@link #waitFor()} is {@link Process#waitFor()}'s contract: an interrupt makes it throw
 * {@link InterruptedException} at once and leaves the program running (it belongs to whoever
 * holds this handle; {@link #close()} kills it). {@link Sandbox#run}, which owns its program,
 * kills it when interrupted instead.
 *
 * <p><b>The program as the host sees it.</b> {@link #pid()} is the program's host pid (inside a
 * pid namespace it has another), {@link #toHandle()} is {@code ProcessHandle.of(pid())}, {@link
 * #info()} and {@link #children()} are that handle's, as for a process of {@link
 * ProcessBuilder#start()}; {@link #descendants()} is every process of the sandbox but the program
 * (see there). Every other method keeps {@link Process}'s contract as {@code ProcessBuilder.start()}
 * implements it, with one difference: the process has terminated when the whole sandbox has, so
 * {@link #isAlive()}, {@link #waitFor()}, {@link #exitValue()} and {@link #onExit()} speak of the
 * sandbox, and {@link #exitValue()} is the program's (the code, or 128 + the signal).
 *
 * @since 0.1.0
 */
public final class IsolatedProcess extends Process implements AutoCloseable {
    private final HelperProcess helper;
    private final Optional<SandboxCgroup> cgroup;
    private final Optional<SharedCgroup> shared;
    private final OutputStream stdin;
    private final InputStream stdout;
    private final InputStream stderr;
    /** The helper is gone and the captures are closed: the monitor thread (or a capture's) completes it. */
    private final CompletableFuture<Void> gone;
    /**
     * Completed once the sandbox is gone and its outcome is built ({@link #completeEnded}): by a
     * thread waiting for it, else by the library's pool. What this handle itself waits for.
     */
    private final CompletableFuture<Outcome> ended = new CompletableFuture<>();
    /** Whoever sets it builds the outcome: a waiting thread or the pool, once. */
    private final AtomicBoolean completing = new AtomicBoolean();
    /** Threads in {@link #awaitEnded}: while there is one, the pool is not asked to build the outcome. */
    private final AtomicInteger waiters = new AtomicInteger();
    /**
     * Whether a waiting thread may build the outcome: only without a cgroup, whose reading and
     * removal is file I/O that an interrupt of that thread would break; the pool does it then.
     */
    private final boolean waiterCompletes;
    /** {@link #ended}, or its relay to the caller's completion executor: what callers' actions depend on. */
    private final CompletableFuture<Outcome> outcome;
    private final int pid;
    private final Optional<Duration> cpuTimeLimit;
    private final Optional<Capture> stdoutCapture;
    private final Optional<Capture> stderrCapture;
    private volatile boolean outputExceeded;
    private volatile boolean killedForInterrupt;
    private volatile boolean failureReported; // by awaitOwned, in its outcome: close() need not throw it again
    private IOException cleanupFailure; // guarded by this
    private Lineage lineage; // guarded by this; taken at the first call that needs it

    /**
     * The program's handle and its sandbox's reaper: the process that the program's orphans are
     * re-parented to (the sandbox's init with a pid namespace, a session run's reaper, else the
     * monitor, a child subreaper), which is the program's parent.
     */
    private record Lineage(ProcessHandle program, Optional<ProcessHandle> reaper) {}

    IsolatedProcess(HelperProcess helper, Optional<SandboxCgroup> cgroup, OutputStream stdin, InputStream stdout,
            InputStream stderr, Optional<Capture> stdoutCapture, Optional<Capture> stderrCapture, Sandbox sandbox) {
        this(helper, cgroup, Optional.empty(), stdin, stdout, stderr, stdoutCapture, stderrCapture, sandbox);
    }

    /** With {@code shared}: a pooled run's figures come from its pooled sandbox's cgroup, which it reads but never removes. */
    IsolatedProcess(HelperProcess helper, Optional<SandboxCgroup> cgroup, Optional<SharedCgroup> shared, OutputStream stdin,
            InputStream stdout, InputStream stderr, Optional<Capture> stdoutCapture, Optional<Capture> stderrCapture, Sandbox sandbox) {
        this.helper = helper;
        this.cgroup = cgroup;
        this.shared = shared;
        this.stdin = stdin;
        Optional<Long> limit = sandbox.outputLimit().map(ByteSize::bytes);
        this.stdout = limit.<InputStream>map(l -> new LimitedInputStream(stdout, l, this::outputLimitExceeded)).orElse(stdout);
        this.stderr = limit.<InputStream>map(l -> new LimitedInputStream(stderr, l, this::outputLimitExceeded)).orElse(stderr);
        this.pid = helper.programPid();
        this.cpuTimeLimit = sandbox.cpuTimeLimit();
        CompletableFuture<Void> out = stdoutCapture.map(Capture::collected).orElse(CompletableFuture.completedFuture(null));
        CompletableFuture<Void> err = stderrCapture.map(Capture::collected).orElse(CompletableFuture.completedFuture(null));
        // the monitor thread completes these three; what comes after never runs on it: on the thread
        // waiting for the sandbox if there is one (one hand-over fewer), else on the library's pool
        this.gone = CompletableFuture.allOf(helper.exited(), out, err);
        this.waiterCompletes = cgroup.isEmpty();
        gone.whenComplete((v, failure) -> {
            if (!waiterCompletes || waiters.get() == 0) {
                Completions.run(() -> completeEnded(stdoutCapture, stderrCapture, true));
            }
        });
        this.stdoutCapture = stdoutCapture;
        this.stderrCapture = stderrCapture;
        this.outcome = sandbox.completionExecutor().map(e -> relay(ended, Completions.orLibrary(e))).orElse(ended);
    }

    /** A future completed on {@code executor} once {@code from} completes, so that its dependents run there. */
    private static CompletableFuture<Outcome> relay(CompletableFuture<Outcome> from, java.util.concurrent.Executor executor) {
        CompletableFuture<Outcome> to = new CompletableFuture<>();
        from.whenComplete((o, e) -> executor.execute(() -> {
            if (e != null) {
                to.completeExceptionally(e);
            } else {
                to.complete(o);
            }
        }));
        return to;
    }

    /**
     * Builds the outcome and completes {@link #ended}, once {@link #gone}: the first caller does
     * (a waiting thread where {@link #waiterCompletes}, or the pool). A waiting thread completes it
     * itself only while nothing depends on it (an {@code onExit()} action, a relay to the
     * completion executor): those run on the pool, as always.
     */
    private void completeEnded(Optional<Capture> stdoutCapture, Optional<Capture> stderrCapture, boolean onPool) {
        if (!completing.compareAndSet(false, true)) {
            return;
        }
        Throwable failure = gone.isCompletedExceptionally() ? gone.handle((v, e) -> e).join() : null;
        Outcome o;
        try {
            o = complete(failure, stdoutCapture, stderrCapture);
        } catch (Throwable e) {
            Throwable encoded = e instanceof CompletionException ? e : new CompletionException(e);
            if (onPool || ended.getNumberOfDependents() == 0) {
                ended.completeExceptionally(encoded);
            } else {
                Completions.run(() -> ended.completeExceptionally(encoded));
            }
            return;
        }
        if (onPool || ended.getNumberOfDependents() == 0) {
            ended.complete(o);
        } else {
            Completions.run(() -> ended.complete(o));
        }
    }

    /**
     * Waits until the sandbox is gone, up to {@code nanos} (negative: no limit), and builds its
     * outcome on this thread if it may ({@link #waiterCompletes}) and the pool does not already;
     * then waits for {@link #ended}.
     */
    private Outcome awaitEnded(long nanos) throws InterruptedException, ExecutionException, TimeoutException {
        if (!waiterCompletes) {
            return nanos < 0 ? ended.get() : ended.get(nanos, TimeUnit.NANOSECONDS);
        }
        long deadline = System.nanoTime() + nanos;
        waiters.incrementAndGet();
        try {
            try {
                if (nanos < 0) {
                    gone.get();
                } else {
                    gone.get(nanos, TimeUnit.NANOSECONDS);
                }
            } catch (ExecutionException e) {
                // complete() turns the monitor's failure into the outcome's
            }
            completeEnded(stdoutCapture, stderrCapture, false);
        } finally {
            // the last waiter to leave, interrupted or timed out after the sandbox was gone, hands the work to the pool
            if (waiters.decrementAndGet() == 0 && gone.isDone() && !completing.get()) {
                Completions.run(() -> completeEnded(stdoutCapture, stderrCapture, true));
            }
        }
        return nanos < 0 ? ended.get() : ended.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private Outcome awaitEnded() throws InterruptedException, ExecutionException {
        try {
            return awaitEnded(-1);
        } catch (TimeoutException e) {
            throw new AssertionError(e); // no limit
        }
    }

    /** Once the helper is gone and the captures are closed, on a waiting thread or the library's pool. */
    private Outcome complete(Throwable failure, Optional<Capture> stdoutCapture, Optional<Capture> stderrCapture) {
        try {
            if (failure != null) { // the monitor failed for this sandbox: still remove the cgroup, then report it
                cgroup.ifPresent(this::closeQuietly);
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                throw new CompletionException(new SandboxException("the sandbox's monitor failed: " + cause, cause));
            }
            boolean budget = Stream.of(stdoutCapture, stderrCapture).flatMap(Optional::stream).anyMatch(c -> c.cut() == Capture.Cut.BUDGET);
            boolean limit = Stream.of(stdoutCapture, stderrCapture).flatMap(Optional::stream).anyMatch(c -> c.cut() == Capture.Cut.OUTPUT_LIMIT);
            return finish(helper.exited().join(), stdoutCapture.map(Capture::bytes).orElse(CapturedBytes.EMPTY),
                    stderrCapture.map(Capture::bytes).orElse(CapturedBytes.EMPTY), limit, budget);
        } finally {
            stdoutCapture.ifPresent(Capture::release);
            stderrCapture.ifPresent(Capture::release);
        }
    }

    private void closeQuietly(SandboxCgroup cg) {
        try {
            cg.close();
        } catch (IOException e) {
            cleanupFailure(e);
        }
    }

    private void outputLimitExceeded() {
        outputExceeded = true;
        helper.kill();
    }

    /** Kills the sandbox because the thread waiting for it in {@code run()} was interrupted. */
    void killForInterrupt() {
        killedForInterrupt = true;
        helper.kill();
    }

    /**
     * Writes {@code bytes} to the program's standard input and closes it. More than a pipe surely
     * holds (one page) is written from the library's pool, so that the caller never blocks on a
     * program that does not read: it stays free to notice an interrupt.
     */
    void feed(byte[] bytes) {
        if (bytes.length <= 4096) {
            writeStdin(bytes);
        } else {
            Completions.run(() -> writeStdin(bytes));
        }
    }

    private void writeStdin(byte[] bytes) {
        try (OutputStream s = stdin) {
            s.write(bytes);
        } catch (IOException e) {
            // the program exited or closed its input without reading it all
        }
    }

    /**
     * The outcome, for {@link Sandbox#run}, which owns the program: an interrupt kills the sandbox,
     * waits until it is gone and returns {@link Outcome.Status#INTERRUPTED} with the thread's
     * interrupt status set; a failure of the library is {@link Outcome.Status#INTERNAL_ERROR}.
     */
    Outcome awaitOwned() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return awaitEnded();
                } catch (InterruptedException e) {
                    if (!interrupted) {
                        interrupted = true;
                        killForInterrupt();
                    }
                } catch (ExecutionException e) {
                    failureReported = true;
                    return Outcome.internalError(e.getCause() instanceof SandboxException s ? s
                            : new SandboxException("the sandbox's monitor failed: " + e.getCause(), e.getCause()));
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The cgroup's figures, then its removal. */
    private Outcome finish(ExitReport r, CapturedBytes out, CapturedBytes err, boolean captureExceeded, boolean budgetExceeded) {
        Optional<CgroupStats> stats = Optional.empty();
        if (shared.isPresent()) {
            try {
                stats = Optional.of(shared.get().sinceBaseline());
            } catch (IOException e) {
                cleanupFailure(e);
            }
        }
        if (cgroup.isPresent()) {
            SandboxCgroup cg = cgroup.get();
            try {
                stats = Optional.of(cg.stats());
            } catch (IOException e) {
                cleanupFailure(e);
            } finally {
                closeQuietly(cg); // also kills what escaped the program's session (without a pid namespace)
            }
        }
        Optional<SandboxCgroup> limits = cgroup.or(() -> shared.map(SharedCgroup::cgroup));
        return new Outcome(r, stats, limits.map(SandboxCgroup::appliedLimits).orElse(List.of()),
                limits.map(SandboxCgroup::notApplied).orElse(List.of()), captureExceeded || outputExceeded, budgetExceeded,
                killedForInterrupt, cpuTimeLimit, out, err);
    }

    private synchronized void cleanupFailure(IOException e) {
        if (cleanupFailure == null) {
            cleanupFailure = e;
        } else {
            cleanupFailure.addSuppressed(e);
        }
    }

    /**
     * Freezes every process of the sandbox and returns once the kernel reports it frozen.
     *
     * @throws IllegalStateException if the sandbox has no cgroup (no limit and no {@code cgroup()})
     * @throws SandboxException if the cgroup cannot be frozen
     * @implNote cgroup v2 {@code cgroup.freeze} (Linux 5.2+), or the v1 freezer controller.
     */
    public void pause() throws SandboxException {
        try {
            ownCgroup("pause()").freeze();
        } catch (IOException e) {
            throw new SandboxException("cannot pause the sandbox: " + e.getMessage(), e);
        }
    }

    /**
     * Thaws a sandbox frozen by {@link #pause()}.
     *
     * @throws SandboxException if the cgroup cannot be thawed
     */
    public void resume() throws SandboxException {
        try {
            ownCgroup("resume()").thaw();
        } catch (IOException e) {
            throw new SandboxException("cannot resume the sandbox: " + e.getMessage(), e);
        }
    }

    /**
     * The sandbox's cgroup figures now: CPU, current and peak memory, pids, OOM kills, throttling.
     *
     * @return the figures now
     * @throws IllegalStateException if the sandbox has no cgroup, or has ended (see {@link Outcome#cgroupStats()})
     * @throws SandboxException if the cgroup's files cannot be read
     */
    public CgroupStats stats() throws SandboxException {
        try {
            return ownCgroup("stats()").stats();
        } catch (IOException e) {
            throw new SandboxException("cannot read the sandbox's cgroup: " + e.getMessage(), e);
        }
    }

    private SandboxCgroup ownCgroup(String what) {
        return cgroup.orElseThrow(() -> new IllegalStateException(
                what + " needs a cgroup: set a limit or Sandbox.Builder.cgroup()"));
    }

    /**
     * Completes with the outcome once everything in the sandbox has ended and its cgroup is removed;
     * exceptionally with a {@link SandboxException} if watching this sandbox failed in the library.
     *
     * @return the outcome, once the sandbox has ended
     */
    public CompletableFuture<Outcome> outcome() {
        return outcome;
    }

    /** The host pid of the main program (not of the sandbox's init). */
    @Override
    public long pid() {
        return pid;
    }

    /**
     * The program's {@link ProcessHandle}, as the host sees it: {@code ProcessHandle.of(pid())},
     * equal to any other handle of that process, taken at the first call of this method, {@link
     * #info()}, {@link #children()} or {@link #descendants()}. If the program had already ended by
     * then, a handle that is not {@linkplain ProcessHandle#isAlive() alive}, has no parent, children
     * or information, whose {@code onExit()} is complete and whose {@code destroy()} does nothing.
     *
     * <p>The program is not the JVM's child, so the handle's {@link ProcessHandle#onExit() onExit()}
     * notices its end by polling, as the JDK does for every process that is not its child (first
     * after 0.3 s, then less and less often, at most every 5 s): {@link #onExit()} of this object
     * completes at once. {@link ProcessHandle#destroy() destroy()} sends the program SIGTERM, as
     * {@link #destroy()} does; {@link ProcessHandle#destroyForcibly() destroyForcibly()} sends SIGKILL
     * to the program only, and the sandbox's monitor then kills and reaps everything else, as it
     * does whenever the program ends (the outcome says {@code SIGNALED}, not {@linkplain
     * Outcome#killed() killed}). Its {@link ProcessHandle#parent() parent()} is one of the
     * library's processes (the sandbox's init, a session run's reaper, or the sandbox's monitor):
     * signal the program, not it.
     */
    @Override
    public ProcessHandle toHandle() {
        return lineage().program();
    }

    /** The program's {@link ProcessHandle.Info}: {@code toHandle().info()}; empty once the program has ended. */
    @Override
    public ProcessHandle.Info info() {
        return lineage().program().info();
    }

    /**
     * A snapshot of the program's direct children, {@code toHandle().children()}: the processes
     * whose parent is the program, as {@link Process#children()} means. What a child left behind
     * when it ended has another parent: see {@link #descendants()}.
     */
    @Override
    public Stream<ProcessHandle> children() {
        return lineage().program().children();
    }

    /**
     * A snapshot of every process of the sandbox but the program and the library's own (the
     * sandbox's init, a session run's reaper, the monitor): everything the program started,
     * directly or not, that is still running, including what was re-parented away from the program
     * when its parent ended (a daemon that forked twice, or left with {@code setsid}), which {@code
     * toHandle().descendants()} no longer lists. Empty once the sandbox has ended: nothing outlives
     * it.
     *
     * <p>This is more than {@link Process#descendants()} gives for a process of {@link
     * ProcessBuilder#start()}, whose orphans go to the host's init and out of sight; in a sandbox
     * they go to the sandbox's init (with {@link Sandbox.Builder#pidNs()}), to a session run's
     * reaper, or to the sandbox's monitor, and stay the sandbox's until it ends.
     */
    @Override
    public Stream<ProcessHandle> descendants() {
        Optional<ProcessHandle> reaper = lineage().reaper();
        if (reaper.isEmpty() || !isAlive()) {
            return Stream.empty(); // once the monitor is reaped, the reaper's pid could be another process's
        }
        return reaper.get().descendants().filter(h -> h.pid() != pid);
    }

    private synchronized Lineage lineage() {
        if (lineage == null) {
            Optional<ProcessHandle> program = isAlive() ? ProcessHandle.of(pid) : Optional.empty();
            Optional<ProcessHandle> reaper = program.flatMap(ProcessHandle::parent).filter(IsolatedProcess::startedByThisJvm);
            // a program that ended (and whose pid another process may have taken) is not alive
            lineage = reaper.isPresent() ? new Lineage(program.get(), reaper) : new Lineage(new EndedProgram(pid), Optional.empty());
        }
        return lineage;
    }

    /**
     * Whether {@code reaper} is this JVM's child or grandchild or great-grandchild, as a sandbox's
     * reaper is: its monitor (the JVM's child), its init (the monitor's), or a session run's
     * reaper (below the monitor's child that joined the session). Not so if the program's pid
     * was taken by another process.
     */
    private static boolean startedByThisJvm(ProcessHandle reaper) {
        long jvm = ProcessHandle.current().pid();
        Optional<ProcessHandle> h = reaper.parent();
        for (int i = 0; i < 3 && h.isPresent(); i++, h = h.get().parent()) {
            if (h.get().pid() == jvm) {
                return true;
            }
        }
        return false;
    }

    /**
     * The program's standard input, if it was {@link ProcessBuilder.Redirect#PIPE piped}; else, as
     * for {@link ProcessBuilder#start()}, a null output stream, whose writes throw {@link IOException}.
     */
    @Override
    public OutputStream getOutputStream() {
        return stdin;
    }

    @Override
    public InputStream getInputStream() {
        return stdout;
    }

    @Override
    public InputStream getErrorStream() {
        return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
        try {
            return awaitEnded().exitValue();
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        try {
            awaitEnded(Math.max(0, unit.toNanos(timeout)));
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    private static IllegalStateException failure(Throwable cause) {
        return new IllegalStateException(cause instanceof SandboxException ? cause.getMessage()
                : "the sandbox's monitor failed: " + cause, cause);
    }

    /**
     * The exit code, or 128 + the signal number if a signal ended the program.
     *
     * @throws IllegalThreadStateException if the sandbox is still running
     */
    @Override
    public int exitValue() {
        if (!ended.isDone()) {
            throw new IllegalThreadStateException("sandbox still running (pid " + pid + ")");
        }
        try {
            return ended.join().exitValue();
        } catch (CompletionException e) {
            throw failure(e.getCause());
        }
    }

    @Override
    public boolean isAlive() {
        return !ended.isDone();
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return outcome.handle((o, e) -> this);
    }

    /** Sends SIGTERM to the main program (through the sandbox's init, which forwards it). */
    @Override
    public void destroy() {
        helper.terminate();
    }

    /** Kills everything in the sandbox with SIGKILL. */
    @Override
    public IsolatedProcess destroyForcibly() {
        helper.kill();
        return this;
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    /** Kills whatever is left, waits until the sandbox is gone and closes the streams. */
    @Override
    public void close() throws IOException {
        IOException failure = null;
        if (!ended.isDone()) {
            helper.kill();
        }
        boolean interrupted = false;
        while (true) {
            try {
                awaitEnded();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                if (failureReported) {
                    break;
                }
                failure = new SandboxException(e.getCause() instanceof SandboxException ? e.getCause().getMessage()
                        : "the sandbox's monitor failed: " + e.getCause(), e.getCause());
                break;
            }
        }
        helper.closeFds(); // already closed by the monitor when the sandbox ended
        for (java.io.Closeable c : new java.io.Closeable[] {stdin, stdout, stderr}) {
            try {
                c.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (cleanupFailure != null) {
                if (failure == null) {
                    failure = new SandboxException("cannot remove the sandbox's cgroup: " + cleanupFailure.getMessage(), cleanupFailure);
                } else {
                    failure.addSuppressed(cleanupFailure);
                }
                cleanupFailure = null;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "IsolatedProcess[pid=" + pid + (ended.isDone() ? ", ended" : ", running") + "]";
    }

    /**
     * The handle of a program that had ended before its handle was asked for: {@link
     * ProcessHandle#of(long)} has none for a pid that is gone. Equal only to such a handle of the same pid.
     */
    private static final class EndedProgram implements ProcessHandle {
        private static final Info NO_INFO = new Info() {
            @Override
            public Optional<String> command() {
                return Optional.empty();
            }

            @Override
            public Optional<String> commandLine() {
                return Optional.empty();
            }

            @Override
            public Optional<String[]> arguments() {
                return Optional.empty();
            }

            @Override
            public Optional<java.time.Instant> startInstant() {
                return Optional.empty();
            }

            @Override
            public Optional<Duration> totalCpuDuration() {
                return Optional.empty();
            }

            @Override
            public Optional<String> user() {
                return Optional.empty();
            }

            @Override
            public String toString() {
                return "[]";
            }
        };

        private final long pid;

        EndedProgram(long pid) {
            this.pid = pid;
        }

        @Override
        public long pid() {
            return pid;
        }

        @Override
        public Optional<ProcessHandle> parent() {
            return Optional.empty();
        }

        @Override
        public Stream<ProcessHandle> children() {
            return Stream.empty();
        }

        @Override
        public Stream<ProcessHandle> descendants() {
            return Stream.empty();
        }

        @Override
        public Info info() {
            return NO_INFO;
        }

        @Override
        public CompletableFuture<ProcessHandle> onExit() {
            return CompletableFuture.completedFuture(this);
        }

        @Override
        public boolean supportsNormalTermination() {
            return true;
        }

        @Override
        public boolean destroy() {
            return false;
        }

        @Override
        public boolean destroyForcibly() {
            return false;
        }

        @Override
        public boolean isAlive() {
            return false;
        }

        @Override
        public int compareTo(ProcessHandle other) {
            return Long.compare(pid, other.pid());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof EndedProgram e && e.pid == pid;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(pid);
        }

        @Override
        public String toString() {
            return Long.toString(pid);
        }
    }
}
