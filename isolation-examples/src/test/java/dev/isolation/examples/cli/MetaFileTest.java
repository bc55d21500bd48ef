package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.Outcome.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MetaFileTest {
    private static MetaFile meta(Status status, OptionalInt code, OptionalInt signal, boolean oom, boolean killed) {
        return new MetaFile(status, "why: " + status, Duration.ofNanos(1_234_567_890), Duration.ofMillis(2500), 1536,
                Optional.of(65_536L), oom, 7, 3, code, signal, killed);
    }

    static Stream<Arguments> statuses() {
        OptionalInt none = OptionalInt.empty();
        return Stream.of(
                Arguments.of(Status.NONZERO_EXIT, OptionalInt.of(1), none, "RE"),
                Arguments.of(Status.SIGNALED, none, OptionalInt.of(11), "SG"),
                Arguments.of(Status.TIME_LIMIT, none, OptionalInt.of(9), "TO"),
                Arguments.of(Status.WALL_TIME_LIMIT, none, OptionalInt.of(9), "TO"),
                Arguments.of(Status.MEMORY_LIMIT, none, OptionalInt.of(9), "SG"),
                Arguments.of(Status.MEMORY_LIMIT, OptionalInt.of(1), none, "RE"),
                Arguments.of(Status.RESTRICTED_SYSCALL, none, OptionalInt.of(31), "SG"),
                Arguments.of(Status.OUTPUT_LIMIT, none, OptionalInt.of(25), "SG"),
                Arguments.of(Status.SETUP_FAILED, none, none, "XX"));
    }

    @ParameterizedTest
    @MethodSource("statuses")
    void statusIsIsolatesCodeForTheVerdict(Status status, OptionalInt code, OptionalInt signal, String expected) {
        String text = meta(status, code, signal, false, false).text();
        assertThat(text.lines()).contains("status:" + expected, "message:why: " + status);
    }

    @Test
    void okHasNeitherStatusNorMessage() {
        String text = meta(Status.OK, OptionalInt.of(0), OptionalInt.empty(), false, false).text();
        assertThat(text).doesNotContain("status:", "message:", "exitsig:", "killed:", "cg-oom-killed:");
    }

    @Test
    void figuresAreSecondsWithThreeDecimalsAndKibibytes() {
        String text = meta(Status.OK, OptionalInt.of(0), OptionalInt.empty(), false, false).text();
        assertThat(text).isEqualTo("""
                time:1.235
                time-wall:2.500
                max-rss:1536
                csw-voluntary:7
                csw-forced:3
                cg-mem:65536
                exitcode:0
                """);
    }

    @Test
    void aMemoryLimitKillSaysOomKilledAndTheSignal() {
        String text = meta(Status.MEMORY_LIMIT, OptionalInt.empty(), OptionalInt.of(9), true, false).text();
        assertThat(text.lines()).contains("cg-oom-killed:1", "exitsig:9", "status:SG").doesNotContain("killed:1");
    }

    @Test
    void aTimeLimitKillSaysKilled() {
        String text = meta(Status.TIME_LIMIT, OptionalInt.empty(), OptionalInt.of(9), false, true).text();
        assertThat(text.lines()).contains("killed:1", "exitsig:9", "status:TO");
    }

    @Test
    void withoutACgroupThereIsNoCgMem() {
        MetaFile m = new MetaFile(Status.OK, "exited normally", Duration.ZERO, Duration.ZERO, 0, Optional.empty(), false,
                0, 0, OptionalInt.of(0), OptionalInt.empty(), false);
        assertThat(m.text()).doesNotContain("cg-mem");
    }

    @Test
    void aSetupFailureIsXxWithTheReasonOnOneLine() {
        String text = MetaFile.setupFailed("mount(\"proc\" -> \"/proc\"): EPERM\n  (Operation not permitted)").text();
        assertThat(text).isEqualTo("status:XX\nmessage:mount(\"proc\" -> \"/proc\"): EPERM (Operation not permitted)\n");
    }

    @Test
    void writeToReplacesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("meta");
        Files.writeString(file, "stale\nstale\nstale\nstale\nstale\nstale\nstale\nstale\nstale\n");
        meta(Status.NONZERO_EXIT, OptionalInt.of(3), OptionalInt.empty(), false, false).writeTo(file);
        assertThat(Files.readAllLines(file)).contains("exitcode:3", "status:RE").doesNotContain("stale");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }
}
