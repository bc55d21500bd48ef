package dev.isolation.cgroups;

/**
 * A non-negative number of bytes. Immutable and thread-safe.
 *
 * <p>Binary multiples: {@code mb(64)} is 64 × 1024 × 1024 bytes; {@link #parse} reads {@code 200M}.
 */
public final class ByteSize implements Comparable<ByteSize> {
    /** Zero bytes. */
    public static final ByteSize ZERO = new ByteSize(0);

    private static final long KIB = 1024L;

    private final long bytes;

    private ByteSize(long bytes) {
        this.bytes = bytes;
    }

    /** @throws IllegalArgumentException if {@code bytes} is negative */
    public static ByteSize ofBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, was " + bytes);
        }
        return bytes == 0 ? ZERO : new ByteSize(bytes);
    }

    /** @throws IllegalArgumentException if negative or overflowing a long of bytes */
    public static ByteSize kb(long kib) {
        return ofBytes(multiply(kib, KIB, "kibibytes"));
    }

    /** @throws IllegalArgumentException if negative or overflowing a long of bytes */
    public static ByteSize mb(long mib) {
        return ofBytes(multiply(mib, KIB * KIB, "mebibytes"));
    }

    /** @throws IllegalArgumentException if negative or overflowing a long of bytes */
    public static ByteSize gb(long gib) {
        return ofBytes(multiply(gib, KIB * KIB * KIB, "gibibytes"));
    }

    /**
     * Parses a size as command lines write it: {@code 512}, {@code 64K}, {@code 200M}, {@code 1G},
     * {@code 2GiB}, {@code 10MB} (all binary multiples).
     *
     * @throws IllegalArgumentException naming the text if it is not a size
     */
    public static ByteSize parse(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b)?", java.util.regex.Pattern.CASE_INSENSITIVE)
                .matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: \"" + text + "\" (expected e.g. 512, 64K, 200M, 1G)");
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size too large: \"" + text + "\"", e);
        }
        switch (m.group(2).toLowerCase(java.util.Locale.ROOT)) {
            case "k": return kb(n);
            case "m": return mb(n);
            case "g": return gb(n);
            case "t": return ofBytes(multiply(n, KIB * KIB * KIB * KIB, "tebibytes"));
            default: return ofBytes(n);
        }
    }

    private static long multiply(long n, long unit, String what) {
        if (n < 0) {
            throw new IllegalArgumentException(what + " must be >= 0, was " + n);
        }
        try {
            return Math.multiplyExact(n, unit);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " too large: " + n, e);
        }
    }

    /** The size in bytes. */
    public long bytes() {
        return bytes;
    }

    /** This size plus {@code other}, saturating at {@link Long#MAX_VALUE}. */
    public ByteSize plus(ByteSize other) {
        long sum = bytes + other.bytes;
        return ofBytes(sum < 0 ? Long.MAX_VALUE : sum);
    }

    @Override
    public int compareTo(ByteSize o) {
        return Long.compare(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ByteSize && ((ByteSize) o).bytes == bytes;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(bytes);
    }

    /** E.g. {@code "64 MiB"}, or {@code "1000 B"} when not a whole multiple. */
    @Override
    public String toString() {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        long v = bytes;
        int u = 0;
        while (v != 0 && v % KIB == 0 && u < units.length - 1) {
            v /= KIB;
            u++;
        }
        return v + " " + units[u];
    }
}
