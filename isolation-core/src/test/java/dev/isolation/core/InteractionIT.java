package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An interactive problem: interactor and solution connected stdin to stdout, each with its own verdict. */
@KernelTest
class InteractionIT {
    private static final Sandbox BOX = Sandbox.builder().pidNs().mountNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(64)).wallTimeLimit(Duration.ofSeconds(10)).build();

    /** Thinks of 37; answers "lower"/"higher"/"correct"; prints the number of guesses on stderr. */
    private static final String INTERACTOR = "n=0; while read g; do n=$((n+1)); "
            + "if [ $g -lt 37 ]; then echo higher; elif [ $g -gt 37 ]; then echo lower; else echo correct; echo guesses=$n >&2; exit 0; fi; done; exit 1";
    /** Binary search over 1..100. */
    private static final String SOLUTION = "lo=1; hi=100; while :; do g=$(((lo+hi)/2)); echo $g; read a; "
            + "case $a in higher) lo=$((g+1));; lower) hi=$((g-1));; correct) exit 0;; esac; done";

    @Test
    @Timeout(60)
    void interactorAndSolutionTalkAndEachGetsItsOwnVerdict() throws Exception {
        try (Interaction run = Interaction.start(BOX, new ProcessBuilder("sh", "-c", INTERACTOR), BOX,
                new ProcessBuilder("sh", "-c", SOLUTION))) {
            Outcome solution = run.solution().outcome().join();
            Outcome interactor = run.interactor().outcome().join();
            assertThat(new String(run.interactor().getErrorStream().readAllBytes())).startsWith("guesses=");
            assertThat(solution.status()).isEqualTo(Outcome.Status.OK);
            assertThat(interactor.status()).isEqualTo(Outcome.Status.OK);
        }
    }

    @Test
    @Timeout(60)
    void aSolutionThatNeverAnswersIsWallTimeLimitedWhileTheInteractorWaits() throws Exception {
        Sandbox slow = BOX.toBuilder().wallTimeLimit(Duration.ofMillis(500)).build();
        try (Interaction run = Interaction.start(BOX, new ProcessBuilder("sh", "-c", INTERACTOR), slow,
                new ProcessBuilder("sleep", "60"))) {
            assertThat(run.solution().outcome().join().status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
            // its end closes the interactor's input: the interactor ends with "no answer"
            assertThat(run.interactor().outcome().join().exitCode()).hasValue(1);
        }
    }
}
