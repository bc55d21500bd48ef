package dev.isolation.examples.bench;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxPool;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How much a sandbox costs per run, as ratios to tools measured in the same run: {@code /bin/true}
 * started and waited for under each scenario, in interleaved rounds (every scenario gets its share
 * of each round, so a load that comes and goes falls on all of them alike). Then the same with a
 * 50 ms idle gap before each run (as a judge waits between submissions: cgroup v1 migrations then
 * wait for an RCU grace period), concurrent callers, many live sandboxes (threads and memory),
 * {@link SessionBenchmark}, and {@link ImageBenchmark} (a cached three-layer image vs
 * minimalRoot(), and unpacking ~100 MiB vs tar -x). Asserts nothing: it prints figures. Needs root
 * for the namespaces and the cgroups; bubblewrap ({@code bwrap}) and util-linux {@code unshare} rows
 * are skipped, saying so, where they are not installed; a scenario the host cannot run prints its
 * failure and the others still run.
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.Benchmark [--runs N | N] [--warmup N] [--rounds N]
 *      [--gap-runs N] [--burst-seconds N] [--live N]
 * </pre>
 */
public final class Benchmark {
    private static final String PROGRAM = "/bin/true";
    private static final ByteSize MEMORY = ByteSize.mb(64);
    private static final long PIDS = 64;
    private static final int CPU_SHARES = 512;
    private static final long GAP_MILLIS = 50;
    private static final String BWRAP = "/usr/bin/bwrap";
    private static final String UNSHARE = "/usr/bin/unshare";
    /** Sandboxes of the pooled row: as many as the most concurrent callers of the bursts that fit 2 cores' worth of work. */
    private static final int POOL_SIZE = 8;

    /** The pooled row's {@link SandboxPool}, opened at its first run. */
    private static final class Pool {
        private final Sandbox policy;
        private final int size;
        private SandboxPool pool;

        Pool(Sandbox policy, int size) {
            this.policy = policy;
            this.size = size;
        }

        Object run() throws Exception {
            SandboxPool p;
            synchronized (this) {
                if (pool == null) {
                    pool = policy.pool(size);
                }
                p = pool;
            }
            try (IsolatedProcess r = p.start(new ProcessBuilder(PROGRAM))) {
                check(r.waitFor());
            }
            return null;
        }

        synchronized void close() {
            if (pool != null) {
                System.out.println("pooled row: " + pool.stats());
                pool.close();
            }
        }
    }

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

    /** The command-line options. */
    record Options(int runs, int warmup, int rounds, int gapRuns, int burstSeconds, int live) {
        static Options parse(String[] args) {
            int runs = 1000, warmup = 200, rounds = 5, gapRuns = 100, burstSeconds = 3, live = 500;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--runs" -> runs = number(args, ++i, 1);
                    case "--warmup" -> warmup = number(args, ++i, 0);
                    case "--rounds" -> rounds = number(args, ++i, 1);
                    case "--gap-runs" -> gapRuns = number(args, ++i, 0);
                    case "--burst-seconds" -> burstSeconds = number(args, ++i, 0);
                    case "--live" -> live = number(args, ++i, 0);
                    default -> runs = number(args, i, 1);
                }
            }
            return new Options(runs, warmup, rounds, gapRuns, burstSeconds, live);
        }
    }

    private Benchmark() {}

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Sandbox namespaces = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();
        Sandbox limited = namespaces.toBuilder().memoryLimit(MEMORY).pidsLimit(PIDS).cpuShares(CPU_SHARES).build();
        // what a judge runs: limits, a root of its own, the default seccomp policy (the builder's default)
        Sandbox judge = namespaces.toBuilder().memoryLimit(MEMORY).pidsLimit(PIDS).minimalRoot().build();
        CgroupLimits limits = CgroupLimits.builder().memoryLimit(MEMORY).pidsLimit(PIDS).cpuShares(CPU_SHARES).build();
        CgroupHost host = CgroupHost.detect();

        List<Scenario> scenarios = new ArrayList<>();
        scenarios.add(new Scenario("ProcessBuilder", () -> processBuilder(PROGRAM)));
        tool(BWRAP, "bubblewrap --unshare-all (ProcessBuilder)", List.of(BWRAP, "--unshare-all", "--ro-bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc", PROGRAM)).ifPresent(scenarios::add);
        tool(UNSHARE, "unshare -pmuin --fork (ProcessBuilder)", List.of(UNSHARE, "-pmuin", "--fork", PROGRAM))
                .ifPresent(scenarios::add);
        scenarios.add(new Scenario("Sandbox pid+mount+uts+ipc+net", () -> sandbox(namespaces)));
        scenarios.add(new Scenario("  + memory/pids/cpu limits", () -> sandbox(limited)));
        scenarios.add(new Scenario("judge policy (limits, minimal root, seccomp)", () -> sandbox(judge)));
        // the same policy, run after run in sandboxes set up ahead: opened at its first run, closed at the end
        Pool pooled = new Pool(judge, POOL_SIZE);
        scenarios.add(new Scenario("judge policy, pooled (SandboxPool of " + POOL_SIZE + ")", pooled::run));
        // what a limit costs without a process: mkdir in each hierarchy, the limit files, rmdir
        scenarios.add(new Scenario("cgroup create+configure+destroy", () -> {
            host.create(limits).close();
            return null;
        }));

        System.out.printf(Locale.ROOT, "%s; %d runs a scenario in %d interleaved rounds after %d warm-up runs; limits: memory %s,"
                + " pids %d, cpu shares %d (%s cgroups); %d cores%n", PROGRAM, o.runs(), o.rounds(), o.warmup(), MEMORY,
                PIDS, CPU_SHARES, host.layout(), Runtime.getRuntime().availableProcessors());
        Map<Scenario, Stats> back = interleaved(scenarios, o.runs(), o.rounds(), o.warmup(), 0);
        Map<Scenario, Stats> gap = o.gapRuns() == 0 ? Map.of()
                : interleaved(scenarios, o.gapRuns(), o.rounds(), 0, GAP_MILLIS);
        Optional<Stats> bubblewrap = back.entrySet().stream().filter(e -> e.getKey().name().startsWith("bubblewrap"))
                .map(Map.Entry::getValue).findFirst();
        Optional<Stats> bubblewrapGap = gap.entrySet().stream().filter(e -> e.getKey().name().startsWith("bubblewrap"))
                .map(Map.Entry::getValue).findFirst();

        int width = scenarios.stream().mapToInt(sc -> sc.name().length()).max().orElse(0);
        System.out.printf(Locale.ROOT, "%-" + width + "s %10s %10s %10s %8s %12s %8s%n", "scenario", "median ms", "p99 ms", "runs/s",
                "x bwrap", "50ms-gap ms", "x bwrap");
        for (Scenario s : scenarios) {
            Stats b = back.get(s);
            if (b == null) {
                continue; // it failed, and said so
            }
            Stats g = gap.get(s);
            System.out.printf(Locale.ROOT, "%-" + width + "s %10.3f %10.3f %10.1f %8s %12s %8s%n", s.name(), b.medianMs(),
                    b.percentileMs(99), b.runsPerSecond(), ratio(b, bubblewrap), g == null ? "-" : String.format(Locale.ROOT, "%.3f",
                    g.medianMs()), g == null ? "-" : ratio(g, bubblewrapGap));
        }

        if (o.live() > 0) {
            System.out.println();
            live(judge, o.live());
        }

        if (o.burstSeconds() > 0) {
            System.out.println();
            System.out.printf(Locale.ROOT, "concurrent callers, %d s bursts of back-to-back runs, runs/s (failures)%n", o.burstSeconds());
            List<Scenario> concurrent = scenarios.stream().filter(s -> s.name().startsWith("bubblewrap") || s.name().startsWith("judge"))
                    .toList();
            System.out.printf(Locale.ROOT, "%8s", "threads");
            concurrent.forEach(s -> System.out.printf(Locale.ROOT, " %28s", shortName(s)));
            System.out.println();
            for (int threads : new int[] {2, 8, 32}) {
                System.out.printf(Locale.ROOT, "%8d", threads);
                for (Scenario s : concurrent) {
                    long[] r = burst(s, threads, o.burstSeconds());
                    System.out.printf(Locale.ROOT, " %28s", String.format(Locale.ROOT, "%.1f (%d)", r[0] / (double) o.burstSeconds(), r[1]));
                }
                System.out.println();
            }
        }

        pooled.close();

        System.out.println();
        try {
            SessionBenchmark.run(100);
        } catch (IOException | RuntimeException e) {
            System.out.println("persistent session vs fresh sandboxes failed: " + e);
        }
        try {
            ImageBenchmark.run(Math.min(o.runs(), 500));
        } catch (IOException | RuntimeException e) {
            System.out.println("image rows failed: " + e);
        }
    }

    private static Object processBuilder(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).start();
        check(p.waitFor());
        // as IsolatedProcess.close() does, so all rows pay for the same pipes
        for (Closeable c : new Closeable[] {p.getOutputStream(), p.getInputStream(), p.getErrorStream()}) {
            c.close();
        }
        return null;
    }

    private static Object sandbox(Sandbox s) throws Exception {
        try (IsolatedProcess p = s.start(PROGRAM)) {
            check(p.waitFor());
        }
        return null;
    }

    /** A row for a tool run through ProcessBuilder, if it is installed. */
    private static Optional<Scenario> tool(String path, String name, List<String> command) {
        if (!new File(path).canExecute()) {
            System.out.println(name + ": skipped, " + path + " is not installed");
            return Optional.empty();
        }
        String[] argv = command.toArray(String[]::new);
        return Optional.of(new Scenario(name, () -> processBuilder(argv)));
    }

    private static String ratio(Stats s, Optional<Stats> anchor) {
        return anchor.map(a -> String.format(Locale.ROOT, "%.2f", s.medianMs() / a.medianMs())).orElse("-");
    }

    private static String shortName(Scenario s) {
        return s.name().length() > 28 ? s.name().substring(0, 28) : s.name();
    }

    /**
     * {@code runs} runs of every scenario, in {@code rounds} rounds of {@code runs / rounds} each,
     * scenario after scenario; {@code gapMillis} of idleness (not timed) before each run. A scenario
     * that fails prints why and is left out.
     */
    private static Map<Scenario, Stats> interleaved(List<Scenario> scenarios, int runs, int rounds, int warmup, long gapMillis)
            throws InterruptedException {
        Map<Scenario, long[]> nanos = new LinkedHashMap<>();
        Map<Scenario, Long> total = new LinkedHashMap<>();
        Map<Scenario, Integer> done = new LinkedHashMap<>();
        for (Scenario s : scenarios) {
            try {
                for (int i = 0; i < warmup; i++) {
                    s.run().call();
                }
                nanos.put(s, new long[runs]);
                total.put(s, 0L);
                done.put(s, 0);
            } catch (Exception e) {
                // one scenario this host cannot run (no cgroup access, say) must not hide the others
                System.out.println(s.name() + " failed: " + e);
            }
        }
        for (int round = 0; round < rounds; round++) {
            int share = runs / rounds + (round < runs % rounds ? 1 : 0);
            for (Scenario s : List.copyOf(nanos.keySet())) {
                try {
                    long begin = System.nanoTime();
                    long idle = 0;
                    for (int i = 0; i < share; i++) {
                        if (gapMillis > 0) {
                            long g0 = System.nanoTime();
                            Thread.sleep(gapMillis);
                            idle += System.nanoTime() - g0;
                        }
                        long t0 = System.nanoTime();
                        s.run().call();
                        nanos.get(s)[done.get(s)] = System.nanoTime() - t0;
                        done.merge(s, 1, Integer::sum);
                    }
                    total.merge(s, System.nanoTime() - begin - idle, Long::sum);
                } catch (InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    System.out.println(s.name() + " failed: " + e);
                    nanos.remove(s);
                }
            }
        }
        Map<Scenario, Stats> stats = new LinkedHashMap<>();
        nanos.forEach((s, n) -> stats.put(s, Stats.of(n, total.get(s))));
        return stats;
    }

    /** Runs and failures of {@code threads} callers running back to back for {@code seconds}. */
    private static long[] burst(Scenario s, int threads, int seconds) throws InterruptedException {
        AtomicLong runs = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> callers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                callers.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        try {
                            s.run().call();
                            runs.incrementAndGet();
                        } catch (Exception e) {
                            failures.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<?> f : callers) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.incrementAndGet();
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return new long[] {runs.get(), failures.get()};
    }

    /**
     * {@code count} live sandboxes of {@code policy} at once, each running {@code sleep}: the
     * library's threads in this JVM, and the memory of the native processes of each sandbox (its
     * monitor and its init, not the program), RSS and PSS from {@code /proc/PID/smaps_rollup}.
     */
    private static void live(Sandbox policy, int count) {
        List<IsolatedProcess> running = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                running.add(policy.start("/bin/sleep", "600"));
            }
            long threads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("isolation")).count();
            long rss = 0, pss = 0, processes = 0;
            for (IsolatedProcess p : running) {
                Optional<ProcessHandle> init = p.toHandle().parent();
                Optional<ProcessHandle> monitor = init.flatMap(ProcessHandle::parent);
                for (ProcessHandle h : new ProcessHandle[] {init.orElse(null), monitor.orElse(null)}) {
                    if (h != null) {
                        long[] m = memoryKib(h.pid());
                        rss += m[0];
                        pss += m[1];
                        processes++;
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%d live judge-policy sandboxes: %d library threads; native processes per sandbox %.1f,"
                    + " RSS %.0f KiB and PSS %.0f KiB per sandbox%n", count, threads, processes / (double) count,
                    rss / (double) count, pss / (double) count);
        } catch (Exception e) {
            System.out.println(count + " live sandboxes failed after " + running.size() + ": " + e);
        } finally {
            running.forEach(IsolatedProcess::destroyForcibly);
            for (IsolatedProcess p : running) {
                try {
                    p.close();
                } catch (IOException e) {
                    System.out.println("closing a live sandbox failed: " + e);
                }
            }
        }
    }

    /** RSS and PSS of a process, in KiB. */
    private static long[] memoryKib(long pid) throws IOException {
        long rss = 0, pss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            String[] f = line.split("\\s+");
            if (f[0].equals("Rss:")) {
                rss = Long.parseLong(f[1]);
            } else if (f[0].equals("Pss:")) {
                pss = Long.parseLong(f[1]);
            }
        }
        return new long[] {rss, pss};
    }

    /** A failing run measures a failure, not the path we want to time. */
    private static void check(int exitValue) throws IOException {
        if (exitValue != 0) {
            throw new IOException(PROGRAM + " exited with " + exitValue);
        }
    }

    private static int number(String[] args, int i, int min) {
        String text = i < args.length ? args[i] : "";
        try {
            int n = Integer.parseInt(text);
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("expected a number of at least " + min + ", got \"" + text
                + "\"; usage: Benchmark [--runs N | N] [--warmup N] [--rounds N] [--gap-runs N] [--burst-seconds N] [--live N]");
    }
}
