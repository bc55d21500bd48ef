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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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

    /**
     * Every isolation-<our pid>-* directory anywhere in the cgroup hierarchies of /proc/self/mountinfo
     * (on v2 sandboxes may live beside this JVM's cgroup, not under it).
     */
    private static List<Path> directoriesOfThisJvm() throws IOException {
        return HostCgroupMounts.directoriesNamed("isolation-" + ProcessHandle.current().pid() + "-");
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
    @Timeout(60)
    void limitsAreWrittenToTheirFilesAndReported() throws IOException {
        CgroupLimits limits = CgroupLimits.builder()
                .memoryLimit(ByteSize.mb(64))
                .pidsLimit(16)
                .cpuShares(512)
                .cpuQuota(0.5)
                .build();
        // What the kernel files must hold, by where each controller is mounted (read from mountinfo here): v1 takes
        // the values as given; v2 has no swap in memory.swap.max beyond the memory limit, the OCI formula's weight
        // for 512 shares, and quota and period on one line.
        boolean memoryV1 = HostCgroupMounts.of("memory").version() == 1;
        boolean cpuV1 = HostCgroupMounts.of("cpu").version() == 1;
        Map<String, Map.Entry<String, String>> expected = new TreeMap<>(Map.of(
                "memoryLimit", memoryV1 ? Map.entry("memory.limit_in_bytes", "67108864") : Map.entry("memory.max", "67108864"),
                "swapLimit", memoryV1 ? Map.entry("memory.memsw.limit_in_bytes", "67108864") : Map.entry("memory.swap.max", "0"),
                "pidsLimit", Map.entry("pids.max", "16"),
                "cpuShares", cpuV1 ? Map.entry("cpu.shares", "512") : Map.entry("cpu.weight", "59"),
                "cpuQuota", cpuV1 ? Map.entry("cpu.cfs_quota_us", "50000") : Map.entry("cpu.max", "50000 100000")));
        if (cpuV1) {
            expected.put("cpuPeriod", Map.entry("cpu.cfs_period_us", "100000"));
        }
        SandboxCgroup sandbox = host.create(limits);
        List<Path> dirs = sandbox.directories();
        try (sandbox) {
            assertThat(sandbox.name()).startsWith("isolation-" + ProcessHandle.current().pid() + "-");
            assertThat(dirs).allSatisfy(d -> assertThat(d).isDirectory().hasFileName(sandbox.name()));
            assertThat(sandbox.procsFiles()).hasSize(dirs.size());
            assertThat(sandbox.appliedLimits()).extracting(AppliedLimit::limit).containsExactlyInAnyOrderElementsOf(expected.keySet());
            for (AppliedLimit a : sandbox.appliedLimits()) {
                Map.Entry<String, String> want = expected.get(a.limit());
                String controller = want.getKey().substring(0, want.getKey().indexOf('.'));
                assertThat(a.file()).as(a.toString()).hasFileName(want.getKey());
                assertThat(dirs).as(a.toString()).contains(a.file().getParent());
                assertThat(a.file()).as("%s is in the %s hierarchy", a, controller).startsWith(HostCgroupMounts.of(controller).mountPoint());
                assertThat(Files.readString(a.file()).strip()).as(a.toString()).isEqualTo(want.getValue());
                assertThat(a.value().strip()).as("what the report says was written").isEqualTo(want.getValue());
            }
            assertThat(sandbox.unifiedDirectory().isPresent()).isEqualTo(host.layout() == CgroupLayout.UNIFIED);
            assertThat(populated(sandbox)).isFalse();
        }
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
    }

    @Test
    @Timeout(300)
    void processIsMeasuredFrozenThawedAndKilled() throws Exception {
        SandboxCgroup sandbox = host.create(CgroupLimits.builder().memoryLimit(ByteSize.mb(128)).pidsLimit(32).build());
        List<Path> dirs = sandbox.directories();
        Process sleep = start("sleep", "30");
        join(sandbox, sleep);

        assertThat(Files.readString(Path.of("/proc/" + sleep.pid() + "/cgroup"))).contains(sandbox.name());
        assertThat(populated(sandbox)).isTrue();
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
        assertThat(populated(sandbox)).isFalse();

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
    @Timeout(300)
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
    @Timeout(300)
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
            // pids.peak is there from Linux 6.1 (v2; v1 later): reported exactly where the kernel has it
            boolean kernelHasPeak = sandbox.directories().stream()
                    .filter(d -> Files.exists(d.resolve("pids.max"))).anyMatch(d -> Files.exists(d.resolve("pids.peak")));
            assertThat(sandbox.stats().pidsPeak().isPresent()).as("pids.peak reported iff the kernel has it").isEqualTo(kernelHasPeak);
            if (kernelHasPeak) {
                assertThat(sandbox.stats().pidsPeak().getAsLong()).isBetween(2L, 8L);
            }
        }
    }

    @Test
    @Timeout(300)
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
    @Timeout(300)
    @RequiresCgroups(CgroupController.CPUSET)
    void aCpusetOutsideTheParentsIsRejectedUpFrontAndLeavesNothingBehind() throws IOException {
        CgroupLimits limits = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).cpusetCpus("999").build();
        assertThatThrownBy(() -> host.create(limits))
                .isInstanceOf(CgroupException.class)
                .hasMessageContaining("cpusetCpus \"999\" names CPUs 999 that the parent cgroup")
                .hasMessageContaining("use a subset of");
        assertThat(directoriesOfThisJvm()).isEmpty();
    }

    /** What only the kernel knows: its error names the file, the value, the errno and what to do. */
    @Test
    @Timeout(300)
    @RequiresCgroups(CgroupController.CPUSET)
    void aCpusetTheKernelRejectsNamesFileValueErrnoAndWhatToDo() throws IOException {
        try (SandboxCgroup sandbox = host.create(CgroupLimits.builder().cpusetCpus("0").build())) {
            AppliedLimit cpus = sandbox.appliedLimits().stream().filter(a -> a.limit().equals("cpusetCpus")).findFirst().orElseThrow();
            dev.isolation.cgroups.internal.CgroupBackend backend = host.layout() == CgroupLayout.UNIFIED
                    ? dev.isolation.cgroups.internal.v2.V2Backend.INSTANCE : dev.isolation.cgroups.internal.v1.V1Backend.INSTANCE;
            assertThatThrownBy(() -> CgroupFs.write(cpus.file(), "999", "cpuset", errno -> backend.advice(cpus.file(), "999", errno)))
                    .isInstanceOfSatisfying(CgroupException.class, e -> {
                        // The kernel answers ERANGE for a cpu it does not have, EINVAL on some versions.
                        assertThat(e.getMessage()).contains("\"999\" -> " + cpus.file()).containsPattern("E[A-Z]+ \\(")
                                .contains("the kernel rejected the value").contains("/sys/devices/system/cpu/online");
                        assertThat(e.file()).contains(cpus.file());
                        assertThat(e.value()).contains("999");
                        assertThat(e.controller()).contains("cpuset");
                    });
        }
        assertThat(directoriesOfThisJvm()).isEmpty();
    }

    /**
     * A sandbox frozen in every freezer it has (on hybrid hosts also the v1 freezer, which holds
     * even SIGKILL) is killed and removed by close(): the teardown thaws them all first. Before the
     * one algorithm, close() on a hybrid host killed through cgroup2 alone and gave up after 5 s.
     */
    @Test
    @Timeout(300)
    void closeThawsEveryFreezerThenKillsAndRemoves() throws Exception {
        SandboxCgroup sandbox = host.create(CgroupLimits.none());
        List<Path> dirs = sandbox.directories();
        Process sleep = start("sleep", "300");
        join(sandbox, sleep);
        sandbox.freeze();
        for (Path d : dirs) {
            Path state = d.resolve("freezer.state");
            if (Files.exists(state)) {
                CgroupFs.write(state, "FROZEN", "freezer");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!Files.readString(state).strip().equals("FROZEN") && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(Files.readString(state).strip()).isEqualTo("FROZEN");
            }
        }
        sandbox.close();
        assertThat(sleep.waitFor(30, TimeUnit.SECONDS)).as("the frozen process died").isTrue();
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
    }

    @Test
    @Timeout(300)
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

    private static boolean populated(SandboxCgroup sandbox) throws IOException {
        for (Path procs : sandbox.procsFiles()) {
            if (!Files.readString(procs).isBlank()) {
                return true;
            }
        }
        return false;
    }
}
