package dev.isolation.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits that end. A pipe read is not interruptible, so a test that reads a sandbox's output before
 * it knows the sandbox ended would hang the build (not fail it) when a limit or a kill is broken.
 * Here output is drained by daemon threads while the test waits a bounded time for the outcome;
 * on timeout the caller's try-with-resources closes the process, which kills the sandbox and so
 * ends the reads.
 */
final class Bounded {
    /**
     * How long a sandboxed test program may take; far above what any of them needs: 30 s, and 180 s
     * in the emulated guests of {@code .ci/vm-tests.sh} (no hardware virtualisation: Java runs about
     * ten times slower there, and a child JVM that starts sandboxes took over 30 s once).
     */
    static final Duration WAIT = Duration.ofSeconds(System.getenv("RVM_GUEST") != null ? 180 : 30);

    /**
     * How far past a time limit a killed run may have gone, on any host: the monitor checks the CPU
     * time every 10 ms and the wall time at its deadline, and acts when the kernel next runs it. A
     * second is far more than that takes on a busy machine (a few milliseconds) and far less than
     * an unenforced limit would give (the test programs run for ever, or ten times the limit).
     */
    static final Duration MONITOR_SLACK = Duration.ofSeconds(1);

    private Bounded() {}

    /** What a finished program printed, and how it ended. */
    record Result(Outcome outcome, String out, String err) {}

    /** Starts the command, waits at most {@link #WAIT} for it to end, and returns its output. */
    static Result run(Sandbox sandbox, String... command) throws Exception {
        return run(sandbox, new ProcessBuilder(command));
    }

    /** As {@link #run(Sandbox, String...)}, for a ProcessBuilder (directory, environment). */
    static Result run(Sandbox sandbox, ProcessBuilder pb) throws Exception {
        try (IsolatedProcess p = sandbox.start(pb)) {
            return collect(p);
        }
    }

    /** As {@link #run(Sandbox, String...)}, but the program must end {@link Outcome.Status#OK}; returns its stdout. */
    static String ok(Sandbox sandbox, String... command) throws Exception {
        Result r = run(sandbox, command);
        if (r.outcome().status() != Outcome.Status.OK) {
            throw new AssertionError("sandboxed " + String.join(" ", command) + " ended " + r.outcome() + ": " + r.err());
        }
        return r.out();
    }

    /** The output and outcome of a started process; the caller closes it. */
    static Result collect(IsolatedProcess p) throws Exception {
        Future<String> out = drain(p.getInputStream());
        Future<String> err = drain(p.getErrorStream());
        Outcome o = get(p.outcome(), "the sandboxed program to end");
        return new Result(o, get(out, "its stdout to close"), get(err, "its stderr to close"));
    }

    /** Reads the stream to its end in a daemon thread. */
    static Future<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "bounded-drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** The next line, or null at the end of the stream; fails after {@link #WAIT} without one. */
    static String line(BufferedReader reader) throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(reader.readLine());
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "bounded-line");
        t.setDaemon(true);
        t.start();
        return get(f, "a line of output");
    }

    /** The future's value; an AssertionError naming {@code what} after {@link #WAIT}. */
    static <T> T get(Future<T> f, String what) throws Exception {
        try {
            return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("waited " + WAIT.toSeconds() + " s for " + what, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }
}
