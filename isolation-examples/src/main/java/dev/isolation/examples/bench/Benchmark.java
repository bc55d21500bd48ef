package dev.isolation.examples.bench;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
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
 * each scenario, and a bare cgroup with the same limits created and removed. Prints median and p99
 * milliseconds per run and runs per second; then {@link SessionBenchmark}: 100 runs of a trivial C
 * program through a persistent session vs fresh sandboxes; then {@link ImageBenchmark}: a cached
 * three-layer image vs minimalRoot(), and unpacking ~100 MiB vs tar -x. Asserts nothing. Needs root for the namespaces and the
 * cgroups; a scenario the host cannot run prints its failure and the others still run.
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.Benchmark [--runs N | N] [--warmup N]
 * </pre>
 */
public final class Benchmark {
    private static final String PROGRAM = "/bin/true";
    private static final ByteSize MEMORY = ByteSize.mb(64);
    private static final long PIDS = 64;
    private static final int CPU_SHARES = 512;

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
        Sandbox limited = sandbox.toBuilder().memoryLimit(MEMORY).pidsLimit(PIDS).cpuShares(CPU_SHARES).build();
        CgroupLimits limits = CgroupLimits.builder().memoryLimit(MEMORY).pidsLimit(PIDS).cpuShares(CPU_SHARES).build();
        CgroupHost host = CgroupHost.detect();
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
                }),
                // what a limit costs without a process: mkdir in each hierarchy, the limit files, rmdir
                new Scenario("cgroup create+configure+destroy", () -> {
                    host.create(limits).close();
                    return null;
                }),
                new Scenario("Sandbox pid+mount+uts+ipc+net + memory/pids/cpu limits", () -> {
                    try (IsolatedProcess p = limited.start(PROGRAM)) {
                        check(p.waitFor());
                    }
                    return null;
                }));

        int width = scenarios.stream().mapToInt(sc -> sc.name().length()).max().orElse(0);
        String row = "%-" + width + "s %10.3f %10.3f %10.1f%n";
        System.out.printf(Locale.ROOT, "%s, %d runs each after %d warm-up runs, sequential; limits: memory %s, pids %d,"
                + " cpu shares %d (%s cgroups)%n", PROGRAM, runs, warmup, MEMORY, PIDS, CPU_SHARES, host.layout());
        System.out.printf(Locale.ROOT, "%-" + width + "s %10s %10s %10s%n", "scenario", "median ms", "p99 ms", "runs/s");
        Stats[] results = new Stats[scenarios.size()];
        for (int s = 0; s < scenarios.size(); s++) {
            Scenario scenario = scenarios.get(s);
            try {
                measure(scenario, warmup);
                results[s] = measure(scenario, runs);
            } catch (Exception e) {
                // one scenario this host cannot run (no cgroup access, say) must not hide the others
                System.out.printf(Locale.ROOT, "%-" + width + "s failed: %s%n", scenario.name(), e);
                continue;
            }
            System.out.printf(Locale.ROOT, row, scenario.name(),
                    results[s].medianMs(), results[s].percentileMs(99), results[s].runsPerSecond());
        }
        overhead("sandbox overhead over ProcessBuilder", results[1], results[0]);
        overhead("limits overhead over the same namespaces", results[3], results[1]);
        System.out.println();
        try {
            SessionBenchmark.run(100);
        } catch (IOException | RuntimeException e) {
            System.out.println("persistent session vs fresh sandboxes failed: " + e);
        }
        try {
            ImageBenchmark.run(Math.min(runs, 500));
        } catch (IOException | RuntimeException e) {
            System.out.println("image rows failed: " + e);
        }
    }

    private static void overhead(String what, Stats with, Stats without) {
        if (with != null && without != null) {
            System.out.printf(Locale.ROOT, "%s: %+.2f ms median%n", what, with.medianMs() - without.medianMs());
        }
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
