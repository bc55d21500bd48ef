package dev.isolation.core.internal.launch;

import java.util.List;

/**
 * What a {@link Capture} collected, kept in the chunks it was read into: handing it over copies
 * nothing, so a capture never needs twice its size at the end. Immutable once built.
 */
public final class CapturedBytes {
    /** Nothing captured. */
    public static final CapturedBytes EMPTY = new CapturedBytes(List.of(), 0);

    private final List<byte[]> chunks;
    private final int length;

    CapturedBytes(List<byte[]> chunks, int length) {
        this.chunks = List.copyOf(chunks);
        this.length = length;
    }

    public int length() {
        return length;
    }

    /** A new array with every byte. */
    public byte[] toArray() {
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] chunk : chunks) {
            int n = Math.min(chunk.length, length - at);
            System.arraycopy(chunk, 0, out, at, n);
            at += n;
        }
        return out;
    }
}
