package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pooled sandbox's init is never the OOM killer's pick: a root JVM sets its {@code
 * oom_score_adj} to -1000 (that takes {@code CAP_SYS_RESOURCE}). The runs it forks must not
 * inherit that, or neither the memory cgroup's OOM killer nor the host's could pick them. Runs on
 * every cgroup layout (the name makes .ci/vm-tests.sh run it in the v1 and v2 guests too).
 */
@KernelTest
class PoolOomCgroupIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(64)).pidsLimit(16).build();

    /** Whether this JVM may lower an oom_score_adj (CAP_SYS_RESOURCE, bit 24, in its effective set). */
    private static boolean mayLowerOomScoreAdj() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 24)) != 0;
            }
        }
        throw new AssertionError("no CapEff in /proc/self/status");
    }

    @Test
    @Timeout(120)
    void aPooledRunIsNotProtectedFromTheOomKillerAsItsInitIs() throws Exception {
        // where the JVM may not lower it (a container without CAP_SYS_RESOURCE), the init stays at the JVM's value
        String init = mayLowerOomScoreAdj() ? "-1000" : Files.readString(Path.of("/proc/self/oom_score_adj")).strip();
        try (SandboxPool pool = JUDGE.pool(1)) {
            for (int run = 0; run < 2; run++) {
                Outcome o = pool.run(new ProcessBuilder("sh", "-c", "cat /proc/1/comm /proc/1/oom_score_adj /proc/self/oom_score_adj"),
                        new byte[0]);
                assertThat(o.status()).as(o.toString()).isEqualTo(Outcome.Status.OK);
                String self = init.startsWith("-") ? "0" : init;
                assertThat(o.stdoutText()).as("the init (PID 1), then the run's own, in run " + run)
                        .isEqualTo("isolation-pool\n" + init + "\n" + self + "\n");
            }
        }
    }
}
