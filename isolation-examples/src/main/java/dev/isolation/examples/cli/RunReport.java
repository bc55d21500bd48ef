package dev.isolation.examples.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.isolation.cgroups.AppliedLimit;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * What {@code run --json} writes: one JSON object, built here and nowhere else, so that new
 * figures (cgroup usage, verdicts) are one component and one line each. {@code status} is the
 * name of the {@link Outcome.Status} verdict, {@code message} its one-line explanation.
 *
 * <p>A plain record rather than {@link Outcome} itself, whose constructor is the library's, so the
 * JSON shape can be tested without a kernel.
 */
record RunReport(
        List<String> command,
        Set<Sandbox.Namespace> namespaces,
        Optional<String> hostname,
        OptionalInt uid,
        OptionalInt gid,
        String seccomp,
        Outcome.Status status,
        String message,
        OptionalInt exitCode,
        OptionalInt signal,
        boolean killed,
        Duration wallTime,
        Duration userTime,
        Duration systemTime,
        long maxRssBytes,
        long voluntaryContextSwitches,
        long involuntaryContextSwitches,
        Optional<CgroupStats> cgroupStats,
        List<AppliedLimit> limits,
        List<AppliedLimit.NotApplied> limitsNotApplied) {

    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();

    RunReport {
        command = List.copyOf(command);
        namespaces = Set.copyOf(namespaces);
        limits = List.copyOf(limits);
        limitsNotApplied = List.copyOf(limitsNotApplied);
    }

    /**
     * @param runAs the uid and gid the options set, if they set any
     * @param seccomp the filter's mode: default, strict or none
     */
    static RunReport of(List<String> command, Sandbox sandbox, Optional<RunCommand.RunAs> runAs, String seccomp,
            Outcome o) {
        return new RunReport(command, sandbox.namespaces(), sandbox.hostname(),
                runAs.map(ids -> OptionalInt.of(ids.uid())).orElse(OptionalInt.empty()),
                runAs.map(ids -> OptionalInt.of(ids.gid())).orElse(OptionalInt.empty()), seccomp, o.status(), o.message(), o.exitCode(), o.signal(),
                o.killed(), o.wallTime(), o.userTime(), o.systemTime(), o.maxRss().bytes(),
                o.voluntaryContextSwitches(), o.involuntaryContextSwitches(), o.cgroupStats(), o.appliedLimits(),
                o.limitsNotApplied());
    }

    /** The report of a run that never started: status SETUP_FAILED, {@code message} saying why, no figures. */
    static RunReport setupFailed(List<String> command, Set<Sandbox.Namespace> namespaces, Optional<String> hostname, String seccomp,
            String message) {
        return new RunReport(command, namespaces, hostname, OptionalInt.empty(), OptionalInt.empty(), seccomp, Outcome.Status.SETUP_FAILED,
                message, OptionalInt.empty(), OptionalInt.empty(), false, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0, 0, 0,
                Optional.empty(), List.of(), List.of());
    }

    /** This report with another verdict (isolate's --extra-time: a time limit the kill let pass). */
    RunReport withVerdict(Outcome.Status newStatus, String newMessage) {
        return new RunReport(command, namespaces, hostname, uid, gid, seccomp, newStatus, newMessage, exitCode, signal, killed, wallTime,
                userTime, systemTime, maxRssBytes, voluntaryContextSwitches, involuntaryContextSwitches, cgroupStats, limits,
                limitsNotApplied);
    }

    JsonObject toJson() {
        JsonObject j = new JsonObject();
        j.addProperty("status", status.name());
        j.addProperty("message", message);
        j.addProperty("exitCode", exitCode.isPresent() ? exitCode.getAsInt() : null);
        j.addProperty("signal", signal.isPresent() ? signal.getAsInt() : null);
        j.addProperty("killed", killed);
        j.addProperty("wallTimeMs", millis(wallTime));
        j.addProperty("cpuTimeMs", millis(userTime.plus(systemTime)));
        j.addProperty("userTimeMs", millis(userTime));
        j.addProperty("systemTimeMs", millis(systemTime));
        j.addProperty("maxRssBytes", maxRssBytes);
        j.addProperty("voluntaryContextSwitches", voluntaryContextSwitches);
        j.addProperty("involuntaryContextSwitches", involuntaryContextSwitches);
        JsonArray cmd = new JsonArray();
        command.forEach(cmd::add);
        j.add("command", cmd);
        JsonArray ns = new JsonArray();
        // enum order, so that the same policy always reads the same
        new TreeSet<>(namespaces).forEach(n -> ns.add(n.name().toLowerCase(Locale.ROOT)));
        j.add("namespaces", ns);
        j.addProperty("hostname", hostname.orElse(null));
        j.addProperty("uid", uid.isPresent() ? uid.getAsInt() : null);
        j.addProperty("gid", gid.isPresent() ? gid.getAsInt() : null);
        j.addProperty("seccomp", seccomp);
        // the same rule as Outcome.oomKilled(), from the same figures
        j.addProperty("oomKilled", cgroupStats.map(s -> s.oomKills().orElse(0) > 0).orElse(false));
        j.addProperty("memoryPeakBytes", cgroupStats.flatMap(CgroupStats::memoryPeak).map(ByteSize::bytes).orElse(null));
        j.addProperty("pidsPeak", cgroupStats.map(s -> s.pidsPeak().isPresent() ? s.pidsPeak().getAsLong() : null).orElse(null));
        j.addProperty("cgroupCpuTimeMs", cgroupStats.map(s -> millis(s.cpuTotal())).orElse(null));
        JsonArray applied = new JsonArray();
        for (AppliedLimit l : limits) {
            JsonObject o = new JsonObject();
            o.addProperty("limit", l.limit());
            o.addProperty("value", l.value());
            o.addProperty("file", l.file().toString());
            applied.add(o);
        }
        j.add("limits", applied);
        JsonArray notApplied = new JsonArray();
        for (AppliedLimit.NotApplied l : limitsNotApplied) {
            JsonObject o = new JsonObject();
            o.addProperty("limit", l.limit());
            o.addProperty("value", l.value());
            o.addProperty("reason", l.reason());
            notApplied.add(o);
        }
        j.add("limitsNotApplied", notApplied);
        return j;
    }

    /** Milliseconds with microsecond precision: a fast program's run is well under one millisecond. */
    private static double millis(Duration d) {
        return Math.round(d.toNanos() / 1_000.0) / 1_000.0;
    }

    /** Replaces {@code file} atomically: a reader never sees half a report. */
    void writeTo(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                GSON.toJson(toJson(), w);
                w.write('\n');
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
