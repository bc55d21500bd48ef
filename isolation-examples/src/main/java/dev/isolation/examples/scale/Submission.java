package dev.isolation.examples.scale;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * A submission as a worker claimed it.
 *
 * @param attempt this claim's number, from 1
 * @param lastError why the previous attempt ended without a result, if one did
 */
record Submission(UUID token, String language, String problem, byte[] source, LimitOverrides limits, int attempt,
        int maxAttempts, Optional<String> lastError, Instant submittedAt) {
    /** Claimed more often than it may be: it gets an error result, not another attempt. */
    boolean exhausted() {
        return attempt > maxAttempts;
    }

    /** Whether a failure of this attempt is the last one it gets. */
    boolean lastAttempt() {
        return attempt >= maxAttempts;
    }
}
