package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.linux.Kernel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The library's one thread for all sandboxes: waits with epoll on every helper's status pipe,
 * collects the exit reports and completes the futures. 500 running sandboxes cost no more threads
 * than one. Dependent actions of those futures that are not {@code *Async} run on this thread.
 */
final class Monitor implements Runnable {
    private static final Monitor INSTANCE = new Monitor();

    private final Kernel kernel = Kernel.get();
    /** Something the monitor thread reads until end of file. */
    interface Watched {
        /** Reads once (the descriptor is readable); false at end of file. */
        boolean onReadable(byte[] buf);

        /** End of file, or {@code failure} if reading failed; releases the descriptor. */
        void onEnd(RuntimeException failure);
    }

    private final Map<Integer, Watched> watched = new ConcurrentHashMap<>();
    private int epfd = -1;
    private Thread thread;

    static Monitor get() {
        return INSTANCE;
    }

    synchronized void watch(int fd, Watched helper) {
        if (thread == null) {
            epfd = kernel.epollCreate();
            thread = new Thread(this, "isolation-monitor");
            thread.setDaemon(true);
            thread.start();
        }
        watched.put(fd, helper);
        kernel.epollAdd(epfd, fd);
    }

    @Override
    public void run() {
        int[] ready = new int[64];
        byte[] buf = new byte[4096];
        while (true) {
            int n = kernel.epollWait(epfd, ready, -1);
            for (int i = 0; i < n; i++) {
                int fd = ready[i];
                Watched w = watched.get(fd);
                if (w == null) {
                    continue;
                }
                boolean more;
                RuntimeException failure = null;
                try {
                    more = w.onReadable(buf);
                } catch (RuntimeException e) {
                    more = false;
                    failure = e;
                }
                if (!more) {
                    watched.remove(fd);
                    kernel.epollRemove(epfd, fd);
                    try {
                        w.onEnd(failure);
                    } catch (RuntimeException e) {
                        // one sandbox's failure must not stop the monitor of all others
                    }
                }
            }
        }
    }
}
