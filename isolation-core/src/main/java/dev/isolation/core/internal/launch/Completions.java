package dev.isolation.core.internal.launch;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where the work after a sandbox's end runs, never on the {@link Monitor} thread: reading and
 * removing its cgroup, building its outcome, and the dependent actions callers attach to it.
 *
 * <p>The library's pool is what the JDK's process reaper is: daemon threads named {@code
 * isolation-completion-N}, one for each task in flight, created when none is idle and ended after
 * {@value #IDLE_SECONDS} s without work. A task that blocks holds its own thread only, so a slow
 * callback of one sandbox delays no other.
 */
public final class Completions {
    private static final long IDLE_SECONDS = 60;
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ThreadPoolExecutor LIBRARY = new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_SECONDS,
            TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
                Thread t = new Thread(task, "isolation-completion-" + THREADS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private Completions() {}

    /** The library's own pool. */
    public static Executor library() {
        return LIBRARY;
    }

    /** Runs {@code task} on the library's pool, or on this thread if not even a thread can be made (out of memory). */
    public static void run(Runnable task) {
        try {
            LIBRARY.execute(task);
        } catch (RejectedExecutionException | OutOfMemoryError e) {
            task.run();
        }
    }

    /**
     * {@code executor}, except that a task it rejects (shut down, saturated) or fails to accept runs
     * on the library's pool instead. A task it accepts it must run: else that outcome never comes.
     */
    public static Executor orLibrary(Executor executor) {
        return task -> {
            try {
                executor.execute(task);
            } catch (Throwable e) { // whatever it throws, the outcome must still be delivered
                run(task);
            }
        };
    }
}
