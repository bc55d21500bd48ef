package dev.isolation.examples.scale;

import dev.isolation.examples.judge.Verdict;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Where a submission is.
 *
 * @param attempts how often a worker claimed it
 * @param leasedBy the worker that holds it now
 * @param lastError why its last attempt ended without a result
 * @param verdict its result's verdict, once it has one
 * @param result its result as JSON (verdict, compilation, each test's figures), once it has one
 * @param worker the worker whose judgement is the result
 */
public record SubmissionStatus(UUID token, State state, Instant submittedAt, int attempts, Optional<String> leasedBy,
        Optional<String> lastError, Optional<Verdict> verdict, Optional<String> result, Optional<String> worker,
        Optional<Instant> finishedAt) {
    /** Queued (no worker holds it), judging (a worker holds it) or done (it has its result). */
    public enum State { QUEUED, JUDGING, DONE }
}
