package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A persistent sandbox: set up once, many runs, each with its own limits and fresh counters. */
@KernelTest
class SessionIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(64)).build();

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    @Test
    void filesPersistBetweenRunsInAPersistentWorkDirectory() throws Exception {
        try (SandboxSession session = JUDGE.open(SandboxSession.Options.builder().persistentWorkDir().build())) {
            assertThat(session.run(sh("pwd; echo compiled > prog.out"), new byte[0]).stdoutText()).isEqualTo("/box\n");
            for (int i = 0; i < 3; i++) {
                assertThat(session.run(sh("cat /box/prog.out"), new byte[0]).stdoutText()).isEqualTo("compiled\n");
            }
        }
    }

    @Test
    void limitsAndCountersAreResetBetweenRuns() throws Exception {
        String allocate100M = "head -c 104857600 /dev/zero | tail > /dev/null";
        // the session's memory limit bounds every run's: room for the large one
        try (SandboxSession session = JUDGE.open(SandboxSession.Options.builder().memoryLimit(ByteSize.mb(256)).build())) {
            Outcome small = session.run(sh(allocate100M), new byte[0]);
            assertThat(small.status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            // a later run with a larger limit really gets it (isolate's issue 195: a reused box kept the old one)
            Outcome large = session.run(JUDGE.toBuilder().memoryLimit(ByteSize.mb(256)).build(), sh(allocate100M), new byte[0]);
            assertThat(large.status()).isEqualTo(Outcome.Status.OK);
            assertThat(large.oomKilled()).isFalse();
            Outcome again = session.run(sh(allocate100M), new byte[0]);
            assertThat(again.status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            // and the peak of one run is not the next one's
            Outcome tiny = session.run(sh("true"), new byte[0]);
            assertThat(tiny.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).isLessThan(16L << 20);
            assertThat(session.run(JUDGE.toBuilder().cpuTimeLimit(Duration.ofMillis(300)).build(),
                    sh("while :; do :; done"), new byte[0]).status()).isEqualTo(Outcome.Status.TIME_LIMIT);
        }
    }

    @Test
    void aRunCanJoinARunningSandboxLikeDockerExec() throws Exception {
        try (SandboxSession session = JUDGE.open(); IsolatedProcess server = session.start(sh("echo up; exec sleep 30"))) {
            assertThat(new BufferedReader(new InputStreamReader(server.getInputStream())).readLine()).isEqualTo("up");
            String ps = session.run(sh("for p in /proc/[0-9]*; do cat $p/comm; done"), new byte[0]).stdoutText();
            assertThat(ps).contains("sleep").contains("isolation-init");
            server.destroyForcibly();
            assertThat(server.outcome().join().killed()).isTrue();
        }
    }

    @Test
    void closingTheSessionKillsEverythingAndLeavesNothing() throws Exception {
        String marker = "sleep 977." + System.nanoTime() % 1000;
        SandboxSession session = JUDGE.open();
        IsolatedProcess background = session.start(sh(marker + " & " + marker + "; true"));
        LifecycleIT.awaitCondition(() -> !Probe.processesWith(marker).isEmpty());
        session.close();
        background.outcome().join();
        background.close();
        assertThat(Probe.processesWith(marker)).isEmpty();
        assertThat(Probe.processesWith("isolation-init")).isEmpty();
        Launcher.discardPrewarmed();
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).isEmpty();
        assertThatThrownBy(() -> session.start(sh("true"))).isInstanceOf(IllegalStateException.class);
    }
}
