package dev.isolation.core.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.security.MessageDigest;
import dev.isolation.core.internal.linux.Kernel;
import java.util.HexFormat;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An input stream of {@code source} that is read ahead on a thread of its own and hashed on a
 * second one, so that reading (or decompressing) the source, hashing it and what the consumer
 * does with it overlap: the time is that of the slowest of the three, not their sum. Each chunk
 * is read once from the source into a direct buffer of its own, hashed, and only then handed on,
 * so the consumer sees exactly the bytes the digest covers, each once. At most {@value #CHUNKS}
 * chunks of 256 KiB are in flight, allocated as needed and then reused, and once both threads have
 * ended, kept for the next stream (direct memory goes back only when the GC runs). A channel source (a
 * blob file) is read straight into the chunks, and {@link #writeTo} writes them to a file
 * straight from there: the bytes of a file are copied once into this process and once out of it,
 * as {@code tar} copies them.
 *
 * <p>One consumer: not thread-safe. {@link #digest()} reads to the end of the source and returns
 * the digest of all of it; a failure of the source (a read error, a corrupt compressed stream)
 * is thrown by the read that reaches it, or by {@code digest()}.
 */
final class HashingInputStream extends InputStream {
    private static final int CHUNK = 256 << 10;
    private static final int CHUNKS = 16;

    /** Bytes read from the source; {@code length < 0}: the end of it (or its failure). */
    private static final class Chunk {
        /** Bytes 0 to {@code length}; only absolute gets and slices are used, never its position. */
        final ByteBuffer data;
        int length;

        Chunk(int size) {
            data = ByteBuffer.allocateDirect(size);
        }
    }

    /** Exactly one of the two is set. */
    private final InputStream source;
    private final ReadableByteChannel channel;
    private final MessageDigest md;
    /** Chunks of closed streams whose threads had ended. */
    private static final BlockingQueue<Chunk> POOL = new ArrayBlockingQueue<>(2 * CHUNKS);

    private final BlockingQueue<Chunk> free = new ArrayBlockingQueue<>(CHUNKS);
    /** Every chunk the reader took; read by {@link #close} once it has joined the reader. */
    private final java.util.List<Chunk> chunks = new java.util.ArrayList<>();
    private final BlockingQueue<Chunk> toHash = new ArrayBlockingQueue<>(CHUNKS + 1);
    private final BlockingQueue<Chunk> ready = new ArrayBlockingQueue<>(CHUNKS + 1);
    private final Thread reader;
    private final Thread hasher;
    /** What the source threw; written before the end chunk is queued. */
    private volatile Throwable failure;
    /** "sha256:hex"; written before the end chunk is handed on. */
    private volatile String digest;
    private Chunk current;
    private int pos;
    private boolean end;
    private boolean closed;

    HashingInputStream(InputStream source, MessageDigest md) {
        this(java.util.Objects.requireNonNull(source, "source"), null, md);
    }

    /** Reads {@code channel} straight into the chunks (one copy less than an input stream). */
    HashingInputStream(ReadableByteChannel channel, MessageDigest md) {
        this(null, java.util.Objects.requireNonNull(channel, "channel"), md);
    }

    private HashingInputStream(InputStream source, ReadableByteChannel channel, MessageDigest md) {
        this.source = source;
        this.channel = channel;
        this.md = md;
        reader = new Thread(this::readAhead, "isolation-image-read");
        hasher = new Thread(this::hash, "isolation-image-digest");
        reader.setDaemon(true);
        hasher.setDaemon(true);
        reader.start();
        hasher.start();
    }

    private void readAhead() {
        Chunk last = new Chunk(0);
        int allocated = 0;
        byte[] scratch = source == null ? null : new byte[CHUNK];
        try {
            while (true) {
                Chunk c = free.poll();
                if (c == null) {
                    c = allocated < CHUNKS ? take() : free.take();
                    allocated++;
                }
                c.length = fill(c.data, scratch);
                if (c.length > 0) {
                    toHash.put(c);
                }
                if (c.length < CHUNK) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            return; // closed: nobody waits for the end
        } catch (IOException | RuntimeException | Error e) {
            if (Thread.currentThread().isInterrupted()) {
                return; // closed while reading (a channel closed by the interrupt)
            }
            failure = e;
        }
        last.length = -1;
        toHash.add(last); // never full: CHUNKS chunks and this one
    }

    private Chunk take() {
        Chunk c = POOL.poll();
        c = c == null ? new Chunk(CHUNK) : c;
        chunks.add(c);
        return c;
    }

    /** Fills {@code b} from the source (less only at its end) and returns how many bytes it holds. */
    private int fill(ByteBuffer b, byte[] scratch) throws IOException {
        b.clear();
        if (channel != null) {
            while (b.hasRemaining() && channel.read(b) >= 0) {
                // a channel may return less than asked before its end
            }
        } else {
            b.put(scratch, 0, source.readNBytes(scratch, 0, scratch.length));
        }
        return b.position();
    }

    private void hash() {
        try {
            while (true) {
                Chunk c = toHash.take();
                if (c.length < 0) {
                    digest = "sha256:" + HexFormat.of().formatHex(md.digest());
                    ready.put(c);
                    return;
                }
                md.update(c.data.slice(0, c.length));
                ready.put(c);
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    /** The next chunk with bytes left, false at the end; the one done with goes back to the reader. */
    private boolean next() throws IOException {
        if (closed) {
            throw new IOException("a layer stream was read after it was closed");
        }
        if (end) {
            return ended();
        }
        if (current != null) {
            free.add(current);
            current = null;
        }
        Chunk c;
        try {
            c = ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading a layer");
        }
        if (c.length < 0) {
            end = true;
            return ended();
        }
        current = c;
        pos = 0;
        return true;
    }

    private boolean ended() throws IOException {
        Throwable f = failure;
        if (f != null) {
            throw new IOException(f.getMessage(), f);
        }
        return false;
    }

    /** Up to {@code n} bytes from here on, not consumed (fewer only at the end of the source). */
    byte[] peek(int n) throws IOException {
        if ((current == null || pos == current.length) && !next()) {
            return new byte[0];
        }
        byte[] out = new byte[Math.min(n, current.length - pos)];
        current.data.get(pos, out, 0, out.length);
        return out;
    }

    @Override
    public int read() throws IOException {
        if ((current == null || pos == current.length) && !next()) {
            return -1;
        }
        return current.data.get(pos++) & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if ((current == null || pos == current.length) && !next()) {
            return -1;
        }
        int n = Math.min(len, current.length - pos);
        current.data.get(pos, b, off, n);
        pos += n;
        return n;
    }

    /**
     * Writes the next {@code n} bytes to {@code fd} straight from the chunks, consuming them as a
     * read would, and returns how many there were: fewer than {@code n} only at the end of the source.
     */
    long writeTo(Kernel kernel, int fd, long n) throws IOException {
        long done = 0;
        while (done < n && ((current != null && pos < current.length) || next())) {
            int k = (int) Math.min(n - done, current.length - pos);
            kernel.write(fd, current.data.slice(pos, k));
            pos += k;
            done += k;
        }
        return done;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = 0;
        while (skipped < n && ((current != null && pos < current.length) || next())) {
            int k = (int) Math.min(n - skipped, current.length - pos);
            pos += k;
            skipped += k;
        }
        return skipped;
    }

    @Override
    public int available() {
        return current == null ? 0 : current.length - pos;
    }

    /** Reads what is left of the source, and returns "sha256:hex" of every byte of it. */
    String digest() throws IOException {
        while (next()) {
            pos = current.length;
        }
        String d = digest;
        if (d == null) {
            throw new IOException("a layer was closed before it was hashed");
        }
        return d;
    }

    /** Stops the two threads (waiting for them to let go of the source) and closes the source. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return; // a chunk given back twice would serve two streams
        }
        closed = true;
        current = null;
        reader.interrupt();
        hasher.interrupt();
        try {
            reader.join(TimeUnit.SECONDS.toMillis(10));
            hasher.join(TimeUnit.SECONDS.toMillis(10));
            if (!reader.isAlive() && !hasher.isAlive()) {
                for (Chunk c : chunks) {
                    if (!POOL.offer(c)) {
                        break;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (channel != null) {
                channel.close();
            } else {
                source.close();
            }
        }
    }
}
