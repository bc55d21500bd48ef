package dev.isolation.examples.scale;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a submitter sends: the solution, its language, the problem it solves, limits that replace
 * the problem's own, and how many attempts it gets before it ends as an internal error.
 *
 * @param language {@code c}, {@code cpp} or {@code sh}
 * @param problem the problem's id: the name of its directory under every worker's problems directory
 * @param source the solution's source text, at most {@link #MAX_SOURCE} bytes
 * @param limits limits that replace the problem's
 * @param maxAttempts 1 to 100
 */
public record SubmissionRequest(String language, String problem, byte[] source, LimitOverrides limits, int maxAttempts) {
    /** The largest source accepted: 1 MiB. */
    public static final int MAX_SOURCE = 1 << 20;

    /** The default of {@code maxAttempts}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 3;

    private static final Pattern PROBLEM_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    /** @throws IllegalArgumentException naming the bad parameter */
    public SubmissionRequest {
        Objects.requireNonNull(language, "language");
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(limits, "limits");
        if (!java.util.List.of("c", "cpp", "c++", "sh").contains(language.toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalArgumentException("language \"" + language + "\": expected c, cpp or sh");
        }
        checkProblemId(problem);
        if (source.length > MAX_SOURCE) {
            throw new IllegalArgumentException("source: " + source.length + " bytes, more than the " + MAX_SOURCE
                    + " accepted");
        }
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new IllegalArgumentException("maxAttempts " + maxAttempts + ": must be 1 to 100");
        }
        source = source.clone();
    }

    /** With the problem's own limits and {@link #DEFAULT_MAX_ATTEMPTS}. */
    public static SubmissionRequest of(String language, String problem, byte[] source) {
        return new SubmissionRequest(language, problem, source, LimitOverrides.NONE, DEFAULT_MAX_ATTEMPTS);
    }

    @Override
    public byte[] source() {
        return source.clone();
    }

    /**
     * A problem id names a directory: letters, digits, {@code _ . -}, not starting with a dot (no
     * {@code ..}, no {@code /}), at most 64 characters.
     *
     * @throws IllegalArgumentException if {@code id} is not one
     */
    static String checkProblemId(String id) {
        if (!PROBLEM_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("problem id \"" + id + "\": expected 1 to 64 letters, digits, '_', '.' or"
                    + " '-', starting with a letter or digit");
        }
        return id;
    }
}
