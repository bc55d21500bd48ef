package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.core.Outcome.Status;
import dev.isolation.core.Sandbox.Namespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunReportTest {
    private static RunReport report(Status status, OptionalInt code, OptionalInt signal) {
        return new RunReport(List.of("/bin/sh", "-c", "echo hi"), EnumSet.of(Namespace.NETWORK, Namespace.PID),
                Optional.empty(), status, code, signal, false, Duration.ofNanos(7_376_512), Duration.ofMillis(2),
                Duration.ofMillis(1), 1_634_304, 7, 4);
    }

    @Test
    void exitedRunHasAnExitCodeAndANullSignal() {
        JsonObject j = report(Status.NONZERO_EXIT, OptionalInt.of(3), OptionalInt.empty()).toJson();
        assertThat(j.get("status").getAsString()).isEqualTo("NONZERO_EXIT");
        assertThat(j.get("exitCode").getAsInt()).isEqualTo(3);
        assertThat(j.get("signal").isJsonNull()).isTrue();
        assertThat(j.get("killed").getAsBoolean()).isFalse();
    }

    @Test
    void signalledRunHasASignalAndANullExitCode() {
        JsonObject j = report(Status.SIGNALED, OptionalInt.empty(), OptionalInt.of(9)).toJson();
        assertThat(j.get("status").getAsString()).isEqualTo("SIGNALED");
        assertThat(j.get("exitCode").isJsonNull()).isTrue();
        assertThat(j.get("signal").getAsInt()).isEqualTo(9);
    }

    @Test
    void timesAreFractionalMillisecondsAndCpuIsUserPlusSystem() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty()).toJson();
        assertThat(j.get("wallTimeMs").getAsDouble()).isEqualTo(7.377);
        assertThat(j.get("userTimeMs").getAsDouble()).isEqualTo(2.0);
        assertThat(j.get("systemTimeMs").getAsDouble()).isEqualTo(1.0);
        assertThat(j.get("cpuTimeMs").getAsDouble()).isEqualTo(3.0);
        assertThat(j.get("maxRssBytes").getAsLong()).isEqualTo(1_634_304);
        assertThat(j.get("voluntaryContextSwitches").getAsLong()).isEqualTo(7);
        assertThat(j.get("involuntaryContextSwitches").getAsLong()).isEqualTo(4);
    }

    @Test
    void commandAndNamespacesAreArraysInAStableOrder() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty()).toJson();
        assertThat(j.getAsJsonArray("command").asList()).extracting(e -> e.getAsString())
                .containsExactly("/bin/sh", "-c", "echo hi");
        assertThat(j.getAsJsonArray("namespaces").asList()).extracting(e -> e.getAsString())
                .containsExactly("pid", "network");
        assertThat(j.get("hostname").isJsonNull()).isTrue();
    }

    @Test
    void writeToReplacesTheFileWithOneObjectAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("report.json");
        Files.writeString(file, "old content that is longer than nothing");
        report(Status.OK, OptionalInt.of(0), OptionalInt.empty()).writeTo(file);
        assertThat(JsonParser.parseString(Files.readString(file)).getAsJsonObject().get("status").getAsString()).isEqualTo("OK");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }
}
