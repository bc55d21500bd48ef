package dev.isolation.examples.bench;

import dev.isolation.examples.judge.Judge;
import dev.isolation.examples.scale.Broker;
import dev.isolation.examples.scale.BrokerCapacity;
import dev.isolation.examples.scale.JudgeWorker;
import dev.isolation.examples.scale.SubmissionRequest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * What the broker costs a judge: the same submissions (an accepted shell solution of a two-test
 * problem: one session, a syntax check and two runs each) judged by a pool of POOL threads calling
 * {@link Judge#judge} directly, then by a {@link JudgeWorker} with the same pool, in this JVM,
 * through the PostgreSQL broker at URL (submitted in one batch, results read back). Prints
 * submissions per second of both (two alternating rounds) and their ratio, then what the broker
 * alone sustains ({@link BrokerCapacity}: claim and publish with no judging); asserts nothing. Needs root and a PostgreSQL
 * server ({@code .ci/broker.sh start} prints a URL); it adds its submissions to that database's
 * {@code isolation_*} tables.
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.BrokerBenchmark URL [SUBMISSIONS [POOL]]
 * </pre>
 */
public final class BrokerBenchmark {
    private static final byte[] SOLUTION = "read a b\necho $((a + b))\n".getBytes(StandardCharsets.UTF_8);

    private BrokerBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: BrokerBenchmark URL [SUBMISSIONS [POOL]]");
        }
        String url = args[0];
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        int pool = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        Path problems = Files.createTempDirectory("isolation-bench-problems-");
        try {
            Path tests = Files.createDirectories(problems.resolve("sum/tests"));
            Files.writeString(tests.resolve("1.in"), "1 2\n");
            Files.writeString(tests.resolve("1.out"), "3\n");
            Files.writeString(tests.resolve("2.in"), "10 20\n");
            Files.writeString(tests.resolve("2.out"), "30\n");
            Judge.Limits limits = Judge.Limits.of(Duration.ofSeconds(1), dev.isolation.cgroups.ByteSize.mb(64),
                    dev.isolation.cgroups.ByteSize.mb(1));
            System.out.printf(Locale.ROOT, "%d submissions (sh, 2 tests: a session, a syntax check, 2 runs each), pool %d, %d CPUs%n",
                    n, pool, Runtime.getRuntime().availableProcessors());
            direct(Math.max(pool, n / 10), pool, tests, limits); // warm-up
            // alternating rounds, so that a change in the host's load (it is shared) hits both rows alike
            double directSeconds = 0;
            double brokeredSeconds = 0;
            for (int round = 1; round <= 2; round++) {
                double d = direct(n, pool, tests, limits);
                double b = brokered(url, problems, n, pool);
                directSeconds += n / d;
                brokeredSeconds += n / b;
                System.out.printf(Locale.ROOT, "round %d: %-36s %8.1f submissions/s%n", round, "pool, no broker (Judge.judge)", d);
                System.out.printf(Locale.ROOT, "round %d: %-36s %8.1f submissions/s%n", round, "pool through the broker (JudgeWorker)", b);
            }
            System.out.printf(Locale.ROOT, "both rounds: no broker %.1f/s, through the broker %.1f/s = %.0f%% of the pool's rate%n",
                    2 * n / directSeconds, 2 * n / brokeredSeconds, 100 * directSeconds / brokeredSeconds);
            // the broker's own ceiling: claim + publish with no judging, as many connections as 8 workers hold
            int cycles = Math.max(1000, 10 * n);
            System.out.printf(Locale.ROOT, "%-45s %8.0f submissions/s (claim + publish, %d submissions, 8 connections)%n",
                    "the broker alone (BrokerCapacity)", BrokerCapacity.cyclesPerSecond(url, cycles, 8), cycles);
        } finally {
            try (Stream<Path> files = Files.walk(problems)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static double direct(int n, int pool, Path tests, Judge.Limits limits) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(pool);
        try {
            long t0 = System.nanoTime();
            List<Future<Judge.Judgement>> all = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                all.add(threads.submit(() -> Judge.judge("sh", SOLUTION, tests, limits)));
            }
            for (Future<Judge.Judgement> f : all) {
                if (f.get().verdict() != dev.isolation.examples.judge.Verdict.AC) {
                    throw new IllegalStateException("not accepted: " + f.get());
                }
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        } finally {
            threads.shutdownNow();
        }
    }

    private static double brokered(String url, Path problems, int n, int pool) throws Exception {
        StringWriter log = new StringWriter();
        JudgeWorker worker = new JudgeWorker(url, problems, pool, Duration.ofSeconds(30), new PrintWriter(log, true));
        Thread running = new Thread(() -> {
            try {
                worker.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "isolation-bench-worker");
        running.start();
        try (Broker broker = Broker.connect(url)) {
            List<SubmissionRequest> requests = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                requests.add(SubmissionRequest.of("sh", "sum", SOLUTION));
            }
            long t0 = System.nanoTime();
            List<UUID> tokens = broker.submitAll(requests);
            while (broker.countDone(tokens) < n) {
                if (!running.isAlive()) {
                    throw new IllegalStateException("the worker stopped: " + log);
                }
                Thread.sleep(20);
            }
            double rate = n / ((System.nanoTime() - t0) / 1e9);
            for (UUID t : tokens) {
                if (broker.status(t).flatMap(s -> s.verdict()).orElseThrow() != dev.isolation.examples.judge.Verdict.AC) {
                    throw new IllegalStateException("not accepted: " + broker.status(t));
                }
            }
            return rate;
        } finally {
            worker.stop(Duration.ofSeconds(60));
            running.join();
        }
    }
}
