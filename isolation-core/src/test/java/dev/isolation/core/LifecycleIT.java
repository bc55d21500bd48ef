package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Processes never outlive their sandbox; signals reach the program; nothing leaks. */
@KernelTest
class LifecycleIT {
    private static final Sandbox ALL = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();

    /** A sleep whose command line is unique to one test, to find it on the host. */
    private static String uniqueSleep() {
        return "sleep " + (900 + Math.abs(UUID.randomUUID().getLeastSignificantBits() % 99)) + "." + System.nanoTime() % 1000;
    }

    @Test
    @Timeout(120)
    void orphansAreReapedByInit() throws Exception {
        // Four orphans: each subshell starts a sleep and exits, so init adopts the sleep. The program shows each one's
        // parent, ends them, and waits until each is gone from /proc: a zombie stays there until its parent reaps it.
        String script = "for i in 1 2 3 4; do pids=\"$pids $( (sleep 1000 >/dev/null 2>&1 & echo $!) )\"; done; "
                + "for p in $pids; do echo parent $(cut -d' ' -f4 /proc/$p/stat); kill $p; done; "
                + "for p in $pids; do n=0; while [ -e /proc/$p ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done; "
                + "if [ -e /proc/$p ]; then echo left in state $(cut -d' ' -f3 /proc/$p/stat); else echo reaped; fi; done";
        assertThat(Probe.run(ALL, "sh", "-c", script).lines())
                .containsExactly("parent 1", "parent 1", "parent 1", "parent 1", "reaped", "reaped", "reaped", "reaped");
    }

    @Test
    @Timeout(120)
    void daemonLeftBehindIsKilledWhenTheProgramExits() throws Exception {
        for (Sandbox sandbox : List.of(ALL)) {
            String daemon = uniqueSleep();
            try (IsolatedProcess p = sandbox.start("sh", "-c", "setsid sh -c '" + daemon + "' </dev/null >/dev/null 2>&1 & echo started; read x; exit 0")) {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
                assertThat(Bounded.line(out)).isEqualTo("started");
                awaitCondition(() -> !Probe.processesWith(daemon).isEmpty()); // it really runs
                p.getOutputStream().close(); // the program reads EOF and exits
                assertThat(p.outcome().get(10, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OK);
            }
            assertThat(Probe.processesWith(daemon)).as("daemon of %s", sandbox.namespaces()).isEmpty();
        }
    }

    @Test
    @Timeout(120)
    void destroySendsSigtermToTheProgram() throws Exception {
        for (Sandbox sandbox : List.of(ALL, Sandbox.builder().build())) {
            try (IsolatedProcess p = sandbox.start("sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done")) {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
                assertThat(Bounded.line(out)).isEqualTo("ready");
                p.destroy();
                assertThat(Bounded.line(out)).isEqualTo("got-term");
                Outcome o = p.outcome().get(10, TimeUnit.SECONDS);
                assertThat(o.exitCode()).hasValue(7);
                assertThat(o.killed()).isFalse();
            }
        }
    }

    @Test
    @Timeout(60)
    void destroyForciblyKillsEverythingInTheSandbox() throws Exception {
        String child = uniqueSleep();
        try (IsolatedProcess p = ALL.start("sh", "-c", "trap '' TERM; " + child + " & echo ready; wait")) {
            assertThat(Bounded.line(new BufferedReader(new InputStreamReader(p.getInputStream())))).isEqualTo("ready");
            awaitCondition(() -> running(child).size() == 1); // the child really runs
            assertThat(p.isAlive()).isTrue();
            p.destroyForcibly();
            Outcome o = p.outcome().get(10, TimeUnit.SECONDS);
            assertThat(o.signal()).hasValue(9);
            assertThat(o.killed()).isTrue();
            assertThat(p.exitValue()).isEqualTo(137);
            assertThat(p.isAlive()).isFalse();
        }
        assertThat(running(child)).isEmpty();
    }

    /** Host processes whose command line is exactly {@code commandLine} (arguments separated by one space). */
    static List<ProcessHandle> running(String commandLine) throws IOException {
        List<ProcessHandle> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(Path.of("/proc"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                if (!d.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ').strip();
                    if (cmd.equals(commandLine)) {
                        ProcessHandle.of(Long.parseLong(d.getFileName().toString())).ifPresent(found::add);
                    }
                } catch (IOException gone) {
                    // it ended while we looked
                }
            }
        }
        return found;
    }

    @Test
    @Timeout(120)
    void exitCodeAndSignalAreReported() throws Exception {
        try (IsolatedProcess p = ALL.start("sh", "-c", "exit 3")) {
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(3);
            assertThat(Bounded.get(p.outcome(), "the outcome").status()).isEqualTo(Outcome.Status.NONZERO_EXIT);
        }
        try (IsolatedProcess p = ALL.start("sh", "-c", "kill -SEGV $$")) {
            Outcome o = Bounded.get(p.outcome(), "the outcome");
            assertThat(o.status()).isEqualTo(Outcome.Status.SIGNALED);
            assertThat(o.signal()).hasValue(11);
            assertThat(o.killed()).isFalse();
        }
    }

    @Test
    @Timeout(120)
    void rusageCountsTheWholeSandbox(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        // Three workers burn CPU by their own count (so a busy machine only makes them slower) and print what
        // they used: two children of the program (200 ms each), and an orphan (300 ms, and it touches 64 MiB),
        // started by a subshell that exits at once, so init adopts and reaps it. The program waits on a FIFO the
        // orphan holds open until it exits, then until init has reaped it, without burning CPU meanwhile.
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        String worker = "import os, sys, time\n"
                + "orphan = len(sys.argv) > 1\n"
                + "if orphan: open(sys.argv[1], 'w').write(str(os.getpid()))\n"
                + "while time.process_time() < (0.3 if orphan else 0.2): pass\n"
                + "if orphan: memory = bytearray(b'x') * (64 << 20)\n"
                + "os.write(1, b'%.6f\\n' % time.process_time())\n"; // one write: the workers' lines do not mix
        String script = "mkfifo \"$D/exited\"; python3 -c \"$W\" & python3 -c \"$W\" & "
                + "(python3 -c \"$W\" \"$D/orphan.pid\" 3>\"$D/exited\" &); cat \"$D/exited\"; wait; "
                + "while kill -0 $(cat \"$D/orphan.pid\") 2>/dev/null; do sleep 0.01; done"; // a zombie answers too
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", script);
        pb.environment().put("W", worker);
        pb.environment().put("D", dir.toString());
        Bounded.Result r = Bounded.run(ALL, pb);
        Outcome o = r.outcome();
        assertThat(o.status()).as("%s %s", o, r.err()).isEqualTo(Outcome.Status.OK);
        List<Double> used = r.out().lines().map(Double::parseDouble).toList();
        assertThat(used).as(r.out()).hasSize(3).allSatisfy(s -> assertThat(s).isGreaterThanOrEqualTo(0.2));
        Duration workers = Duration.ofNanos((long) (used.stream().mapToDouble(Double::doubleValue).sum() * 1e9));
        assertThat(o.cgroupStats()).as("no cgroup: the figures are the kernel's rusage").isEmpty();
        assertThat(o.userTime().plus(o.systemTime())).as("rusage CPU of %s", o)
                .isGreaterThanOrEqualTo(workers.minusMillis(1));
        assertThat(o.maxRss().bytes()).as("the largest process, the orphan").isGreaterThanOrEqualTo(64L << 20);
    }

    @Test
    @Timeout(120)
    void killingTheJvmWithSigkillLeavesNoSandboxedProcess() throws Exception {
        String marker = uniqueSleep();
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), SandboxHolder.class.getName(),
                marker))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()));
            assertThat(Bounded.line(out)).isEqualTo("started");
            assertThat(Probe.processesWith(marker)).hasSizeGreaterThanOrEqualTo(2); // with a pid namespace, and without
            List<ProcessHandle> helpers = jvm.toHandle().descendants().toList(); // the dead JVM's helpers and sandboxes
            assertThat(helpers).hasSizeGreaterThanOrEqualTo(4);
            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(5, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (!Probe.processesWith(marker).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(Probe.processesWith(marker)).as("sandboxed processes 1 s after the JVM was killed").isEmpty();
            // and no helper of the dead JVM (only processes it started are looked at: not other users' helpers)
            // a zombie holds nothing and is the host's init's to reap (which may take its time): only live ones count
            while (helpers.stream().anyMatch(Probe::running) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(helpers.stream().filter(Probe::running).map(ProcessHandle::pid))
                    .as("helpers of the killed JVM 1 s after its death").isEmpty();
        } finally {
            jvm.destroyForcibly();
        }
    }

    /** The child JVM of {@link #killingTheJvmWithSigkillLeavesNoSandboxedProcess}. */
    static final class SandboxHolder {
        public static void main(String[] args) throws Exception {
            IsolatedProcess a = ALL.start("sh", "-c", args[0]);
            IsolatedProcess b = Sandbox.builder().build().start("sh", "-c", args[0]);
            while (Probe.processesWith(args[0]).size() < 2) {
                Thread.sleep(5);
            }
            System.out.println("started");
            System.out.flush();
            a.waitFor();
            b.waitFor();
        }
    }

    @Test
    @Timeout(120)
    void badInputGivesTypedErrorsAndLeavesNothing(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path notExecutable = Files.writeString(dir.resolve("script"), "#!/bin/sh\necho hi\n");
        Probe.run(ALL, "true"); // warm up: the monitor thread and the helper exist from here on
        long fds = Probe.openFds();
        int threads = Probe.threads();
        long children = ProcessHandle.current().descendants().count();

        assertThatThrownBy(() -> ALL.start("/nonexistent"))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("execve(\"/nonexistent\"): ENOENT (No such file or directory): no file /nonexistent in the sandbox")
                .satisfies(e -> assertThat(((SandboxSetupException) e).errnoName()).isEqualTo("ENOENT"));
        assertThatThrownBy(() -> ALL.start(notExecutable.toString()))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("execve(\"" + notExecutable + "\"): EACCES (Permission denied): the sandbox's user may not execute");
        assertThatThrownBy(() -> ALL.start(dir.toString()))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("execve(\"" + dir + "\"): EACCES (Permission denied): the sandbox's user may not execute");
        ProcessBuilder missing = new ProcessBuilder("no-such-command-anywhere");
        missing.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
        assertThatThrownBy(() -> ALL.start(missing))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("execve(\"no-such-command-anywhere\"): ENOENT (No such file or directory): no command")
                .hasMessageContaining("PATH (/usr/local/bin:/usr/bin:/bin)");
        assertThat(Probe.run(ALL, "echo", "found through PATH")).isEqualTo("found through PATH\n");
        ProcessBuilder badDir = new ProcessBuilder("true").directory(dir.resolve("missing").toFile());
        assertThatThrownBy(() -> ALL.start(badDir))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("chdir(\"" + dir.resolve("missing") + "\"): ENOENT (No such file or directory): the working directory");
        ProcessBuilder badInput = new ProcessBuilder("cat").redirectInput(dir.resolve("missing-input").toFile());
        assertThatThrownBy(() -> ALL.start(badInput))
                .isInstanceOf(SandboxSetupException.class)
                .hasMessageStartingWith("open(\"" + dir.resolve("missing-input") + "\"): ENOENT");
        assertThatThrownBy(() -> ALL.start()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Sandbox.builder().utsNs().hostname("bad_host!"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad_host!");

        awaitCondition(() -> Probe.openFds() <= fds); // at most: earlier tests' descriptors may close meanwhile
        assertThat(Probe.threads()).as("threads after the failures").isLessThanOrEqualTo(threads);
        assertThat(Probe.monitorThreads()).isOne();
        awaitCondition(() -> ProcessHandle.current().descendants().count() == children);
        try (var tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(tmp.map(Path::toString).filter(n -> n.contains("isolation-helper"))).isEmpty();
        }
    }

    @Test
    @Timeout(600)
    void thousandSequentialAndHundredConcurrentRunsLeakNoDescriptorOrThread() throws Exception {
        Probe.run(ALL, "true");
        long fds = Probe.openFds();
        int threads = Probe.threads();
        for (int i = 0; i < 1000; i++) {
            try (IsolatedProcess p = ALL.start("true")) {
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isZero();
            }
        }
        awaitCondition(() -> Probe.openFds() <= fds); // at most: earlier tests' descriptors may close meanwhile
        assertThat(Probe.threads()).as("threads after 1000 runs").isLessThanOrEqualTo(threads);

        // a hundred programs that each wait for the end of their input: all alive until it comes
        List<IsolatedProcess> running = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) {
                running.add(ALL.start("sh", "-c", "read x; exit 0"));
            }
            assertThat(running).allMatch(Process::isAlive);
            assertThat(Probe.threads()).as("threads with 100 sandboxes alive").isLessThanOrEqualTo(threads);
            assertThat(Probe.monitorThreads()).as("one library thread watches all of them").isOne();
            for (IsolatedProcess p : running) {
                p.getOutputStream().close();
            }
            for (IsolatedProcess p : running) {
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isZero();
            }
        } finally {
            for (IsolatedProcess p : running) {
                p.close();
            }
        }
        awaitCondition(() -> Probe.openFds() <= fds); // at most: earlier tests' descriptors may close meanwhile
        assertThat(Probe.threads()).isLessThanOrEqualTo(threads);
    }

    interface Check {
        boolean holds() throws Exception;
    }

    static void awaitCondition(Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 5 s");
            }
            Thread.sleep(5);
        }
    }
}
