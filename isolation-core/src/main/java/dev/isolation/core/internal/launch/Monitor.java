package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.linux.Kernel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * The library's one thread for all sandboxes: waits with epoll on every helper's status pipe and
 * every captured output pipe, reads them, and completes internal futures. 500 running sandboxes
 * cost no more threads than one.
 *
 * <p>It never runs code of the library's users, nor anything that waits: what follows a sandbox's
 * end runs on {@link Completions}. Whatever one watched descriptor's handling throws, {@link Error}
 * included, ends that descriptor's watch (its sandbox's outcome fails) and the loop goes on serving
 * the others.
 */
final class Monitor implements Runnable {
    private static final Monitor INSTANCE = new Monitor();

    private final Kernel kernel = Kernel.get();

    /** Something the monitor thread reads until end of file. */
    interface Watched {
        /** Reads once (the descriptor is readable); false at end of file. */
        boolean onReadable(byte[] buf);

        /**
         * End of file, or {@code failure} if reading or handling failed; releases the descriptor.
         * Must not block: the sandbox may still be running when it fails.
         */
        void onEnd(Throwable failure);
    }

    private final Map<Integer, Watched> watched = new ConcurrentHashMap<>();
    private int epfd = -1;
    private Thread thread;

    static Monitor get() {
        return INSTANCE;
    }

    synchronized void watch(int fd, Watched w) {
        if (epfd < 0) {
            epfd = kernel.epollCreate();
        }
        if (thread == null || !thread.isAlive()) { // a safety net: nothing is meant to end it
            thread = new Thread(this, "isolation-monitor");
            thread.setDaemon(true);
            thread.start();
        }
        watched.put(fd, w);
        try {
            kernel.epollAdd(epfd, fd);
        } catch (RuntimeException e) {
            watched.remove(fd);
            throw e;
        }
    }

    @Override
    public void run() {
        int[] ready = new int[64];
        byte[] buf = new byte[64 << 10];
        while (true) {
            int n;
            try {
                n = kernel.epollWait(epfd, ready, -1);
            } catch (Throwable e) {
                LockSupport.parkNanos(10_000_000); // e.g. out of memory for a moment: wait and retry
                continue;
            }
            for (int i = 0; i < n; i++) {
                serve(ready[i], buf);
            }
        }
    }

    private void serve(int fd, byte[] buf) {
        Watched w = watched.get(fd);
        if (w == null) {
            return;
        }
        boolean more;
        Throwable failure = null;
        try {
            more = w.onReadable(buf);
        } catch (Throwable e) {
            more = false;
            failure = e;
        }
        if (!more) {
            watched.remove(fd);
            try {
                kernel.epollRemove(epfd, fd); // before onEnd closes it, so that the number can be reused
            } catch (Throwable e) {
                // closing the descriptor removes it from the epoll set anyway
            }
            try {
                w.onEnd(failure);
            } catch (Throwable e) {
                // onEnd fails its own sandbox's outcome; nothing of it may stop the others'
            }
        }
    }
}
