package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.cgroups.AppliedLimit;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.core.Outcome.Status;
import dev.isolation.core.Sandbox.Namespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunReportTest {
    private static RunReport report(Status status, OptionalInt code, OptionalInt signal) {
        return report(status, code, signal, Optional.empty(), List.of(), List.of());
    }

    private static RunReport report(Status status, OptionalInt code, OptionalInt signal, Optional<CgroupStats> stats,
                                    List<AppliedLimit> limits, List<AppliedLimit.NotApplied> notApplied) {
        return new RunReport(List.of("/bin/sh", "-c", "echo hi"), EnumSet.of(Namespace.NETWORK, Namespace.PID),
                Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), "default", status, "message of " + status, code, signal, false, Duration.ofNanos(7_376_512), Duration.ofMillis(2),
                Duration.ofMillis(1), 1_634_304, 7, 4, stats, limits, notApplied);
    }

    private static CgroupStats stats(Optional<ByteSize> memoryPeak, OptionalLong pidsPeak, OptionalLong oomKills) {
        return new CgroupStats(Duration.ofNanos(3_456_789), Duration.ofMillis(2), Duration.ofMillis(1),
                Optional.of(ByteSize.ZERO), memoryPeak, OptionalLong.of(0), pidsPeak, oomKills, 0, Duration.ZERO);
    }

    @Test
    void withoutACgroupTheCgroupFiguresAreNullAndTheLimitListsEmpty() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty()).toJson();
        assertThat(j.get("oomKilled").getAsBoolean()).isFalse();
        assertThat(j.get("memoryPeakBytes").isJsonNull()).isTrue();
        assertThat(j.get("pidsPeak").isJsonNull()).isTrue();
        assertThat(j.get("cgroupCpuTimeMs").isJsonNull()).isTrue();
        assertThat(j.getAsJsonArray("limits")).isEmpty();
        assertThat(j.getAsJsonArray("limitsNotApplied")).isEmpty();
    }

    @Test
    void cgroupFiguresAreBytesCountsAndFractionalMilliseconds() {
        JsonObject j = report(Status.SIGNALED, OptionalInt.empty(), OptionalInt.of(9),
                Optional.of(stats(Optional.of(ByteSize.mb(64)), OptionalLong.of(3), OptionalLong.of(1))),
                List.of(), List.of()).toJson();
        assertThat(j.get("oomKilled").getAsBoolean()).isTrue();
        assertThat(j.get("memoryPeakBytes").getAsLong()).isEqualTo(64L << 20);
        assertThat(j.get("pidsPeak").getAsLong()).isEqualTo(3);
        assertThat(j.get("cgroupCpuTimeMs").getAsDouble()).isEqualTo(3.457);
    }

    @Test
    void figuresTheHostCannotMeasureAreNullInsideACgroup() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(stats(Optional.empty(), OptionalLong.empty(), OptionalLong.empty())), List.of(), List.of()).toJson();
        assertThat(j.get("oomKilled").getAsBoolean()).isFalse();
        assertThat(j.get("memoryPeakBytes").isJsonNull()).isTrue();
        assertThat(j.get("pidsPeak").isJsonNull()).isTrue();
        assertThat(j.get("cgroupCpuTimeMs").getAsDouble()).isEqualTo(3.457);
    }

    @Test
    void noOomKillsIsNotOomKilled() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(stats(Optional.of(ByteSize.mb(1)), OptionalLong.of(1), OptionalLong.of(0))), List.of(), List.of()).toJson();
        assertThat(j.get("oomKilled").getAsBoolean()).isFalse();
    }

    @Test
    void limitsAreObjectsOfLimitValueAndFileOrReason() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty(), Optional.empty(),
                List.of(new AppliedLimit("memoryLimit", "67108864", Path.of("/sys/fs/cgroup/memory/isolation-1-1/memory.limit_in_bytes")),
                        new AppliedLimit("pidsLimit", "8", Path.of("/sys/fs/cgroup/pids/isolation-1-1/pids.max"))),
                List.of(new AppliedLimit.NotApplied("ioWeight", "500", "no io controller"))).toJson();
        JsonArray limits = j.getAsJsonArray("limits");
        assertThat(limits).hasSize(2);
        JsonObject memory = limits.get(0).getAsJsonObject();
        assertThat(memory.keySet()).containsExactly("limit", "value", "file");
        assertThat(memory.get("limit").getAsString()).isEqualTo("memoryLimit");
        assertThat(memory.get("value").getAsString()).isEqualTo("67108864");
        assertThat(memory.get("file").getAsString()).isEqualTo("/sys/fs/cgroup/memory/isolation-1-1/memory.limit_in_bytes");
        assertThat(limits.get(1).getAsJsonObject().get("limit").getAsString()).isEqualTo("pidsLimit");
        JsonObject notApplied = j.getAsJsonArray("limitsNotApplied").get(0).getAsJsonObject();
        assertThat(notApplied.keySet()).containsExactly("limit", "value", "reason");
        assertThat(notApplied.get("reason").getAsString()).isEqualTo("no io controller");
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
    void statusIsTheVerdictsNameAndMessageSaysWhy() {
        JsonObject j = new RunReport(List.of("big"), EnumSet.noneOf(Namespace.class), Optional.empty(), OptionalInt.empty(),
                OptionalInt.empty(), "default", Status.MEMORY_LIMIT, "memory limit exceeded (OOM kill)", OptionalInt.empty(),
                OptionalInt.of(9), false, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0, 0, 0, Optional.empty(), List.of(),
                List.of()).toJson();
        assertThat(j.get("status").getAsString()).isEqualTo("MEMORY_LIMIT");
        assertThat(j.get("message").getAsString()).isEqualTo("memory limit exceeded (OOM kill)");
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
    void withoutUidAndGidTheyAreNullAndTheSeccompModeIsNamed() {
        JsonObject j = report(Status.OK, OptionalInt.of(0), OptionalInt.empty()).toJson();
        assertThat(j.get("uid").isJsonNull()).isTrue();
        assertThat(j.get("gid").isJsonNull()).isTrue();
        assertThat(j.get("seccomp").getAsString()).isEqualTo("default");
    }

    @Test
    void uidAndGidAreNumbers() {
        JsonObject j = new RunReport(List.of("id"), EnumSet.noneOf(Namespace.class), Optional.empty(), OptionalInt.of(1000),
                OptionalInt.of(100), "strict", Status.OK, "exited normally", OptionalInt.of(0), OptionalInt.empty(), false, Duration.ZERO,
                Duration.ZERO, Duration.ZERO, 0, 0, 0, Optional.empty(), List.of(), List.of()).toJson();
        assertThat(j.get("uid").getAsInt()).isEqualTo(1000);
        assertThat(j.get("gid").getAsInt()).isEqualTo(100);
        assertThat(j.get("seccomp").getAsString()).isEqualTo("strict");
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
