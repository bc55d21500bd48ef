package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every verdict, produced by a real program, with its figures checked. */
@KernelTest
class VerdictIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(64)).pidsLimit(32).build();

    @Test
    @Timeout(300)
    void busyLoopPastOneSecondOfCpuIsTimeLimit() {
        Outcome o = JUDGE.toBuilder().cpuTimeLimit(Duration.ofSeconds(1)).build().run("sh", "-c", "while :; do :; done");
        assertThat(o.status()).isEqualTo(Outcome.Status.TIME_LIMIT);
        assertThat(o.cpuTime()).isBetween(Duration.ofMillis(1000), Duration.ofMillis(1000).plus(Bounded.MONITOR_SLACK));
        assertThat(o.killed()).isTrue();
    }

    @Test
    @Timeout(300)
    void sleeperPastOneSecondIsWallTimeLimit() {
        Outcome o = JUDGE.toBuilder().wallTimeLimit(Duration.ofSeconds(1)).build().run("sleep", "10");
        assertThat(o.status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
        assertThat(o.wallTime()).isBetween(Duration.ofMillis(1000), Duration.ofMillis(1000).plus(Bounded.MONITOR_SLACK));
    }

    @Test
    @Timeout(300)
    void allocatingPastTheMemoryLimitIsMemoryLimit() {
        Outcome o = JUDGE.run("sh", "-c", "head -c 209715200 /dev/zero | tail > /dev/null");
        assertThat(o.status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
        assertThat(o.oomKilled()).isTrue();
    }

    @Test
    @Timeout(300)
    void anEndlessWriterIsOutputLimitAndTheCaptureStaysCapped() throws Exception {
        Sandbox limited = JUDGE.toBuilder().outputLimit(ByteSize.mb(1)).build();
        Outcome o = limited.run("sh", "-c", "while :; do echo 0123456789abcdef0123456789abcdef; done");
        assertThat(o.status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        assertThat(o.stdout().length).isLessThanOrEqualTo(1 << 20).isGreaterThan(1000);
        // streamed through getInputStream(): the stream ends at the limit and the sandbox is killed
        try (IsolatedProcess p = limited.start("sh", "-c", "yes")) {
            assertThat(p.getInputStream().readAllBytes()).hasSize(1 << 20);
            assertThat(p.outcome().join().status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        }
    }

    @Test
    @Timeout(300)
    void aFileGrowingPastTheOutputLimitIsOutputLimit(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path out = dir.resolve("out.txt");
        ProcessBuilder pb = new ProcessBuilder("yes").redirectOutput(out.toFile());
        try (IsolatedProcess p = JUDGE.toBuilder().outputLimit(ByteSize.kb(64)).build().start(pb)) {
            assertThat(p.outcome().join().status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        }
        assertThat(Files.size(out)).isEqualTo(64 * 1024);
    }

    @Test
    @Timeout(300)
    void exitThreeIsNonzeroExitAndSegfaultIsSignaled() {
        Outcome exit = JUDGE.run("sh", "-c", "exit 3");
        assertThat(exit.status()).isEqualTo(Outcome.Status.NONZERO_EXIT);
        assertThat(exit.exitCode()).hasValue(3);
        Outcome segv = JUDGE.run("sh", "-c", "kill -SEGV $$");
        assertThat(segv.status()).isEqualTo(Outcome.Status.SIGNALED);
        assertThat(segv.signal()).hasValue(11);
    }

    @Test
    @Timeout(300)
    void aForbiddenSystemCallUnderTheStrictPolicyIsRestrictedSyscall() {
        Sandbox strict = JUDGE.toBuilder().seccomp(SeccompPolicy.strict()).build();
        assertThat(strict.run("sh", "-c", "echo fine").status()).isEqualTo(Outcome.Status.OK);
        Outcome o = strict.run("/usr/bin/python3", "-c", "import ctypes; ctypes.CDLL(None).syscall(308, 0, 0)"); // setns
        assertThat(o.status()).as(o.stderrText()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(o.forbiddenSyscall()).hasValue("setns");
        assertThat(o.message()).isEqualTo("forbidden system call setns");
    }

    @Test
    @Timeout(300)
    void standardInputComesFromBytesAndOutputIsCaptured() {
        Outcome o = JUDGE.run(new ProcessBuilder("sh", "-c", "read a b; echo $((a + b)); echo note >&2"),
                "2 40\n".getBytes(StandardCharsets.UTF_8));
        assertThat(o.status()).isEqualTo(Outcome.Status.OK);
        assertThat(o.stdoutText()).isEqualTo("42\n");
        assertThat(o.stderrText()).isEqualTo("note\n");
    }

    @Test
    @Timeout(300)
    void aSandboxThatCannotBeSetUpIsSetupFailed() {
        Outcome o = JUDGE.run("/no/such/program");
        assertThat(o.status()).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(o.setupFailure()).get().extracting(Throwable::getMessage).asString().contains("ENOENT");
        assertThat(o.message()).contains("/no/such/program");
    }
}
