package dev.isolation.core.internal.launch;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.linux.Kernel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Collects what a sandboxed program writes to a pipe, on the monitor thread, into chunks allocated
 * as the bytes come (8 KiB first, doubling up to 1 MiB). Two bounds hold: at most {@code limit}
 * bytes for this stream, and at most {@link #budget()} bytes for all captures of the JVM together.
 * Past either, {@code kill} runs once (the caller kills the sandbox) and the rest is read and
 * dropped, so a program writing without end never grows the JVM's heap.
 *
 * <p>Bytes count against the budget from the moment they are read until {@link #release()},
 * which the owner calls once the outcome holding them is built.
 */
public final class Capture implements Monitor.Watched {
    /** The system property that sets {@link #budget()}, a size such as {@code 64M}. */
    public static final String BUDGET_PROPERTY = "isolation.captureMemory";
    /** The largest array, and so the most one stream can keep. */
    static final int MAX_STREAM = Integer.MAX_VALUE - 8;
    private static final int FIRST_CHUNK = 8 << 10;
    private static final int MAX_CHUNK = 1 << 20;
    private static final long BUDGET;
    private static final String BUDGET_ERROR;
    private static final AtomicLong IN_USE = new AtomicLong();

    static {
        long budget = Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 4);
        String error = null;
        String value = System.getProperty(BUDGET_PROPERTY);
        if (value != null) {
            try {
                budget = ByteSize.parse(value).bytes();
            } catch (IllegalArgumentException e) {
                error = "system property " + BUDGET_PROPERTY + "=\"" + value + "\" is not a size (e.g. 64M, 1G): " + e.getMessage();
            }
        }
        BUDGET = budget;
        BUDGET_ERROR = error;
    }

    /** Why a capture stopped keeping bytes. */
    public enum Cut {
        /** It kept everything. */
        NONE,
        /** The stream's own limit was reached. */
        OUTPUT_LIMIT,
        /** All captures of the JVM together held {@link #budget()} bytes. */
        BUDGET
    }

    private final int fd;
    private final int limit;
    private final Runnable kill;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    // written by the monitor thread only; read by others after done completes
    private List<byte[]> chunks = new ArrayList<>();
    private byte[] current;
    private int used;
    private int size;
    private long reserved; // guarded by this once done: release() may race with a late failure
    private volatile Cut cut = Cut.NONE;

    private Capture(int fd, long limit, Runnable kill) {
        this.fd = fd;
        this.limit = (int) Math.min(limit, MAX_STREAM);
        this.kill = kill;
    }

    /**
     * Bytes all captures of this JVM may hold at once: system property {@value #BUDGET_PROPERTY},
     * else a quarter of the maximum heap, at most 256 MiB.
     *
     * @throws IllegalStateException if the system property is not a size
     */
    public static long budget() {
        if (BUDGET_ERROR != null) {
            throw new IllegalStateException(BUDGET_ERROR);
        }
        return BUDGET;
    }

    /** Bytes held by captures now (for tests and diagnostics). */
    public static long inUse() {
        return IN_USE.get();
    }

    /** Starts collecting from {@code fd}, which the capture now owns and closes at end of file. */
    public static Capture start(int fd, long limit, Runnable kill) {
        budget();
        Capture c = new Capture(fd, limit, kill);
        Monitor.get().watch(fd, c);
        return c;
    }

    @Override
    public boolean onReadable(byte[] buf) {
        int n = Kernel.get().read(fd, buf);
        if (n == 0) {
            return false;
        }
        if (cut == Cut.NONE) {
            keep(buf, n);
        }
        return true;
    }

    private void keep(byte[] buf, int n) {
        int room = limit - size;
        int keep = Math.min(n, room);
        int at = 0;
        while (at < keep) {
            if (current == null || used == current.length) {
                int capacity = Math.min(current == null ? FIRST_CHUNK : Math.min(current.length * 2, MAX_CHUNK), limit - size);
                if (!reserve(capacity)) {
                    capacity = keep - at; // what is left of the budget may still hold this read
                    if (!reserve(capacity)) {
                        stop(Cut.BUDGET);
                        return;
                    }
                }
                current = new byte[capacity];
                chunks.add(current);
                used = 0;
            }
            int m = Math.min(keep - at, current.length - used);
            System.arraycopy(buf, at, current, used, m);
            used += m;
            size += m;
            at += m;
        }
        if (n > room) {
            stop(Cut.OUTPUT_LIMIT);
        }
    }

    private boolean reserve(int bytes) {
        long now;
        do {
            now = IN_USE.get();
            if (now + bytes > BUDGET) {
                return false;
            }
        } while (!IN_USE.compareAndSet(now, now + bytes));
        synchronized (this) {
            reserved += bytes;
        }
        return true;
    }

    private void stop(Cut why) {
        cut = why;
        kill.run();
    }

    @Override
    public void onEnd(Throwable failure) {
        try {
            Kernel.get().close(fd);
        } finally {
            if (failure == null) {
                done.complete(null);
            } else {
                chunks = List.of(); // what made the heap run out, maybe: let it go first
                current = null;
                release();
                try {
                    kill.run(); // the sandbox must not go on without its output being read
                } catch (Throwable e) {
                    failure.addSuppressed(e);
                }
                done.completeExceptionally(failure);
            }
        }
    }

    /** Completes once the program's side of the pipe is closed, exceptionally if collecting failed. */
    public CompletableFuture<Void> collected() {
        return done;
    }

    /**
     * What was collected; call once {@link #collected()} completed normally. The last chunk is cut
     * to what it holds, so that an outcome kept for long holds no spare capacity.
     */
    public CapturedBytes bytes() {
        if (current != null && used < current.length) {
            current = Arrays.copyOf(current, used);
            chunks.set(chunks.size() - 1, current);
        }
        return new CapturedBytes(chunks, size);
    }

    /** Why the capture stopped keeping bytes, if it did. */
    public Cut cut() {
        return cut;
    }

    /** Gives the bytes back to the JVM's budget; the caller owns them from now on. Idempotent. */
    public void release() {
        long bytes;
        synchronized (this) {
            bytes = reserved;
            reserved = 0;
        }
        IN_USE.addAndGet(-bytes);
    }
}
