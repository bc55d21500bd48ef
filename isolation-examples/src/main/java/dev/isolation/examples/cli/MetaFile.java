package dev.isolation.examples.cli;

import dev.isolation.cgroups.CgroupStats;
import dev.isolation.core.Outcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What {@code run --meta} writes: isolate's meta file, {@code key:value} lines, so that judges
 * written for isolate can read a run of this tool. Times in seconds with three decimals, sizes in
 * KiB; a key whose figure does not apply is left out, as isolate does.
 *
 * <p>{@code status} follows isolate, which knows wait statuses rather than verdicts: TO for either
 * time limit, XX when the sandbox could not be set up, RE for a nonzero exit and SG for a signal,
 * so a memory limit (the OOM killer's SIGKILL), a forbidden system call (the monitor's SIGKILL,
 * {@code message} naming the call) and an output limit are SG when a signal ended the program; it
 * is absent, as is {@code message}, for OK.
 *
 * <p>A plain record, like {@link RunReport}, so the format is tested without a kernel.
 */
record MetaFile(
        Outcome.Status status,
        String message,
        Duration cpuTime,
        Duration wallTime,
        long maxRssKib,
        Optional<Long> cgroupMemoryKib,
        boolean oomKilled,
        long voluntaryContextSwitches,
        long involuntaryContextSwitches,
        OptionalInt exitCode,
        OptionalInt signal,
        boolean killed) {

    static MetaFile of(Outcome o) {
        Optional<Long> cgMem = o.cgroupStats().flatMap(CgroupStats::memoryPeak).map(p -> p.bytes() / 1024);
        return new MetaFile(o.status(), o.message(), o.cpuTime(), o.wallTime(), o.maxRss().bytes() / 1024, cgMem,
                o.oomKilled(), o.voluntaryContextSwitches(), o.involuntaryContextSwitches(), o.exitCode(), o.signal(),
                o.killed());
    }

    /** The meta file of a run whose sandbox could not be set up: isolate's XX, with the reason. */
    static MetaFile setupFailed(String reason) {
        return new MetaFile(Outcome.Status.SETUP_FAILED, reason, Duration.ZERO, Duration.ZERO, 0, Optional.empty(),
                false, 0, 0, OptionalInt.empty(), OptionalInt.empty(), false);
    }

    /** This file with another verdict, as {@link RunReport#withVerdict}. */
    MetaFile withVerdict(Outcome.Status newStatus, String newMessage) {
        return new MetaFile(newStatus, newMessage, cpuTime, wallTime, maxRssKib, cgroupMemoryKib, oomKilled, voluntaryContextSwitches,
                involuntaryContextSwitches, exitCode, signal, killed);
    }

    /** isolate's status code, empty for OK. */
    Optional<String> isolateStatus() {
        return switch (status) {
            case OK -> Optional.empty();
            case TIME_LIMIT, WALL_TIME_LIMIT -> Optional.of("TO");
            case SETUP_FAILED, INTERNAL_ERROR, INTERRUPTED -> Optional.of("XX");
            case SIGNALED -> Optional.of("SG");
            case NONZERO_EXIT -> Optional.of("RE");
            // verdicts isolate does not have: it reports them by how the program ended
            case MEMORY_LIMIT, OUTPUT_LIMIT, RESTRICTED_SYSCALL -> Optional.of(signal.isPresent() ? "SG" : "RE");
        };
    }

    /** The file's text, one {@code key:value} line each, in isolate's order. */
    String text() {
        StringBuilder sb = new StringBuilder();
        if (status != Outcome.Status.SETUP_FAILED && status != Outcome.Status.INTERNAL_ERROR) {
            line(sb, "time", seconds(cpuTime));
            line(sb, "time-wall", seconds(wallTime));
            line(sb, "max-rss", maxRssKib);
            line(sb, "csw-voluntary", voluntaryContextSwitches);
            line(sb, "csw-forced", involuntaryContextSwitches);
            cgroupMemoryKib.ifPresent(kib -> line(sb, "cg-mem", kib));
            if (oomKilled) {
                line(sb, "cg-oom-killed", 1);
            }
        }
        exitCode.ifPresent(code -> line(sb, "exitcode", code));
        signal.ifPresent(sig -> line(sb, "exitsig", sig));
        if (killed) {
            line(sb, "killed", 1);
        }
        isolateStatus().ifPresent(code -> {
            line(sb, "status", code);
            // a value ends at the line's end: a multi-line reason must not forge keys
            line(sb, "message", message.strip().replaceAll("\\s*\\R\\s*", " "));
        });
        return sb.toString();
    }

    private static void line(StringBuilder sb, String key, Object value) {
        sb.append(key).append(':').append(value).append('\n');
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
    }

    /** Replaces {@code file} atomically, as {@link RunReport#writeTo} does. */
    void writeTo(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text(), StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
