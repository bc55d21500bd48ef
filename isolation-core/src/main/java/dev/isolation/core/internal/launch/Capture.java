package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.linux.Kernel;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletableFuture;

/**
 * Collects what a sandboxed program writes to a pipe, on the monitor thread, keeping at most
 * {@code limit} bytes: past it, {@code onExceeded} runs once (the caller kills the sandbox) and the
 * rest is read and dropped, so a program writing without end never grows the JVM's heap.
 */
public final class Capture implements Monitor.Watched {
    private final int fd;
    private final long limit;
    private final Runnable onExceeded;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CompletableFuture<byte[]> done = new CompletableFuture<>();
    private volatile boolean exceeded;

    private Capture(int fd, long limit, Runnable onExceeded) {
        this.fd = fd;
        this.limit = limit;
        this.onExceeded = onExceeded;
    }

    /** Starts collecting from {@code fd}, which the capture now owns and closes at end of file. */
    public static Capture start(int fd, long limit, Runnable onExceeded) {
        Capture c = new Capture(fd, limit, onExceeded);
        Monitor.get().watch(fd, c);
        return c;
    }

    @Override
    public boolean onReadable(byte[] buf) {
        int n = Kernel.get().read(fd, buf);
        if (n == 0) {
            return false;
        }
        long room = limit - bytes.size();
        bytes.write(buf, 0, (int) Math.min(n, Math.max(room, 0)));
        if (n > room && !exceeded) {
            exceeded = true;
            onExceeded.run();
        }
        return true;
    }

    @Override
    public void onEnd(RuntimeException failure) {
        Kernel.get().close(fd);
        done.complete(bytes.toByteArray());
    }

    /** Completes with what was collected once the program's side of the pipe is closed. */
    public CompletableFuture<byte[]> collected() {
        return done;
    }

    public boolean exceeded() {
        return exceeded;
    }
}
