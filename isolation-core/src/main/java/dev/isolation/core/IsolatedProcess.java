package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.Capture;
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

/**
 * A program running in a sandbox. Behaves like the {@link Process} it extends: streams, {@code
 * waitFor}, {@code onExit}, {@code destroy}, plus the sandbox's {@link #outcome()}.
 *
 * <p>Thread-safe. {@link #close()} is idempotent: it kills whatever is left in the sandbox, waits
 * until it is gone and releases every descriptor. The process has ended when everything in the
 * sandbox has, not only the main program.
 *
 * <p>Dependent actions of {@link #outcome()} and {@link #onExit()} that are not {@code *Async}
 * run on the library's single monitor thread: keep them short, or use the async variants.
 */
public final class IsolatedProcess extends Process implements AutoCloseable {
    private final HelperProcess helper;
    private final Optional<SandboxCgroup> cgroup;
    private final OutputStream stdin;
    private final InputStream stdout;
    private final InputStream stderr;
    private final CompletableFuture<Outcome> outcome;
    private final int pid;
    private final Optional<Duration> cpuTimeLimit;
    private volatile boolean outputExceeded;
    private IOException cleanupFailure; // guarded by this

    IsolatedProcess(HelperProcess helper, Optional<SandboxCgroup> cgroup, OutputStream stdin, InputStream stdout,
            InputStream stderr, Optional<Capture> stdoutCapture, Optional<Capture> stderrCapture, Sandbox sandbox) {
        this.helper = helper;
        this.cgroup = cgroup;
        this.stdin = stdin;
        Optional<Long> limit = sandbox.outputLimit().map(ByteSize::bytes);
        this.stdout = limit.<InputStream>map(l -> new LimitedInputStream(stdout, l, this::outputLimitExceeded)).orElse(stdout);
        this.stderr = limit.<InputStream>map(l -> new LimitedInputStream(stderr, l, this::outputLimitExceeded)).orElse(stderr);
        this.pid = helper.programPid();
        this.cpuTimeLimit = sandbox.cpuTimeLimit();
        CompletableFuture<byte[]> out = stdoutCapture.map(Capture::collected).orElse(CompletableFuture.completedFuture(new byte[0]));
        CompletableFuture<byte[]> err = stderrCapture.map(Capture::collected).orElse(CompletableFuture.completedFuture(new byte[0]));
        this.outcome = CompletableFuture.allOf(helper.exited(), out, err).handle((v, failure) -> {
            if (failure != null) { // the monitor failed: still remove the cgroup, then report the failure
                cgroup.ifPresent(cg -> closeQuietly(cg));
                throw failure instanceof CompletionException c ? c : new CompletionException(failure);
            }
            return finish(helper.exited().join(), out.join(), err.join(),
                    stdoutCapture.map(Capture::exceeded).orElse(false) || stderrCapture.map(Capture::exceeded).orElse(false));
        });
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

    /** On the monitor thread, once the helper is gone: the cgroup's figures, then its removal. */
    private Outcome finish(ExitReport r, byte[] out, byte[] err, boolean captureExceeded) {
        Optional<CgroupStats> stats = Optional.empty();
        if (cgroup.isPresent()) {
            SandboxCgroup cg = cgroup.get();
            try {
                stats = Optional.of(cg.stats());
            } catch (IOException e) {
                cleanupFailure(e);
            }
            closeQuietly(cg); // also kills what escaped the program's session (without a pid namespace)
        }
        return new Outcome(r, stats, cgroup.map(SandboxCgroup::appliedLimits).orElse(List.of()),
                cgroup.map(SandboxCgroup::notApplied).orElse(List.of()), captureExceeded || outputExceeded, cpuTimeLimit,
                out, err);
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
     * @implNote cgroup v2 {@code cgroup.freeze} (Linux 5.2+), or the v1 freezer controller.
     */
    public void pause() throws SandboxException {
        try {
            ownCgroup("pause()").freeze();
        } catch (IOException e) {
            throw new SandboxException("cannot pause the sandbox: " + e.getMessage(), e);
        }
    }

    /** Thaws a sandbox frozen by {@link #pause()}. */
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
     * @throws IllegalStateException if the sandbox has no cgroup, or has ended (see {@link Outcome#cgroupStats()})
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

    /** Completes with the outcome once everything in the sandbox has ended. */
    public CompletableFuture<Outcome> outcome() {
        return outcome;
    }

    /** The host pid of the main program (not of the sandbox's init). */
    @Override
    public long pid() {
        return pid;
    }

    /** The program's standard input, if it was {@link ProcessBuilder.Redirect#PIPE piped}; else a null stream. */
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
            return outcome.get().exitValue();
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        try {
            outcome.get(timeout, unit);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    private static IllegalStateException failure(Throwable cause) {
        return new IllegalStateException("the sandbox's monitor failed: " + cause.getMessage(), cause);
    }

    /**
     * The exit code, or 128 + the signal number if a signal ended the program.
     *
     * @throws IllegalThreadStateException if the sandbox is still running
     */
    @Override
    public int exitValue() {
        if (!outcome.isDone()) {
            throw new IllegalThreadStateException("sandbox still running (pid " + pid + ")");
        }
        try {
            return outcome.join().exitValue();
        } catch (CompletionException e) {
            throw failure(e.getCause());
        }
    }

    @Override
    public boolean isAlive() {
        return !outcome.isDone();
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
        if (!outcome.isDone()) {
            helper.kill();
        }
        boolean interrupted = false;
        while (true) {
            try {
                outcome.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                failure = new SandboxException("the sandbox's monitor failed: " + e.getCause().getMessage(), e.getCause());
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
        return "IsolatedProcess[pid=" + pid + (outcome.isDone() ? ", ended" : ", running") + "]";
    }
}
