package dev.isolation.examples.bench;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxSession;
import dev.isolation.core.SeccompPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A judge's inner loop: a trivial accepted C program (hello world) run 100 times through one
 * persistent {@link SandboxSession} and 100 times through {@link Sandbox#run} on fresh sandboxes,
 * with the same limits (1 s CPU, 3 s wall, 64 MiB, 1 MiB output, strict seccomp). The program is
 * compiled once on the host with {@code cc} and bound read-only at {@code /prog}. Prints runs per
 * second and the median per run; asserts nothing. Needs root and a C compiler.
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.SessionBenchmark [RUNS]
 * </pre>
 */
public final class SessionBenchmark {
    private static final String HELLO = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";
    private static final int WARMUP = 10;

    private SessionBenchmark() {}

    public static void main(String[] args) throws Exception {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 100);
    }

    /** Compiles the program, runs both rows and prints them. */
    static void run(int runs) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("isolation-bench-");
        try {
            compile(dir);
            Sandbox sandbox = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().bind(dir, "/prog")
                    .cpuTimeLimit(Duration.ofSeconds(1)).wallTimeLimit(Duration.ofSeconds(3)).memoryLimit(ByteSize.mb(64))
                    .outputLimit(ByteSize.mb(1)).seccomp(SeccompPolicy.strict()).build();
            ProcessBuilder hello = new ProcessBuilder("/prog/hello");
            String row = "%-34s %10.3f %10.1f%n";
            System.out.printf(Locale.ROOT, "hello world in C, %d runs each after %d warm-up runs, sequential; limits: 1 s CPU,"
                    + " 64 MiB, 1 MiB output, strict seccomp%n", runs, WARMUP);
            System.out.printf(Locale.ROOT, "%-34s %10s %10s%n", "scenario", "median ms", "runs/s");
            Benchmark.Stats session;
            try (SandboxSession box = sandbox.open()) {
                session = measure(() -> box.run(hello, new byte[0]), runs);
            }
            System.out.printf(Locale.ROOT, row, "persistent session (session.run)", session.medianMs(), session.runsPerSecond());
            Benchmark.Stats fresh = measure(() -> sandbox.run(hello, new byte[0]), runs);
            System.out.printf(Locale.ROOT, row, "fresh sandbox each (sandbox.run)", fresh.medianMs(), fresh.runsPerSecond());
            System.out.printf(Locale.ROOT, "session speed-up: %.2fx runs/s%n", session.runsPerSecond() / fresh.runsPerSecond());
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void compile(Path dir) throws IOException, InterruptedException {
        Files.writeString(dir.resolve("hello.c"), HELLO);
        Process cc = new ProcessBuilder("cc", "-O2", "-o", "hello", "hello.c").directory(dir.toFile())
                .redirectErrorStream(true).start();
        String output = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (cc.waitFor() != 0) {
            throw new IOException("cc failed: " + output);
        }
        // the sandboxed program runs as an unprivileged uid: the directory must be searchable
        dir.toFile().setExecutable(true, false);
    }

    private static Benchmark.Stats measure(Supplier<Outcome> run, int runs) throws IOException {
        for (int i = 0; i < WARMUP; i++) {
            check(run.get());
        }
        long[] nanos = new long[runs];
        long begin = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            Outcome o = run.get();
            nanos[i] = System.nanoTime() - t0;
            check(o);
        }
        return Benchmark.Stats.of(nanos, System.nanoTime() - begin);
    }

    /** A failing run measures a failure, not the path we want to time. */
    private static void check(Outcome o) throws IOException {
        if (o.status() != Outcome.Status.OK || !o.stdoutText().equals("hello\n")) {
            throw new IOException("hello failed: " + o + " " + o.message() + " " + o.stderrText());
        }
    }
}
