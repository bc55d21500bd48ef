package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.internal.launch.CapturedBytes;
import dev.isolation.core.internal.launch.ExitReport;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The verdict rules on reports the monitor could send. */
class OutcomeVerdictTest {
    private static Outcome exited(int code, long cpuMicros, int killReason, Optional<Duration> cpuLimit) {
        ExitReport r = new ExitReport(code << 8, killReason, 1_500_000_000L, cpuMicros, 0, 1024, 1, 1, -1);
        return new Outcome(r, Optional.empty(), List.of(), List.of(), false, false, false, cpuLimit, CapturedBytes.EMPTY,
                CapturedBytes.EMPTY);
    }

    @Test
    void cpuPastTheLimitIsTimeLimitHoweverTheRunEnded() {
        Optional<Duration> limit = Optional.of(Duration.ofSeconds(1));
        // exited by itself at 1000.2 ms, between two of the monitor's checks (isolate's rule: TO)
        assertThat(exited(0, 1_000_200, 0, limit).status()).isEqualTo(Outcome.Status.TIME_LIMIT);
        assertThat(exited(3, 1_000_000, 0, limit).status()).isEqualTo(Outcome.Status.TIME_LIMIT);
        assertThat(exited(0, 999_999, 0, limit).status()).isEqualTo(Outcome.Status.OK);
        assertThat(exited(0, 5_000_000, 0, Optional.empty()).status()).isEqualTo(Outcome.Status.OK);
        assertThat(exited(0, 10, Outcome.KILLED_CPU_LIMIT, limit).status()).isEqualTo(Outcome.Status.TIME_LIMIT);
    }

    @Test
    void aFailedSetupPrintsWhyItFailed() {
        Outcome o = new Outcome(new SandboxException("setresgid(\"user namespace\"): EPERM (Operation not permitted)"));
        assertThat(o.status()).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(o.toString()).startsWith("Outcome[SETUP_FAILED")
                .endsWith(": setresgid(\"user namespace\"): EPERM (Operation not permitted)]");
        assertThat(exited(0, 10, 0, Optional.empty()).toString()).startsWith("Outcome[OK exitCode=0").doesNotContain(": ");
    }
}
