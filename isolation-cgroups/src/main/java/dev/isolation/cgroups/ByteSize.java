package dev.isolation.cgroups;

/**
 * A non-negative number of bytes. Immutable and thread-safe.
 *
 * <p>Binary multiples, named as IEC names them: {@code mib(64)} is 64 × 1024 × 1024 bytes; {@link
 * #mb} is the same as {@link #mib} (kept for existing callers). {@link #parse} reads {@code 200M}
 * and {@code 1.5G}, also binary.
 *
 * @since 0.1.0
 */
public final class ByteSize implements Comparable<ByteSize> {
    /** Zero bytes. */
    public static final ByteSize ZERO = new ByteSize(0);

    private static final long KIB = 1024L;
    /** {@link #parse}: a number, then an optional unit. */
    private static final java.util.regex.Pattern SIZE = java.util.regex.Pattern.compile(
            "(\\d+(?:\\.\\d+)?)\\s*(?:([kmgt])(?:i?b|i)?|b)?", java.util.regex.Pattern.CASE_INSENSITIVE);

    private final long bytes;

    private ByteSize(long bytes) {
        this.bytes = bytes;
    }

    /**
     * {@code bytes} bytes.
     *
     * @param bytes the number of bytes, 0 or more
     * @return the size ({@link #ZERO} for 0)
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public static ByteSize ofBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, was " + bytes);
        }
        return bytes == 0 ? ZERO : new ByteSize(bytes);
    }

    /**
     * {@code kib} kibibytes (× 1024 bytes).
     *
     * @param kib the number of kibibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize kib(long kib) {
        return ofBytes(multiply(kib, KIB, "kibibytes"));
    }

    /**
     * {@code mib} mebibytes (× 1024² bytes).
     *
     * @param mib the number of mebibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize mib(long mib) {
        return ofBytes(multiply(mib, KIB * KIB, "mebibytes"));
    }

    /**
     * {@code gib} gibibytes (× 1024³ bytes).
     *
     * @param gib the number of gibibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize gib(long gib) {
        return ofBytes(multiply(gib, KIB * KIB * KIB, "gibibytes"));
    }

    /**
     * {@code tib} tebibytes (× 1024⁴ bytes).
     *
     * @param tib the number of tebibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize tib(long tib) {
        return ofBytes(multiply(tib, KIB * KIB * KIB * KIB, "tebibytes"));
    }

    /**
     * The same as {@link #kib}: {@code kib} × 1024 bytes (binary, as the cgroup files and the
     * command-line tools of this field count). Prefer {@link #kib}, whose name says so.
     *
     * @param kib the number of kibibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize kb(long kib) {
        return kib(kib);
    }

    /**
     * The same as {@link #mib}: {@code mib} × 1024² bytes, so {@code mb(64)} is 67,108,864 bytes.
     * Prefer {@link #mib}, whose name says so.
     *
     * @param mib the number of mebibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize mb(long mib) {
        return mib(mib);
    }

    /**
     * The same as {@link #gib}: {@code gib} × 1024³ bytes. Prefer {@link #gib}, whose name says so.
     *
     * @param gib the number of gibibytes, 0 or more
     * @return the size
     * @throws IllegalArgumentException if negative or overflowing a long of bytes
     */
    public static ByteSize gb(long gib) {
        return gib(gib);
    }

    /**
     * Parses a size as command lines write it. The exact rules:
     * <ul>
     *   <li>a decimal number: digits, optionally a point and more digits ({@code 512}, {@code 1.5});
     *       no sign, no exponent, no digit grouping;</li>
     *   <li>then, after optional spaces, an optional unit, case-insensitive: {@code K}, {@code M},
     *       {@code G} or {@code T}, each optionally followed by {@code i}, {@code B} or {@code iB}
     *       ({@code 64K}, {@code 200M}, {@code 2GiB}, {@code 10MB}), or {@code B} alone for bytes.
     *       Every unit is binary: {@code K}, {@code KB} and {@code KiB} all mean 1024 bytes, as in
     *       Docker's {@code --memory} and isolate's {@code --mem};</li>
     *   <li>the value is the number times the unit, computed exactly, rounded down to a whole byte
     *       ({@code 1.5G} is 1,610,612,736 bytes; {@code 0.1K} is 102 bytes); a fraction needs a
     *       unit ({@code 1.5} alone is rejected); leading and trailing spaces are ignored.</li>
     * </ul>
     *
     * @param text the size, such as {@code 512}, {@code 64K}, {@code 200M} or {@code 1.5G}
     * @return the size
     * @throws IllegalArgumentException naming the text if it is not a size by these rules or does
     *     not fit a long of bytes
     */
    public static ByteSize parse(String text) {
        java.util.regex.Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: \"" + text + "\" (expected e.g. 512, 64K, 200M, 1G)");
        }
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(java.util.Locale.ROOT);
        if (m.group(1).contains(".") && unit.isEmpty()) {
            throw new IllegalArgumentException("not a size: \"" + text + "\" (a fraction of a byte: give a unit, e.g. 1.5M)");
        }
        long multiple;
        switch (unit) {
            case "k": multiple = KIB; break;
            case "m": multiple = KIB * KIB; break;
            case "g": multiple = KIB * KIB * KIB; break;
            case "t": multiple = KIB * KIB * KIB * KIB; break;
            default: multiple = 1;
        }
        java.math.BigInteger bytes = new java.math.BigDecimal(m.group(1)).multiply(java.math.BigDecimal.valueOf(multiple))
                .setScale(0, java.math.RoundingMode.DOWN).toBigInteger();
        if (bytes.bitLength() > 63) {
            throw new IllegalArgumentException("size too large: \"" + text + "\" (at most " + Long.MAX_VALUE + " bytes)");
        }
        return ofBytes(bytes.longValue());
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

    /** {@return the size in bytes} */
    public long bytes() {
        return bytes;
    }

    /**
     * This size plus {@code other}, saturating at {@link Long#MAX_VALUE}.
     *
     * @param other the size to add
     * @return the sum, at most {@link Long#MAX_VALUE} bytes
     */
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
