package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.internal.CgroupFs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@RequiresCgroups
class SandboxCgroupIT {
    private CgroupHost host;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void detect() throws IOException {
        host = CgroupHost.detect();
    }

    @AfterEach
    void noLeftovers() throws IOException {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        assertThat(directoriesOfThisJvm()).isEmpty();
    }

    /** Every isolation-<our pid>-* directory in the default sandbox parents. */
    private List<Path> directoriesOfThisJvm() throws IOException {
        String prefix = "isolation-" + ProcessHandle.current().pid() + "-";
        List<Path> out = new ArrayList<>();
        for (HostReport.Hierarchy h : host.probe().hierarchies()) {
            try (Stream<Path> s = Files.list(h.ownDirectory())) {
                s.filter(p -> p.getFileName().toString().startsWith(prefix)).forEach(out::add);
            }
        }
        return out;
    }

    private Process start(String... command) throws IOException {
        Process p = new ProcessBuilder(command).start();
        processes.add(p);
        return p;
    }

    private static void join(SandboxCgroup sandbox, Process p) throws IOException {
        for (Path procs : sandbox.procsFiles()) {
            CgroupFs.write(procs, Long.toString(p.pid()), null);
        }
    }

    private static void go(Process p) throws IOException {
        OutputStream in = p.getOutputStream();
        in.write('\n');
        in.flush();
    }

    @Test
    void limitsAreWrittenToTheirFilesAndReported() throws IOException {
        CgroupLimits limits = CgroupLimits.builder()
                .memoryLimit(ByteSize.mb(64))
                .pidsLimit(16)
                .cpuShares(512)
                .cpuQuota(0.5)
                .build();
        SandboxCgroup sandbox = host.create(limits);
        List<Path> dirs = sandbox.directories();
        try (sandbox) {
            assertThat(sandbox.name()).startsWith("isolation-" + ProcessHandle.current().pid() + "-");
            assertThat(dirs).allSatisfy(d -> assertThat(d).isDirectory());
            assertThat(sandbox.procsFiles()).hasSize(dirs.size());
            assertThat(sandbox.appliedLimits()).extracting(AppliedLimit::limit)
                    .contains("memoryLimit", "swapLimit", "pidsLimit", "cpuShares", "cpuQuota");
            for (AppliedLimit a : sandbox.appliedLimits()) {
                assertThat(a.file()).startsWith(dirs.stream().filter(a.file()::startsWith).findFirst().orElseThrow());
                assertThat(Files.readString(a.file()).strip()).as(a.toString()).isEqualTo(a.value());
            }
            if (host.layout() == CgroupLayout.UNIFIED) {
                assertThat(sandbox.unifiedDirectory()).isPresent();
            } else {
                assertThat(sandbox.unifiedDirectory()).isEmpty();
                assertThat(read(sandbox, "memoryLimit")).isEqualTo("67108864");
                assertThat(read(sandbox, "swapLimit")).isEqualTo("67108864");
                assertThat(read(sandbox, "cpuShares")).isEqualTo("512");
                assertThat(read(sandbox, "cpuQuota")).isEqualTo("50000");
                assertThat(read(sandbox, "cpuPeriod")).isEqualTo("100000");
            }
            assertThat(read(sandbox, "pidsLimit")).isEqualTo("16");
            assertThat(sandbox.isPopulated()).isFalse();
        }
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
    }

    private static String read(SandboxCgroup s, String limit) throws IOException {
        AppliedLimit a = s.appliedLimits().stream().filter(l -> l.limit().equals(limit)).findFirst().orElseThrow();
        return Files.readString(a.file()).strip();
    }

    @Test
    void processIsMeasuredFrozenThawedAndKilled() throws Exception {
        SandboxCgroup sandbox = host.create(CgroupLimits.builder().memoryLimit(ByteSize.mb(128)).pidsLimit(32).build());
        List<Path> dirs = sandbox.directories();
        Process sleep = start("sleep", "30");
        join(sandbox, sleep);

        assertThat(Files.readString(Path.of("/proc/" + sleep.pid() + "/cgroup"))).contains(sandbox.name());
        assertThat(sandbox.isPopulated()).isTrue();
        CgroupStats stats = sandbox.stats();
        assertThat(stats.pidsCurrent()).isPresent();
        assertThat(stats.pidsCurrent().getAsLong()).isGreaterThanOrEqualTo(1);
        assertThat(stats.memoryCurrent()).isPresent();
        assertThat(stats.oomKills()).hasValue(0);

        sandbox.freeze();
        assertThat(frozenState(sandbox)).isTrue();
        assertThat(sleep.isAlive()).isTrue();
        sandbox.thaw();
        assertThat(frozenState(sandbox)).isFalse();

        sandbox.kill();
        assertThat(sleep.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(sleep.exitValue()).isEqualTo(128 + 9);
        assertThat(sandbox.isPopulated()).isFalse();

        sandbox.close();
        sandbox.close();
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
        assertThatThrownBy(sandbox::stats).isInstanceOf(IllegalStateException.class);
    }

    /** Reads the kernel's own view: cgroup.events "frozen" where cgroup.freeze is used, else freezer.state. */
    private static boolean frozenState(SandboxCgroup sandbox) throws IOException {
        for (Path d : sandbox.directories()) {
            if (Files.exists(d.resolve("cgroup.freeze"))) {
                Map<String, Long> ev = CgroupFs.readKeyedIfExists(d.resolve("cgroup.events"), null).orElseThrow();
                return ev.get("frozen") == 1;
            }
        }
        for (Path d : sandbox.directories()) {
            if (Files.exists(d.resolve("freezer.state"))) {
                return Files.readString(d.resolve("freezer.state")).strip().equals("FROZEN");
            }
        }
        throw new AssertionError("no freezer in " + sandbox.directories());
    }

    @Test
    void closeKillsWhatIsLeftAndRemovesEveryDirectory() throws Exception {
        SandboxCgroup sandbox = host.create(CgroupLimits.none());
        List<Path> dirs = sandbox.directories();
        Process sleep = start("sleep", "30");
        join(sandbox, sleep);
        sandbox.close();
        assertThat(sleep.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
    }

    @Test
    void pidsLimitMakesForksFail() throws Exception {
        try (SandboxCgroup sandbox = host.create(CgroupLimits.builder().pidsLimit(8).build())) {
            StringBuilder script = new StringBuilder("read go; ");
            for (int i = 0; i < 20; i++) {
                script.append("sleep 2 & ");
            }
            script.append("wait");
            Process sh = start("sh", "-c", script.toString());
            join(sandbox, sh);
            go(sh);
            assertThat(sh.waitFor(20, TimeUnit.SECONDS)).isTrue();
            String stderr = new String(sh.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(stderr).containsIgnoringCase("fork");
            if (sandbox.stats().pidsPeak().isPresent()) {
                assertThat(sandbox.stats().pidsPeak().getAsLong()).isBetween(2L, 8L);
            }
        }
    }

    @Test
    void memoryLimitKillsAllocationPastLimit() throws Exception {
        try (SandboxCgroup sandbox = host.create(CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).build())) {
            Process py = start("sh", "-c", "read go; exec /usr/bin/python3 -c 'a = b\"x\" * (200 << 20); print(len(a))'");
            join(sandbox, py);
            go(py);
            assertThat(py.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(py.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
            CgroupStats stats = sandbox.stats();
            assertThat(stats.oomKills()).isPresent();
            assertThat(stats.oomKills().getAsLong()).isGreaterThanOrEqualTo(1);
            assertThat(stats.memoryPeak()).isPresent();
            assertThat(stats.memoryPeak().get().bytes()).isLessThanOrEqualTo(64L << 20);
        }
    }

    @Test
    @RequiresCgroups(CgroupController.CPUSET)
    void invalidCpusetFailsNamingTheFileAndLeavesNothingBehind() throws IOException {
        CgroupLimits limits = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).cpusetCpus("999").build();
        assertThatThrownBy(() -> host.create(limits))
                .isInstanceOfSatisfying(CgroupException.class, e -> {
                    // The kernel answers ERANGE for a cpu it does not have, EINVAL on some versions.
                    assertThat(e.getMessage()).contains("cpuset.cpus").contains("\"999\"").containsPattern("E[A-Z]+ \\(");
                    assertThat(e.file()).hasValueSatisfying(f -> assertThat(f.getFileName()).hasToString("cpuset.cpus"));
                    assertThat(e.getMessage()).contains(e.file().orElseThrow().toString());
                    assertThat(e.value()).contains("999");
                    assertThat(e.controller()).contains("cpuset");
                });
        assertThat(directoriesOfThisJvm()).isEmpty();
    }

    @Test
    void cpuStatsCountWorkDone() throws Exception {
        try (SandboxCgroup sandbox = host.create(CgroupLimits.builder().cpuWeight(100).build())) {
            Process busy = start("sh", "-c", "read go; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done");
            join(sandbox, busy);
            go(busy);
            assertThat(busy.waitFor(30, TimeUnit.SECONDS)).isTrue();
            CgroupStats stats = sandbox.stats();
            assertThat(stats.cpuTotal()).isPositive();
            assertThat(stats.cpuUser().plus(stats.cpuSystem())).isPositive();
            assertThat(sandbox.appliedLimits()).extracting(AppliedLimit::limit).containsExactly("cpuWeight");
        }
    }
}
