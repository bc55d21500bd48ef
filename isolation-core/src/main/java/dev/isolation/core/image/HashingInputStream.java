package dev.isolation.core.image;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * An input stream that hashes exactly the bytes it passes on, on a thread of its own: each chunk
 * read from the source is handed to the hashing thread and served from the same (never reused)
 * array, so the digest is of what was read, while the reader goes on extracting. At most four
 * chunks of 1 MiB are in flight. {@link #digest()} waits for the hashing to finish.
 */
final class HashingInputStream extends InputStream {
    private static final int CHUNK = 1 << 20;

    private final InputStream in;
    private final MessageDigest md;
    private final ExecutorService hasher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "isolation-image-digest");
        t.setDaemon(true);
        return t;
    });
    private final Semaphore inFlight = new Semaphore(4);
    private Future<?> last;
    private byte[] chunk = new byte[0];
    private int pos;
    private int end;
    private boolean eof;

    HashingInputStream(InputStream in, MessageDigest md) {
        this.in = in;
        this.md = md;
    }

    private boolean fill() throws IOException {
        if (eof) {
            return false;
        }
        byte[] next = new byte[CHUNK];
        int n = in.readNBytes(next, 0, CHUNK);
        if (n <= 0) {
            eof = true;
            return false;
        }
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while hashing a layer");
        }
        int len = n;
        last = hasher.submit(() -> {
            try {
                md.update(next, 0, len);
            } finally {
                inFlight.release();
            }
        });
        chunk = next;
        pos = 0;
        end = n;
        eof = n < CHUNK;
        return true;
    }

    @Override
    public int read() throws IOException {
        if (pos == end && !fill()) {
            return -1;
        }
        return chunk[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (pos == end && !fill()) {
            return -1;
        }
        int n = Math.min(len, end - pos);
        System.arraycopy(chunk, pos, b, off, n);
        pos += n;
        return n;
    }

    /** Reads what is left, waits for the hashing thread and returns "sha256:hex" of every byte read. */
    String digest() throws IOException {
        while (fill()) {
            pos = end;
        }
        try {
            if (last != null) {
                last.get();
            }
        } catch (ExecutionException e) {
            throw new IOException("hashing a layer failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while hashing a layer");
        } finally {
            hasher.shutdown();
        }
        return "sha256:" + java.util.HexFormat.of().formatHex(md.digest());
    }

    @Override
    public void close() throws IOException {
        hasher.shutdownNow();
        in.close();
    }
}
