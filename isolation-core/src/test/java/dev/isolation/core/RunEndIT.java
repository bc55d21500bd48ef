package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** When a run ends, everything it started is gone before its outcome completes, in every configuration. */
@KernelTest
class RunEndIT {
    /** A sleep whose command line is unique to one use, to find it on the host. */
    private static String marker() {
        return "1000." + System.nanoTime() % 1_000_000_000;
    }

    private static Outcome bounded(java.util.function.Supplier<Outcome> run) {
        return CompletableFuture.supplyAsync(run).orTimeout(60, TimeUnit.SECONDS).join();
    }

    @Test
    @Timeout(120)
    void aDaemonThatLeftTheProcessGroupDiesWithTheRun() throws Exception {
        for (Sandbox s : new Sandbox[] {Sandbox.builder().build(), Sandbox.builder().userNs().build(),
            Sandbox.builder().pidNs().build(), Sandbox.builder().cgroup().build()}) {
            String m = marker();
            Outcome o = bounded(() -> s.run("sh", "-c", "setsid sleep " + m + " > /dev/null 2>&1 < /dev/null & "
                    + "while ! pgrep -f 'sleep " + m + "' > /dev/null; do sleep 0.01; done; echo started"));
            assertThat(o.stdoutText()).as("%s: %s %s", s.namespaces(), o, o.stderrText()).isEqualTo("started\n");
            assertThat(Probe.processesWith("sleep " + m)).as("daemon of %s after the outcome", s.namespaces()).isEmpty();
        }
    }

    @Test
    @Timeout(120)
    void aSessionRunsDaemonDoesNotReachTheNextRun() throws Exception {
        try (SandboxSession box = Sandbox.builder().pidNs().mountNs().minimalRoot().build().open()) {
            String m = marker();
            Outcome first = bounded(() -> box.run(new ProcessBuilder("sh", "-c", "setsid sleep " + m + " > /dev/null 2>&1 & "
                    + "while ! pgrep -f 'sleep " + m + "' > /dev/null; do sleep 0.01; done; echo started"), new byte[0]));
            assertThat(first.stdoutText()).as("%s %s", first, first.stderrText()).isEqualTo("started\n");
            assertThat(Probe.processesWith("sleep " + m)).as("the first run's daemon").isEmpty();
            // and the next run sees none of it (the bracket keeps the search from finding itself)
            Outcome second = bounded(() -> box.run(new ProcessBuilder("sh", "-c",
                    "cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -c 'slee[p] " + m + "'; ls /proc | grep -c '^[0-9]'"), new byte[0]));
            assertThat(second.stdoutText().lines().toList()).as("%s %s", second, second.stderrText()).first().isEqualTo("0");
        }
    }

    @Test
    @Timeout(120)
    void aDaemonHoldingTheCapturedPipesDoesNotStretchTheWallLimit() throws Exception {
        String m = marker();
        Sandbox s = Sandbox.builder().wallTimeLimit(Duration.ofSeconds(1)).build();
        long start = System.nanoTime();
        Outcome o = bounded(() -> s.run("sh", "-c", "setsid sleep " + m + " & sleep " + marker()));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(o.status()).as("%s", o).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
        assertThat(ms).as("the outcome came %d ms after the start", ms).isLessThan(30_000);
        assertThat(Probe.processesWith("sleep " + m)).isEmpty();
    }
}
