package dev.isolation.core;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** A program's output stream that ends at the output limit and reports it once. */
final class LimitedInputStream extends FilterInputStream {
    private long left;
    private final Runnable onExceeded;
    private boolean exceeded;

    LimitedInputStream(InputStream in, long limit, Runnable onExceeded) {
        super(in);
        this.left = limit;
        this.onExceeded = onExceeded;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (exceeded) {
            return -1;
        }
        if (left == 0) {
            // one byte more than allowed means the limit was exceeded; exactly the limit is fine
            if (super.read() < 0) {
                return -1;
            }
            exceeded = true;
            onExceeded.run();
            return -1;
        }
        int n = super.read(b, off, (int) Math.min(len, left));
        if (n > 0) {
            left -= n;
        }
        return n;
    }

    /** What can be read without blocking, never past the limit. */
    @Override
    public int available() throws IOException {
        return exceeded ? 0 : (int) Math.min(super.available(), left);
    }

    /** No mark: a reset would read counted bytes again. */
    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public synchronized void mark(int readLimit) {
        // not supported
    }

    @Override
    public synchronized void reset() throws IOException {
        throw new IOException("mark/reset not supported");
    }

    /** Through {@link #read(byte[], int, int)}: skipped bytes count towards the limit. */
    @Override
    public long skip(long n) throws IOException {
        return skipByReading(this, n);
    }

    /** Skips up to {@code n} bytes of {@code in} by reading them (a pipe cannot seek); returns how many. */
    static long skipByReading(InputStream in, long n) throws IOException {
        if (n <= 0) {
            return 0;
        }
        byte[] discard = new byte[(int) Math.min(8192, n)];
        long left = n;
        while (left > 0) {
            int r = in.read(discard, 0, (int) Math.min(discard.length, left));
            if (r < 0) {
                break;
            }
            left -= r;
        }
        return n - left;
    }
}
