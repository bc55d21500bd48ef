package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code outputLimit} holds whatever the program's stdout and stderr are connected to: the JVM's
 * own inherited pipe or terminal, a FIFO, {@code /dev/null}; exactly the limit reaches the
 * reader and the run is {@code OUTPUT_LIMIT}, without the wall-time limit's help. The relay loses
 * nothing at the end, blocks the program (not the monitor) on a reader that does not read, and
 * passes a closed reader on as EPIPE. The sandbox's own tmpfs mounts hold at most the limit; a
 * session's storage and host directories are limited per file, and an {@link Interaction}'s
 * connection not at all (the other program reads it), as the README says.
 */
@KernelTest
class OutputLimitIT {
    private static final long LIMIT = 1 << 20;
    /** Far more than the limit, and an end, so that a run without the limit ends too. */
    private static final String WRITE_50_MIB = "head -c 52428800 /dev/zero";
    private static final Sandbox LIMITED = Sandbox.builder().pidNs().mountNs().minimalRoot()
            .wallTimeLimit(Duration.ofSeconds(30)).outputLimit(ByteSize.ofBytes(LIMIT)).build();

    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void anInheritedPipeGetsExactlyTheLimitAndTheRunIsOutputLimit() throws Exception {
        Path report = dir.resolve("report");
        Process jvm = childJvm(report, "sh", "-c", WRITE_50_MIB).redirectOutput(Redirect.PIPE)
                .redirectError(dir.resolve("jvm.err").toFile()).start();
        try {
            CompletableFuture<Long> delivered = countAsync(jvm.getInputStream());
            assertThat(jvm.waitFor(60, TimeUnit.SECONDS)).as("the child JVM finished").isTrue();
            assertThat(delivered.get(30, TimeUnit.SECONDS)).as("bytes through the JVM's inherited stdout").isEqualTo(LIMIT);
        } finally {
            jvm.destroyForcibly();
        }
        assertThat(Files.readString(report)).as(Files.readString(dir.resolve("jvm.err"))).startsWith("OUTPUT_LIMIT ");
    }

    @Test
    @Timeout(120)
    void anInheritedTerminalGetsExactlyTheLimit() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Skip.unless(Files.isExecutable(python), "needs /usr/bin/python3 to make a pseudo-terminal");
        Path report = dir.resolve("report");
        List<String> command = new java.util.ArrayList<>(List.of(python.toString(), "-c", PTY_READER));
        command.addAll(childJvm(report, "sh", "-c", "test -t 1 && echo tty >&2; " + WRITE_50_MIB).command());
        Process py = new ProcessBuilder(command).redirectError(dir.resolve("jvm.err").toFile()).start();
        String counted;
        try {
            assertThat(py.waitFor(90, TimeUnit.SECONDS)).as("the terminal's reader finished").isTrue();
            counted = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        } finally {
            py.destroyForcibly();
        }
        String err = Files.readString(dir.resolve("jvm.err"));
        assertThat(counted).as(err).isEqualTo(LIMIT + " 0");
        assertThat(Files.readString(report)).as(err).startsWith("OUTPUT_LIMIT ");
        assertThat(err).as("the program sees a pipe, not the terminal").doesNotContain("tty");
    }

    @Test
    @Timeout(60)
    void aFifoTheCallerPassesGetsExactlyTheLimit() throws Exception {
        Path exact = fifo("exact");
        CompletableFuture<Long> all = countAsync(exact);
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("head", "-c", Long.toString(LIMIT), "/dev/zero")
                .redirectOutput(exact.toFile()))) {
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).as("the limit itself is allowed").isEqualTo(Outcome.Status.OK);
        }
        assertThat(all.get(30, TimeUnit.SECONDS)).isEqualTo(LIMIT);

        Path fifo = fifo("out");
        CompletableFuture<Long> delivered = countAsync(fifo);
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("sh", "-c", WRITE_50_MIB).redirectOutput(fifo.toFile()))) {
            Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
            assertThat(o.status()).as(o.toString()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
            assertThat(o.killed()).isTrue();
            assertThat(o.signal()).as("killed, not ended by EPIPE").hasValue(9);
        }
        assertThat(delivered.get(30, TimeUnit.SECONDS)).isEqualTo(LIMIT);
    }

    @Test
    @Timeout(60)
    void stdoutAndStderrHaveTheLimitEachAndMergedTheyShareIt() throws Exception {
        String both = "head -c 700000 /dev/zero; head -c 700000 /dev/zero >&2";
        Path out = fifo("out");
        Path err = fifo("err");
        CompletableFuture<Long> outBytes = countAsync(out);
        CompletableFuture<Long> errBytes = countAsync(err);
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("sh", "-c", both).redirectOutput(out.toFile())
                .redirectError(err.toFile()))) {
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OK);
        }
        assertThat(outBytes.get(30, TimeUnit.SECONDS)).isEqualTo(700000);
        assertThat(errBytes.get(30, TimeUnit.SECONDS)).isEqualTo(700000);

        Path merged = fifo("merged");
        CompletableFuture<Long> mergedBytes = countAsync(merged);
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("sh", "-c", both).redirectOutput(merged.toFile())
                .redirectErrorStream(true))) {
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        }
        assertThat(mergedBytes.get(30, TimeUnit.SECONDS)).isEqualTo(LIMIT);
    }

    @Test
    @Timeout(60)
    void discardedOutputCountsToo() throws Exception {
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("sh", "-c", WRITE_50_MIB + " >&2")
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD))) {
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        }
    }

    @Test
    @Timeout(60)
    void whatTheProgramWroteBeforeItEndedReachesASlowReaderBeforeTheOutcome() throws Exception {
        Path fifo = fifo("out");
        CompletableFuture<Long> delivered = async(() -> {
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                Thread.sleep(1000); // meanwhile the program writes what the pipes hold, and exits
                return count(in);
            }
        });
        try (IsolatedProcess p = LIMITED.start(new ProcessBuilder("sh", "-c", "head -c 120000 /dev/zero")
                .redirectOutput(fifo.toFile()))) {
            Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
            assertThat(o.status()).isEqualTo(Outcome.Status.OK);
            assertThat(o.wallTime()).as("the run ends when its output is delivered").isGreaterThan(Duration.ofMillis(500));
        }
        assertThat(delivered.get(30, TimeUnit.SECONDS)).isEqualTo(120000);
    }

    @Test
    @Timeout(60)
    void aReaderThatNeverReadsBlocksTheProgramAndTheWallLimitStillHolds() throws Exception {
        Path fifo = fifo("out");
        CompletableFuture<InputStream> opened = async(() -> new FileInputStream(fifo.toFile())); // opens, never reads
        Sandbox twoSeconds = LIMITED.toBuilder().wallTimeLimit(Duration.ofSeconds(2)).build();
        try (IsolatedProcess p = twoSeconds.start(new ProcessBuilder("yes").redirectOutput(fifo.toFile()))) {
            Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
            assertThat(o.status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
        } finally {
            opened.get(10, TimeUnit.SECONDS).close();
        }
    }

    @Test
    @Timeout(60)
    void aClosedReaderEndsTheProgramWithSigpipe() throws Exception {
        Path fifo = fifo("out");
        CompletableFuture<Integer> readsALittle = async(() -> {
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                return in.read(new byte[100]); // FileInputStream.readNBytes would seek the FIFO
            }
        });
        Sandbox big = LIMITED.toBuilder().outputLimit(ByteSize.gb(64)).build();
        try (IsolatedProcess p = big.start(new ProcessBuilder("yes").redirectOutput(fifo.toFile()))) {
            Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
            assertThat(o.status()).as(o.toString()).isEqualTo(Outcome.Status.SIGNALED);
            assertThat(o.signal()).as("SIGPIPE").hasValue(13);
            assertThat(o.killed()).isFalse();
        }
        readsALittle.get(10, TimeUnit.SECONDS);
    }

    @Test
    @Timeout(60)
    void anInteractionsConnectionIsTheOtherProgramsToRead() throws Exception {
        try (Interaction run = Interaction.start(LIMITED, new ProcessBuilder("sh", "-c", "wc -c >&2"), LIMITED,
                new ProcessBuilder("head", "-c", Long.toString(2 * LIMIT), "/dev/zero"))) {
            assertThat(run.solution().outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OK);
            assertThat(run.interactor().outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OK);
            assertThat(new String(run.interactor().getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim())
                    .isEqualTo(Long.toString(2 * LIMIT));
        }
    }

    @Test
    @Timeout(60)
    void theSandboxsOwnTmpfsMountsHoldAtMostTheLimitEach() {
        // 20 files of 256 KiB into each, every one under the limit that RLIMIT_FSIZE sets per file
        String fill = "for d in /tmp /dev/shm /data; do i=0; while [ $i -lt 20 ]; do"
                + " head -c 262144 /dev/zero > $d/f$i 2>/dev/null; i=$((i+1)); done; cat $d/f* | wc -c; done";
        Outcome o = LIMITED.toBuilder().tmpfs("/data", ByteSize.mb(64)).build().run("sh", "-c", fill);
        List<Long> stored = o.stdoutText().lines().map(Long::parseLong).toList();
        assertThat(stored).as(o + " " + o.stderrText()).hasSize(3).allSatisfy(b -> assertThat(b).isPositive().isLessThanOrEqualTo(LIMIT));
    }

    @Test
    @Timeout(60)
    void aSessionsStorageIsTheSessionsAndARunsLimitHoldsPerFile() throws Exception {
        try (SandboxSession box = Sandbox.builder().pidNs().mountNs().minimalRoot().build().open(ByteSize.mb(8))) {
            Outcome files = box.run(LIMITED.runLimits(), new ProcessBuilder("sh", "-c",
                    "head -c 1048576 /dev/zero > a; head -c 1048576 /dev/zero > b; cat a b | wc -c"), new byte[0]);
            assertThat(files.status()).isEqualTo(Outcome.Status.OK);
            assertThat(files.stdoutText().trim()).as("two files at the limit: the session's /box is not sized by a run")
                    .isEqualTo("2097152");
            Outcome tooBig = box.run(LIMITED.runLimits(), new ProcessBuilder("sh", "-c", "exec head -c 1048577 /dev/zero > c"), new byte[0]);
            assertThat(tooBig.status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
            assertThat(tooBig.signal()).as("SIGXFSZ").hasValue(25);
        }
    }

    @Test
    @Timeout(60)
    void aWritableHostDirectoryIsLimitedPerFileOnly() throws Exception {
        Path host = Files.createDirectory(dir.resolve("host"));
        Files.setPosixFilePermissions(host, PosixFilePermissions.fromString("rwxrwxrwx"));
        Sandbox bound = LIMITED.toBuilder().bindWritable(host, "/out").build();
        Outcome three = bound.run("sh", "-c", "for f in a b c; do head -c 1048576 /dev/zero > /out/$f; done");
        assertThat(three.status()).isEqualTo(Outcome.Status.OK);
        try (var files = Files.list(host)) {
            assertThat(files.mapToLong(f -> f.toFile().length()).sum()).isEqualTo(3 * LIMIT);
        }
        Outcome tooBig = bound.run("sh", "-c", "exec head -c 1048577 /dev/zero > /out/d");
        assertThat(tooBig.status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        assertThat(Files.size(host.resolve("d"))).isEqualTo(LIMIT);
    }

    /** Counts what it reads from the master of a pseudo-terminal whose slave is the command's stdout; prints "COUNT STATUS". */
    private static final String PTY_READER = String.join("\n",
            "import os, pty, select, subprocess, sys, time, tty",
            "m, s = pty.openpty()",
            "tty.setraw(s)",
            "p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=s, close_fds=True)",
            "os.close(s)",
            "total, end = 0, time.monotonic() + 60",
            "while time.monotonic() < end:",
            "    r, _, _ = select.select([m], [], [], 0.5)",
            "    if not r:",
            "        if p.poll() is not None: break",
            "        continue",
            "    try: b = os.read(m, 65536)",
            "    except OSError: break",
            "    if not b: break",
            "    total += len(b)",
            "print(total, p.wait(timeout=30))");

    /** A JVM that runs {@code command} under {@link #LIMITED} with its own stdout and stderr inherited, and writes the verdict to {@code report}. */
    private static ProcessBuilder childJvm(Path report, String... command) {
        List<String> argv = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        argv.addAll(JavaCommand.flags());
        argv.addAll(List.of("-cp", System.getProperty("java.class.path"), InheritingRun.class.getName(), report.toString()));
        argv.addAll(List.of(command));
        return new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")));
    }

    /** The child JVM of {@link #childJvm}. */
    static final class InheritingRun {
        public static void main(String[] args) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(List.of(args).subList(1, args.length)).inheritIO();
            Outcome o;
            try (IsolatedProcess p = LIMITED.start(pb)) {
                o = p.outcome().get(60, TimeUnit.SECONDS);
            }
            Files.writeString(Path.of(args[0]), o.status() + " " + o);
            System.exit(0);
        }
    }

    private Path fifo(String name) throws Exception {
        Path fifo = dir.resolve(name);
        Process mkfifo = new ProcessBuilder("mkfifo", "-m", "0666", fifo.toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();
        return fifo;
    }

    private static CompletableFuture<Long> countAsync(Path fifo) {
        return async(() -> {
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                return count(in);
            }
        });
    }

    private static CompletableFuture<Long> countAsync(InputStream in) {
        return async(() -> {
            try (in) {
                return count(in);
            }
        });
    }

    /** On a thread of its own: FIFO readers block in open() until the sandbox's side is opened. */
    private static <T> CompletableFuture<T> async(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "output-limit-it");
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static long count(InputStream in) throws IOException {
        byte[] buf = new byte[1 << 16];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            total += n;
        }
        return total;
    }
}
