package dev.isolation.examples.judge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The judge's options, languages and test discovery; nothing here starts a sandbox. */
class JudgeTest {
    private static Judge parse(String... args) {
        Judge judge = new Judge();
        new CommandLine(judge).parseArgs(args);
        return judge;
    }

    @Test
    void defaultsAreOneSecondThreeSecondsWall64MAnd1M() {
        assertThat(parse("a.c", "tests").limits())
                .isEqualTo(new Judge.Limits(Duration.ofSeconds(1), Duration.ofSeconds(3), ByteSize.mb(64), ByteSize.mb(1)));
    }

    @Test
    void wallDefaultsToThreeTimesTheCpuTimeUnlessGiven() {
        assertThat(parse("--time", "0.5", "a.c", "tests").limits().wallTime()).isEqualTo(Duration.ofMillis(1500));
        Judge.Limits l = parse("--time", "2", "--wall", "2.5", "--memory", "256M", "--output", "64K", "a.c", "tests").limits();
        assertThat(l).isEqualTo(new Judge.Limits(Duration.ofSeconds(2), Duration.ofMillis(2500), ByteSize.mb(256), ByteSize.kb(64)));
    }

    @Test
    void badLimitsNameTheOption() {
        assertThatThrownBy(() -> parse("--time", "0", "a.c", "t").limits()).hasMessage("--time 0: must be more than 0 and at most 3600 seconds");
        assertThatThrownBy(() -> parse("--memory", "lots", "a.c", "t").limits()).hasMessageStartingWith("--memory lots: not a size");
        assertThatThrownBy(() -> parse("--memory", "512K", "a.c", "t").limits()).hasMessage("--memory 512K: must be at least 1 MiB");
    }

    @Test
    void everyProgramOfTheJudgeGetsTheSameSmallEnvironmentOnEveryHost() {
        java.util.Map<String, String> expected = java.util.Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", "/box", "LC_ALL", "C");
        ProcessBuilder pb = new ProcessBuilder("./main");
        assertThat(Judge.COMPILER_LIMITS.environmentFor(pb)).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(parse("a.c", "tests").limits().runLimits().environmentFor(pb)).containsExactlyInAnyOrderEntriesOf(expected);
    }

    @Test
    void theLanguageIsTheExtensions() {
        assertThat(Language.of(Path.of("sol.c"))).isEqualTo(Language.C);
        assertThat(Language.of(Path.of("sol.cpp"))).isEqualTo(Language.CPP);
        assertThat(Language.of(Path.of("sol.cc"))).isEqualTo(Language.CPP);
        assertThatThrownBy(() -> Language.of(Path.of("sol.py"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sol.py");
        assertThat(Language.C.compileCommand()).startsWith("gcc").contains("-o", "/box/main", "/box/main.c");
    }

    @Test
    void testsAreInNumericOrderAndEachInputNeedsAnAnswer(@TempDir Path dir) throws IOException {
        for (String name : new String[] {"10", "2", "1"}) {
            Files.writeString(dir.resolve(name + ".in"), "");
            Files.writeString(dir.resolve(name + ".out"), "");
        }
        Files.writeString(dir.resolve("README"), "");
        assertThat(TestCase.in(dir)).extracting(TestCase::name).containsExactly("1", "2", "10");
        Files.writeString(dir.resolve("11.in"), "");
        assertThatThrownBy(() -> TestCase.in(dir)).isInstanceOf(NoSuchFileException.class).hasMessageContaining("11.out");
    }

    @Test
    void aDirectoryWithoutTestsIsRefused(@TempDir Path dir) {
        assertThatThrownBy(() -> TestCase.in(dir)).isInstanceOf(NoSuchFileException.class).hasMessageContaining("no tests");
    }
}
