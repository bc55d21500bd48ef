package dev.isolation.examples.scale;

import dev.isolation.examples.judge.Verdict;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What the broker alone sustains: {@code connections} threads, each with a connection of its own
 * as a worker has, claim one submission and publish its result as fast as they can, with no
 * judging in between: the submissions per second past which adding workers adds nothing. Used by
 * {@link dev.isolation.examples.bench.BrokerBenchmark}; it adds its submissions (problem
 * {@code isolation-capacity-probe}) and their results to the broker's tables.
 */
public final class BrokerCapacity {
    private BrokerCapacity() {}

    /** Claim-and-publish cycles per second over {@code submissions} submissions. */
    public static double cyclesPerSecond(String url, int submissions, int connections) throws Exception {
        List<SubmissionRequest> requests = Collections.nCopies(submissions,
                SubmissionRequest.of("sh", "isolation-capacity-probe", "true\n".getBytes(StandardCharsets.UTF_8)));
        try (Broker b = Broker.connect(url)) {
            b.submitAll(requests);
        }
        ExecutorService threads = Executors.newFixedThreadPool(connections);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < connections; i++) {
                String worker = "isolation-capacity-probe-" + i;
                done.add(threads.submit(() -> {
                    int n = 0;
                    try (Broker b = Broker.connect(url)) {
                        while (true) {
                            List<Submission> s = b.claim(worker, 1, Duration.ofSeconds(60));
                            if (s.isEmpty()) {
                                return n;
                            }
                            b.publish(s.get(0), worker, Verdict.AC, "{\"verdict\":\"AC\"}");
                            n++;
                        }
                    }
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            return total / ((System.nanoTime() - t0) / 1e9);
        } finally {
            threads.shutdownNow();
        }
    }
}
