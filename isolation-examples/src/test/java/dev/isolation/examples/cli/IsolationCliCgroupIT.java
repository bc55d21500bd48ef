package dev.isolation.examples.cli;

import dev.isolation.examples.cli.IsolationJar.Result;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.examples.RealKernel;
import java.io.File;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built tool's cgroup limits on the real kernel: a memory limit ends an allocation past it, a
 * pids limit makes fork fail, the report says what was written where, and every run removes its
 * cgroups. Also {@code isolation doctor}.
 */
class IsolationCliCgroupIT {
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dir;

    @BeforeAll
    static void requireCgroupsAndJar() {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS);
        IsolationJar.requireBuilt();
    }


    private Result isolation(String... args) throws IOException, InterruptedException {
        Result r = IsolationJar.run(dir, args);
        assertThat(cgroupsOf(r.pid())).as("cgroups left behind by the tool (pid %d)", r.pid()).isEmpty();
        return r;
    }

    /** Every {@code isolation-<pid>-*} directory under /sys/fs/cgroup, as {@code find -name} would list it. */
    private static List<Path> cgroupsOf(long pid) throws IOException {
        String prefix = "isolation-" + pid + "-";
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(CGROUP_ROOT, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (d.getFileName() != null && d.getFileName().toString().startsWith(prefix)) {
                    found.add(d);
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // a cgroup another process removed meanwhile
            }
        });
        return found;
    }

    private static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    /** A command that really touches 200 MB: python3 where PATH has it, else a shell holding 200 MB in a variable. */
    private static List<String> allocate200MB() {
        Optional<Path> python = Optional.ofNullable(System.getenv("PATH")).stream()
                .flatMap(p -> List.of(p.split(File.pathSeparator)).stream())
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, "python3"))
                .filter(Files::isExecutable)
                .findFirst();
        if (python.isPresent()) {
            return List.of("python3", "-c", "x=bytearray(200*1024*1024)"); // bytearray(n) zero-fills: pages are touched
        }
        return List.of("sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a)");
    }

    @Test
    @Timeout(120)
    void memoryLimitKillsAllocationPastLimitAndTheReportSaysSo() throws Exception {
        Path json = dir.resolve("oom.json");
        List<String> args = new ArrayList<>(List.of("run", "--memory", "64M", "--swap", "0", "--json", json.toString(), "--"));
        args.addAll(allocate200MB());
        Result r = isolation(args.toArray(String[]::new));

        assertThat(r.status()).as("SIGKILL from the OOM killer; stderr: %s", r.stderr()).isEqualTo(137);
        JsonObject j = json(json);
        assertThat(j.get("status").getAsString()).isEqualTo("MEMORY_LIMIT");
        assertThat(j.get("message").getAsString()).contains("memory limit");
        assertThat(j.get("signal").getAsInt()).isEqualTo(9);
        assertThat(j.get("killed").getAsBoolean()).as("killed by the kernel, not by isolation").isFalse();
        assertThat(j.get("oomKilled").getAsBoolean()).isTrue();
        assertThat(j.get("memoryPeakBytes").getAsLong()).isBetween(32 * MIB, 64 * MIB + MIB);
        assertThat(j.get("cgroupCpuTimeMs").getAsDouble()).isPositive();
        List<JsonObject> limits = j.getAsJsonArray("limits").asList().stream().map(JsonElement::getAsJsonObject).toList();
        assertThat(limits).anySatisfy(l -> {
            assertThat(l.get("limit").getAsString()).isEqualTo("memoryLimit");
            assertThat(l.get("value").getAsString()).isEqualTo(Long.toString(64 * MIB));
            assertThat(l.get("file").getAsString()).matches(".*/isolation-" + r.pid() + "-\\d+/memory\\.(limit_in_bytes|max)");
        });
        assertThat(j.getAsJsonArray("limitsNotApplied")).isEmpty();
    }

    @Test
    @Timeout(120)
    void cpuTimeLimitKillsABusyLoopAndTheMetaFileSaysSoAsIsolateWould() throws Exception {
        Path meta = dir.resolve("meta");
        Path json = dir.resolve("tle.json");
        Result r = isolation("run", "--pid", "--cpu-time", "0.5", "--wall-time", "10", "--meta", meta.toString(),
                "--json", json.toString(), "--", "sh", "-c", "while :; do :; done");

        assertThat(r.status()).as("SIGKILL from the monitor; stderr: %s", r.stderr()).isEqualTo(137);
        List<String> lines = Files.readAllLines(meta);
        assertThat(lines).contains("status:TO", "killed:1", "exitsig:9").anyMatch(l -> l.startsWith("message:CPU time limit"));
        double cpu = Double.parseDouble(lines.stream().filter(l -> l.startsWith("time:")).findFirst().orElseThrow().substring(5));
        // past the limit by no more than the monitor's reaction (it checks every 10 ms), far below the 10 s wall limit
        assertThat(cpu).isBetween(0.5, 2.0);
        assertThat(lines).anyMatch(l -> l.matches("time-wall:\\d+\\.\\d{3}")).anyMatch(l -> l.matches("max-rss:\\d+"));
        assertThat(json(json).get("status").getAsString()).isEqualTo("TIME_LIMIT");
    }

    @Test
    @Timeout(120)
    void pidsLimitMakesForkFail() throws Exception {
        Path json = dir.resolve("pids.json");
        Result r = isolation("run", "--pids", "8", "--json", json.toString(),
                "--", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done; wait");

        assertThat(r.stderr().toLowerCase(Locale.ROOT)).as("the shell's complaint")
                .containsAnyOf("fork", "resource temporarily unavailable");
        JsonObject j = json(json);
        assertThat(j.get("oomKilled").getAsBoolean()).isFalse();
        // pids.peak is there from Linux 6.1 (v2; v1 later): reported exactly where the kernel has it, as a cgroup
        // made the same way shows
        boolean kernelHasPeak;
        try (SandboxCgroup probe = CgroupHost.detect().create(CgroupLimits.builder().pidsLimit(8).build())) {
            kernelHasPeak = probe.directories().stream().filter(d -> Files.exists(d.resolve("pids.max")))
                    .anyMatch(d -> Files.exists(d.resolve("pids.peak")));
        }
        assertThat(j.get("pidsPeak").isJsonNull()).as("pidsPeak null iff the kernel has no pids.peak").isEqualTo(!kernelHasPeak);
        if (kernelHasPeak) {
            assertThat(j.get("pidsPeak").getAsLong()).isBetween(2L, 8L);
        }
        List<JsonObject> limits = j.getAsJsonArray("limits").asList().stream().map(JsonElement::getAsJsonObject).toList();
        assertThat(limits).anySatisfy(l -> {
            assertThat(l.get("limit").getAsString()).isEqualTo("pidsLimit");
            assertThat(l.get("value").getAsString()).isEqualTo("8");
            assertThat(l.get("file").getAsString()).endsWith("/pids.max");
        });
    }

    @Test
    @Timeout(120)
    void cgroupWithoutLimitsMeasuresAndLimitsNothing() throws Exception {
        Path json = dir.resolve("cgroup.json");
        Result r = isolation("run", "--cgroup", "--json", json.toString(), "--", "sh", "-c", "x=$(seq 1 20000)");

        assertThat(r.status()).isZero();
        JsonObject j = json(json);
        assertThat(j.getAsJsonArray("limits")).isEmpty();
        assertThat(j.get("oomKilled").getAsBoolean()).isFalse();
        assertThat(j.get("cgroupCpuTimeMs").getAsDouble()).isPositive();
        assertThat(j.get("memoryPeakBytes").getAsLong()).isPositive();
    }

    @Test
    @Timeout(120)
    void cgroupSetupFailureIsOneLineWithStatus125AndNothingLeftBehind() throws Exception {
        Result r = isolation("run", "--cgroup-parent", "/isolation-it-no-such-parent", "--", "true");

        assertThat(r.status()).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(r.stderr().lines()).singleElement().asString()
                .startsWith("isolation: ")
                .contains("/isolation-it-no-such-parent");
    }

    @Test
    @Timeout(120)
    void doctorExitsZeroAndReportsTheLayoutTheKernelAndTheChecks() throws Exception {
        Result r = isolation("doctor");

        assertThat(r.status()).isZero();
        assertThat(r.stderr()).isEmpty();
        List<String> lines = r.stdout().lines().toList();
        // each figure as the test reads it from /proc itself
        assertThat(lines).contains("kernel: " + proc("sys/kernel/osrelease"));
        assertThat(lines).anyMatch(l -> l.matches("helper: (sealed memfd|cache directory /.+)"));
        String maxUserNs = proc("sys/user/max_user_namespaces");
        assertThat(lines).contains(maxUserNs.equals("0")
                ? "  user.max_user_namespaces: [problem] 0: nobody, not even root, may create a user namespace (--user fails)"
                : "  user.max_user_namespaces: [ok] " + maxUserNs + ": user namespaces may be created");
        for (String knob : List.of("unprivileged_userns_clone", "apparmor_restrict_unprivileged_userns")) {
            Path file = Path.of("/proc/sys/kernel/" + knob);
            String shown = Files.exists(file) ? proc("sys/kernel/" + knob) + ":" : "not present";
            assertThat(lines).anyMatch(l -> l.startsWith("  kernel." + knob + ": ") && l.contains(" " + shown));
        }
        assertThat(lines).contains("seccomp: [ok] filters available: libseccomp.so.2 loads, the kernel offers "
                + proc("sys/kernel/seccomp/actions_avail"));

        List<String[]> mounts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(l -> l.split(" - ", 2)).map(h -> new String[] {h[0].split(" ")[4], h[0].split(" ")[5], h[1].split(" ")[0],
                    h[1].split(" ")[2]}).toList(); // mount point, mount options, fs type, super options
        long underCgroupRoot = mounts.stream().filter(m -> Path.of(m[0]).startsWith(CGROUP_ROOT)).count();
        assertThat(mounts.stream().filter(m -> Path.of(m[0]).startsWith(CGROUP_ROOT)))
                .as("this test expects a writable cgroup tree").allMatch(m -> List.of(m[1].split(",")).contains("rw"));
        assertThat(lines).contains("cgroup mounts: [ok] all " + underCgroupRoot + " mounts at or under /sys/fs/cgroup are read-write");
        boolean v1 = mounts.stream().anyMatch(m -> m[2].equals("cgroup"));
        boolean v2 = mounts.stream().anyMatch(m -> m[2].equals("cgroup2"));
        String layout = v1 && v2 ? "HYBRID" : v1 ? "LEGACY" : "UNIFIED";
        assertThat(lines).anyMatch(l -> l.startsWith("cgroup layout: " + layout + " (kernel "));
        // a line per hierarchy of /proc/self/cgroup, with its mount point and this process's cgroup in it
        for (String entry : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = entry.split(":", 3);
            boolean unified = f[0].equals("0") && f[1].isEmpty();
            List<String> controllers = List.of(f[1].split(","));
            String[] mount = mounts.stream().filter(m -> unified ? m[2].equals("cgroup2")
                    : m[2].equals("cgroup") && List.of(m[3].split(",")).containsAll(controllers)).findFirst().orElseThrow();
            assertThat(lines).as("hierarchy %s", entry).anyMatch(l -> l.matches("  v" + (unified ? 2 : 1) + " "
                    + Pattern.quote(mount[0]) + " +own cgroup " + Pattern.quote(f[2]) + " +controllers: .*"));
        }
        // and each controller on the hierarchy that has it: a v1 mount bound to it, else cgroup2
        for (String c : List.of("memory", "pids", "cpu")) {
            boolean onV1 = mounts.stream().anyMatch(m -> m[2].equals("cgroup") && List.of(m[3].split(",")).contains(c));
            assertThat(lines).anyMatch(l -> l.matches("  " + c + " +v" + (onV1 ? 1 : 2) + " +ok .*"));
        }
    }

    /**
     * A /proc file's content, stripped, read in one read(2): Files.readString reads an empty-looking file one byte
     * first, and an integer sysctl answers a read at a later offset with EOF (it gave "9" for 96364).
     */
    private static String proc(String file) throws IOException {
        try (var in = Files.newInputStream(Path.of("/proc", file))) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        }
    }
}
