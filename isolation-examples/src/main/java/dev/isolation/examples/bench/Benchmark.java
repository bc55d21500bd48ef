package dev.isolation.examples.bench;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Sandbox;
import java.io.Closeable;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * How much a sandbox costs per run: {@code /bin/true} started and waited for, sequentially, under
 * each scenario. Prints median and p99 milliseconds per run and runs per second; asserts nothing.
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.Benchmark [--runs N | N] [--warmup N]
 * </pre>
 */
public final class Benchmark {
    private static final String PROGRAM = "/bin/true";

    /** One row of the table: a name and one complete run (start, wait, release). */
    record Scenario(String name, Callable<?> run) {}

    /** Per-run times of one scenario, in nanoseconds, and the wall time of all of them. */
    record Stats(long[] sortedNanos, long totalNanos) {
        static Stats of(long[] nanos, long totalNanos) {
            long[] sorted = nanos.clone();
            Arrays.sort(sorted);
            return new Stats(sorted, totalNanos);
        }

        double medianMs() {
            int n = sortedNanos.length;
            long twice = n % 2 == 1 ? 2 * sortedNanos[n / 2] : sortedNanos[n / 2 - 1] + sortedNanos[n / 2];
            return twice / 2e6;
        }

        /** Nearest-rank percentile: the smallest time that at least {@code p}% of the runs did not exceed. */
        double percentileMs(double p) {
            int rank = (int) Math.ceil(p / 100 * sortedNanos.length);
            return sortedNanos[Math.max(rank, 1) - 1] / 1e6;
        }

        double runsPerSecond() {
            return sortedNanos.length / (totalNanos / 1e9);
        }
    }

    private Benchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = 1000;
        int warmup = 200;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = positive(args, ++i);
                case "--warmup" -> warmup = positive(args, ++i);
                default -> runs = positive(args, i);
            }
        }

        Sandbox sandbox = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();
        List<Scenario> scenarios = List.of(
                new Scenario("ProcessBuilder", () -> {
                    Process p = new ProcessBuilder(PROGRAM).start();
                    check(p.waitFor());
                    // as IsolatedProcess.close() does, so both rows pay for the same pipes
                    for (Closeable c : new Closeable[] {p.getOutputStream(), p.getInputStream(), p.getErrorStream()}) {
                        c.close();
                    }
                    return null;
                }),
                new Scenario("Sandbox pid+mount+uts+ipc+net", () -> {
                    try (IsolatedProcess p = sandbox.start(PROGRAM)) {
                        check(p.waitFor());
                    }
                    return null;
                }));

        System.out.printf(Locale.ROOT, "%s, %d runs each after %d warm-up runs, sequential%n", PROGRAM, runs, warmup);
        System.out.printf(Locale.ROOT, "%-32s %10s %10s %10s%n", "scenario", "median ms", "p99 ms", "runs/s");
        Stats[] results = new Stats[scenarios.size()];
        for (int s = 0; s < scenarios.size(); s++) {
            Scenario scenario = scenarios.get(s);
            measure(scenario, warmup);
            results[s] = measure(scenario, runs);
            System.out.printf(Locale.ROOT, "%-32s %10.3f %10.3f %10.1f%n", scenario.name(),
                    results[s].medianMs(), results[s].percentileMs(99), results[s].runsPerSecond());
        }
        System.out.printf(Locale.ROOT, "sandbox overhead over ProcessBuilder: %+.2f ms median%n",
                results[1].medianMs() - results[0].medianMs());
    }

    private static Stats measure(Scenario scenario, int runs) throws Exception {
        long[] nanos = new long[runs];
        long begin = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            scenario.run().call();
            nanos[i] = System.nanoTime() - t0;
        }
        return Stats.of(nanos, System.nanoTime() - begin);
    }

    /** A failing run measures a failure, not the path we want to time. */
    private static void check(int exitValue) throws IOException {
        if (exitValue != 0) {
            throw new IOException(PROGRAM + " exited with " + exitValue);
        }
    }

    private static int positive(String[] args, int i) {
        String text = i < args.length ? args[i] : "";
        try {
            int n = Integer.parseInt(text);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("expected a positive number of runs, got \"" + text
                + "\"; usage: Benchmark [--runs N | N] [--warmup N]");
    }
}
