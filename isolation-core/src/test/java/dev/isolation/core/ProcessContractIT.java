package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link IsolatedProcess} is a whole {@link Process}: one table of scenarios, each run against
 * {@code ProcessBuilder.start()} (the JDK's own contract, as the reference) and against every kind
 * of sandboxed program (with a pid namespace, without one, with a root of its own, and a run in a
 * {@link SandboxSession}), with the same assertions.
 */
@KernelTest
class ProcessContractIT {
    private static final Sandbox PID_NS = Sandbox.builder().pidNs().build();
    private static final Sandbox NO_PID_NS = Sandbox.builder().build(); // a root JVM: the sandbox's own uid
    private static final Sandbox OWN_ROOT = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();
    private static SandboxSession session; // opened by the first SESSION_RUN

    /** What starts the scenario's program. */
    enum Target {
        PROCESS_BUILDER, SANDBOX_PID_NS, SANDBOX_NO_PID_NS, SANDBOX_OWN_ROOT, SESSION_RUN;

        Process start(ProcessBuilder pb) throws IOException {
            return switch (this) {
                case PROCESS_BUILDER -> pb.start();
                case SANDBOX_PID_NS -> PID_NS.start(pb);
                case SANDBOX_NO_PID_NS -> NO_PID_NS.start(pb);
                case SANDBOX_OWN_ROOT -> OWN_ROOT.start(pb);
                case SESSION_RUN -> session().start(pb);
            };
        }
    }

    private static synchronized SandboxSession session() throws SandboxException {
        if (session == null) {
            session = OWN_ROOT.open();
        }
        return session;
    }

    @AfterAll
    static synchronized void closeSession() {
        if (session != null) {
            session.close();
        }
    }

    /** Every process a scenario started, and what those started: killed after each test. */
    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void killWhatIsLeft() throws Exception {
        Thread.interrupted();
        for (Process p : started) {
            List<ProcessHandle> descendants = List.of();
            try {
                descendants = p.isAlive() ? p.descendants().toList() : List.of();
            } catch (UnsupportedOperationException e) {
                // before IsolatedProcess had descendants(): its sandbox kills them anyway
            }
            p.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly); // a ProcessBuilder child's would outlive it
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("%s ended after destroyForcibly", p).isTrue();
            if (p instanceof IsolatedProcess ip) {
                ip.close();
            }
        }
    }

    /** One row of the table: a program and the contract it checks. */
    @FunctionalInterface
    interface Check {
        void run(Target target, ProcessContractIT test) throws Exception;
    }

    enum Scenario {
        /** pid() is the program's, and toHandle() is ProcessHandle.of(pid()). */
        HANDLE_IS_THE_PROGRAMS((t, test) -> {
            Process p = test.start(t, "sh", "-c", "read x");
            assertThat(p.pid()).isPositive();
            ProcessHandle h = p.toHandle();
            assertThat(h.pid()).isEqualTo(p.pid());
            assertThat(h).isEqualTo(ProcessHandle.of(p.pid()).orElseThrow());
            assertThat(h.isAlive()).isTrue();
            assertThat(p.supportsNormalTermination()).isTrue();
            assertThat(h.supportsNormalTermination()).isTrue();
            p.getOutputStream().close();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }),
        /** isAlive(), exitValue(), waitFor() and waitFor(timeout) before and after the exit. */
        ALIVE_UNTIL_EXIT((t, test) -> {
            Process p = test.start(t, "sh", "-c", "read x; exit 3");
            assertThat(p.isAlive()).isTrue();
            assertThatThrownBy(p::exitValue).isInstanceOf(IllegalThreadStateException.class);
            assertThat(p.waitFor(0, TimeUnit.SECONDS)).isFalse();
            assertThat(p.waitFor(-1, TimeUnit.SECONDS)).isFalse();
            assertThat(p.waitFor(50, TimeUnit.MILLISECONDS)).isFalse(); // it waits for its input: cannot end
            assertThatThrownBy(() -> p.waitFor(1, null)).isInstanceOf(NullPointerException.class);
            p.getOutputStream().close();
            assertThat(p.waitFor()).isEqualTo(3);
            assertThat(p.isAlive()).isFalse();
            assertThat(p.exitValue()).isEqualTo(3);
            assertThat(p.waitFor()).isEqualTo(3);
            assertThat(p.waitFor(0, TimeUnit.SECONDS)).isTrue();
            assertThat(p.waitFor(-1, TimeUnit.SECONDS)).isTrue();
        }),
        /** An interrupt ends waitFor() with InterruptedException and leaves the program running; once it ended, waitFor() returns. */
        WAIT_FOR_IS_INTERRUPTIBLE((t, test) -> {
            Process p = test.start(t, "sh", "-c", "read x; exit 4");
            Thread.currentThread().interrupt();
            assertThatThrownBy(p::waitFor).isInstanceOf(InterruptedException.class);
            assertThat(Thread.interrupted()).as("interrupt status after InterruptedException").isFalse();
            Thread.currentThread().interrupt();
            assertThatThrownBy(() -> p.waitFor(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            assertThat(Thread.interrupted()).isFalse();
            assertThat(p.isAlive()).isTrue();
            p.getOutputStream().close();
            assertThat(p.waitFor()).isEqualTo(4);
            Thread.currentThread().interrupt();
            try {
                assertThat(p.waitFor()).isEqualTo(4); // ended: no wait, no exception
                assertThat(p.waitFor(1, TimeUnit.SECONDS)).isTrue();
            } finally {
                assertThat(Thread.interrupted()).as("interrupt status kept").isTrue();
            }
        }),
        /** onExit() completes with the process itself; cancelling it does not affect the process. */
        ON_EXIT_COMPLETES_WITH_THE_PROCESS((t, test) -> {
            Process p = test.start(t, "sh", "-c", "read x; exit 5");
            CompletableFuture<Process> exit = p.onExit();
            assertThat(exit).isNotDone();
            p.onExit().cancel(true);
            assertThat(p.isAlive()).isTrue();
            assertThat(exit).isNotDone();
            p.getOutputStream().close();
            assertThat(exit.get(10, TimeUnit.SECONDS)).isSameAs(p);
            assertThat(p.isAlive()).isFalse();
            assertThat(p.exitValue()).isEqualTo(5);
            assertThat(p.onExit().get(10, TimeUnit.SECONDS)).isSameAs(p);
        }),
        /** destroy(): SIGTERM, exit value 143; nothing once the process has ended. */
        DESTROY_TERMINATES((t, test) -> {
            Process p = test.start(t, "sleep", "100");
            p.destroy();
            assertThat(p.waitFor()).isEqualTo(128 + 15);
            assertThat(p.exitValue()).isEqualTo(143);
            assertThat(p.isAlive()).isFalse();
            p.destroy();
            p.destroyForcibly();
            assertThat(p.exitValue()).isEqualTo(143);
        }),
        /** destroyForcibly(): SIGKILL, exit value 137, returns the process. */
        DESTROY_FORCIBLY_KILLS((t, test) -> {
            Process p = test.start(t, "sleep", "100");
            assertThat(p.destroyForcibly()).isSameAs(p);
            assertThat(p.waitFor()).isEqualTo(128 + 9);
            assertThat(p.exitValue()).isEqualTo(137);
            p.destroyForcibly();
            p.destroy();
            assertThat(p.exitValue()).isEqualTo(137);
        }),
        /** The three pipes; the same stream objects on every call; skip() reads through a pipe. */
        STREAMS_ARE_THE_PROGRAMS_STDIO((t, test) -> {
            Process p = test.start(t, "sh", "-c", "cat; echo err >&2");
            assertThat(p.getOutputStream()).isSameAs(p.getOutputStream());
            assertThat(p.getInputStream()).isSameAs(p.getInputStream());
            assertThat(p.getErrorStream()).isSameAs(p.getErrorStream());
            try (OutputStream in = p.getOutputStream()) {
                in.write("0123456789\n".getBytes(StandardCharsets.US_ASCII));
            }
            assertThat(p.waitFor()).isEqualTo(0);
            InputStream out = p.getInputStream();
            assertThat(out.skip(3)).isEqualTo(3);
            assertThat(new String(out.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("3456789\n");
            assertThat(out.read()).isEqualTo(-1);
            assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("err\n");
        }),
        /** redirectErrorStream(true): both outputs on getInputStream(); getErrorStream() is a null input stream. */
        REDIRECT_ERROR_STREAM_MERGES((t, test) -> {
            Process p = test.start(t, new ProcessBuilder("sh", "-c", "echo out; echo err >&2").redirectErrorStream(true));
            assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("out\nerr\n");
            assertThat(p.getErrorStream().read()).isEqualTo(-1);
            assertThat(p.getErrorStream().available()).isEqualTo(0);
            assertThat(p.waitFor()).isEqualTo(0);
        }),
        /** Redirected streams are null streams: reads end at once, a write fails (ProcessBuilder's "null output stream"). */
        REDIRECTED_STREAMS_ARE_NULL_STREAMS((t, test) -> {
            Path input = Files.writeString(test.dir.resolve("in.txt"), "from a file\n");
            Path output = test.dir.resolve("out.txt");
            Process p = test.start(t, new ProcessBuilder("sh", "-c", "cat; echo err >&2").redirectInput(input.toFile())
                    .redirectOutput(output.toFile()).redirectError(Redirect.DISCARD));
            assertThat(p.getInputStream().read()).isEqualTo(-1);
            assertThat(p.getErrorStream().read()).isEqualTo(-1);
            assertThatThrownBy(() -> p.getOutputStream().write('x')).isInstanceOf(IOException.class);
            assertThat(p.waitFor()).isEqualTo(0);
            assertThat(Files.readString(output)).isEqualTo("from a file\n");
        }),
        /** Input from a device ({@code /dev/null}) reads end of file at once, as ProcessBuilder's does; a directory is refused at start. */
        INPUT_FROM_A_DEVICE_AND_NOT_A_DIRECTORY((t, test) -> {
            Process p = test.start(t, new ProcessBuilder("sh", "-c", "wc -c").redirectInput(Redirect.from(new java.io.File("/dev/null"))));
            assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim()).isEqualTo("0");
            assertThat(p.waitFor()).isEqualTo(0);
            assertThatThrownBy(() -> test.start(t, new ProcessBuilder("cat").redirectInput(test.dir.toFile())))
                    .isInstanceOf(IOException.class);
        }),
        /** inputReader/errorReader/outputWriter: their charset, the same object again, IllegalStateException for another charset. */
        READERS_AND_WRITER_USE_THEIR_CHARSET((t, test) -> {
            Process p = test.start(t, "sh", "-c", "cat; printf 'err\\n\\303\\274\\n' >&2");
            BufferedWriter w = p.outputWriter(StandardCharsets.UTF_8);
            assertThat(p.outputWriter(StandardCharsets.UTF_8)).isSameAs(w);
            assertThatThrownBy(() -> p.outputWriter(StandardCharsets.UTF_16)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> p.outputWriter(null)).isInstanceOf(NullPointerException.class);
            w.write("grüße €\n");
            w.close();
            BufferedReader out = p.inputReader(StandardCharsets.UTF_8);
            assertThat(out.readLine()).isEqualTo("grüße €");
            assertThat(p.inputReader(StandardCharsets.UTF_8)).isSameAs(out);
            assertThatThrownBy(() -> p.inputReader(StandardCharsets.ISO_8859_1)).isInstanceOf(IllegalStateException.class);
            BufferedReader err = p.errorReader(); // the native encoding
            assertThat(p.errorReader(nativeCharset())).isSameAs(err);
            assertThatThrownBy(() -> p.errorReader(StandardCharsets.UTF_16)).isInstanceOf(IllegalStateException.class);
            assertThat(err.readLine()).isEqualTo("err");
            assertThat(out.readLine()).isNull();
            assertThat(p.waitFor()).isEqualTo(0);
            // the default writer and a Latin-1 reader of a program of its own
            Process q = test.start(t, "sh", "-c", "cat; printf '\\303\\274\\n'");
            BufferedWriter dw = q.outputWriter();
            assertThat(q.outputWriter(nativeCharset())).isSameAs(dw);
            dw.write("ascii\n");
            dw.close();
            BufferedReader latin = q.inputReader(StandardCharsets.ISO_8859_1);
            assertThat(latin.readLine()).isEqualTo("ascii");
            assertThat(latin.readLine()).isEqualTo("\u00c3\u00bc"); // the two bytes of UTF-8 ü, one char each
            assertThat(q.waitFor()).isEqualTo(0);
        }),
        /** info() describes the running program, as toHandle().info() does. */
        INFO_DESCRIBES_THE_PROGRAM((t, test) -> {
            Process p = test.start(t, "sleep", "100");
            ProcessHandle.Info info = p.info();
            assertThat(info.command()).hasValueSatisfying(c -> assertThat(c).endsWith("/sleep"));
            assertThat(info.arguments()).hasValueSatisfying(a -> assertThat(a).containsExactly("100"));
            assertThat(info.startInstant()).isPresent();
            assertThat(p.toHandle().info().command()).isEqualTo(info.command());
        }),
        /** children() and descendants() see a child the program started; neither lists anything once it ended. */
        CHILDREN_AND_DESCENDANTS_SEE_A_CHILD((t, test) -> {
            Process p = test.start(t, "sh", "-c", "sleep 100 & echo started; wait $!");
            assertThat(p.inputReader().readLine()).isEqualTo("started");
            ProcessHandle child = await("a sleep among the children of " + p, () -> p.children().filter(ProcessContractIT::isSleep).findFirst());
            assertThat(child.parent().map(ProcessHandle::pid)).hasValue(p.pid());
            assertThat(p.children().map(ProcessHandle::pid)).containsExactly(child.pid());
            assertThat(p.toHandle().children().map(ProcessHandle::pid)).containsExactly(child.pid());
            assertThat(p.descendants().map(ProcessHandle::pid)).containsExactly(child.pid());
            assertThat(p.toHandle().descendants().map(ProcessHandle::pid)).containsExactly(child.pid());
            assertThat(child.destroy()).isTrue(); // the shell's wait returns sleep's status, 143, and so does the shell
            assertThat(p.waitFor()).isEqualTo(128 + 15);
            assertThat(p.children()).isEmpty();
            assertThat(p.descendants()).isEmpty();
        }),
        /** The handle sees the program end: isAlive() turns false, its onExit() completes with the handle. */
        HANDLE_SEES_THE_EXIT((t, test) -> {
            Process p = test.start(t, "sh", "-c", "read x");
            ProcessHandle h = p.toHandle();
            CompletableFuture<ProcessHandle> exit = h.onExit();
            assertThat(exit).isNotDone();
            p.getOutputStream().close();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(h.isAlive()).isFalse();
            assertThat(p.toHandle().isAlive()).isFalse();
            // the JDK polls a process that is not the JVM's child: within seconds
            assertThat(exit.get(30, TimeUnit.SECONDS)).isSameAs(h);
            assertThat(h.destroy()).isFalse(); // nothing to signal any more
        }),
        /** toHandle().destroy() and destroyForcibly() end the program as destroy() and destroyForcibly() do. */
        HANDLE_DESTROYS((t, test) -> {
            Process p = test.start(t, "sleep", "100");
            assertThat(p.toHandle().destroy()).isTrue();
            assertThat(p.waitFor()).isEqualTo(128 + 15);
            Process q = test.start(t, "sleep", "100");
            assertThat(q.toHandle().destroyForcibly()).isTrue();
            assertThat(q.waitFor()).isEqualTo(128 + 9);
        });

        private final Check check;

        Scenario(Check check) {
            this.check = check;
        }
    }

    static Stream<Arguments> table() {
        return Arrays.stream(Scenario.values()).flatMap(s -> Arrays.stream(Target.values()).map(t -> Arguments.of(s, t)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("table")
    @Timeout(60)
    void processContract(Scenario scenario, Target target) throws Exception {
        scenario.check.run(target, this);
    }

    /**
     * What sets a sandbox apart: descendants() is every process of the sandbox but the program and
     * the library's own, also those re-parented away from the program (to the sandbox's init,
     * reaper or monitor), while children() and toHandle().descendants() keep the JDK's meaning.
     */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = "PROCESS_BUILDER", mode = EnumSource.Mode.EXCLUDE)
    @Timeout(60)
    void descendantsIncludeWhatTheProgramLeftBehind(Target target) throws Exception {
        Process p = start(target, "sh", "-c", "sh -c 'sleep 100 &'; echo started; read x");
        assertThat(p.inputReader().readLine()).isEqualTo("started"); // the inner sh has ended: its sleep is an orphan
        ProcessHandle orphan = await("the orphaned sleep among the descendants of " + p,
                () -> p.descendants().filter(ProcessContractIT::isSleep).findFirst());
        assertThat(p.descendants().map(ProcessHandle::pid)).as("the sandbox's processes but the program").containsExactly(orphan.pid());
        assertThat(orphan.parent().map(ProcessHandle::pid)).isNotEqualTo(Optional.of(p.pid()));
        assertThat(p.toHandle().parent()).isPresent(); // the sandbox's init, reaper or monitor: not listed
        assertThat(p.children()).isEmpty();
        assertThat(p.toHandle().descendants()).isEmpty();
        p.getOutputStream().close();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.descendants()).isEmpty();
        await("the orphan killed with its sandbox", () -> orphan.isAlive() ? Optional.empty() : Optional.of(orphan));
    }

    /** skip() on a stream under an output limit reads through the pipe, and what it skips counts towards the limit. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"SANDBOX_PID_NS", "SANDBOX_NO_PID_NS"})
    @Timeout(60)
    void skippedOutputCountsTowardsTheOutputLimit(Target target) throws Exception {
        Sandbox limited = (target == Target.SANDBOX_PID_NS ? PID_NS : NO_PID_NS).toBuilder().outputLimit(ByteSize.ofBytes(10)).build();
        try (IsolatedProcess p = limited.start("sh", "-c", "printf 0123456789ABCDEF; read x")) {
            started.add(p);
            assertThat(p.getInputStream().skip(12)).isEqualTo(10);
            assertThat(p.getInputStream().read()).isEqualTo(-1);
            assertThat(p.outcome().get(10, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        }
    }

    /** A program that ended before its handle was asked for still has one: not alive, with no children. */
    @ParameterizedTest
    @EnumSource(Target.class)
    @Timeout(60)
    void programThatEndedHasAHandleThatIsNotAlive(Target target) throws Exception {
        Process p = start(target, "true");
        assertThat(p.waitFor()).isEqualTo(0);
        ProcessHandle h = p.toHandle();
        assertThat(h.pid()).isEqualTo(p.pid());
        assertThat(h.isAlive()).isFalse();
        assertThat(h.onExit().get(10, TimeUnit.SECONDS)).isSameAs(h);
        assertThat(h.children()).isEmpty();
        assertThat(p.children()).isEmpty();
        assertThat(p.descendants()).isEmpty();
        assertThat(p.info()).isNotNull();
        assertThat(h.destroy()).isFalse();
        assertThat(h.destroyForcibly()).isFalse();
    }

    private Process start(Target target, String... command) throws IOException {
        return start(target, new ProcessBuilder(command));
    }

    private Process start(Target target, ProcessBuilder pb) throws IOException {
        Process p = target.start(pb);
        started.add(p);
        return p;
    }

    private static boolean isSleep(ProcessHandle h) {
        return h.info().command().filter(c -> c.endsWith("/sleep")).isPresent();
    }

    /** The charset of Process.inputReader() and friends without an argument. */
    private static Charset nativeCharset() {
        try {
            return Charset.forName(System.getProperty("native.encoding"));
        } catch (IllegalArgumentException e) { // UnsupportedCharsetException, or an illegal name
            return Charset.defaultCharset();
        }
    }

    /** Polls for up to 10 s until {@code probe} finds something. */
    private static <T> T await(String what, Supplier<Optional<T>> probe) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            Optional<T> found = probe.get();
            if (found.isPresent()) {
                return found.get();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(10);
        }
    }
}
