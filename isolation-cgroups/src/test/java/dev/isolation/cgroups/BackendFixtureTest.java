package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.internal.v1.V1Backend;
import dev.isolation.cgroups.internal.v2.V2Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each backend (v1, v2) and the hybrid router on fixture directories, without root: a temporary
 * directory stands for each mounted hierarchy, with the files the kernel would show. Covers
 * apply, stats, freeze, the CPU counter, the teardown data and removal.
 */
class BackendFixtureTest {
    @TempDir
    Path root;

    /** A host whose hierarchies are directories under {@link #root}: "v1", "v2" or "hybrid" (optionally without cpuacct). */
    private CgroupHost host(String layout, boolean cpuacct) throws IOException {
        List<String> mounts = new ArrayList<>();
        List<String> cgroup = new ArrayList<>();
        int id = 30;
        if (!layout.equals("v2")) {
            List<String> v1 = new ArrayList<>(List.of("memory", "cpu", "pids", "freezer", "cpuset", "blkio"));
            if (cpuacct) {
                v1.add("cpuacct");
            }
            for (String c : v1) {
                Files.createDirectories(root.resolve(c));
                mounts.add(id + " 1 0:" + id + " / " + root.resolve(c) + " rw,relatime - cgroup cgroup rw," + c);
                cgroup.add(id + ":" + c + ":/");
                id++;
            }
        }
        if (!layout.equals("v1")) {
            Path unified = root.resolve("unified");
            Files.createDirectories(unified);
            Files.writeString(unified.resolve("cgroup.controllers"), layout.equals("v2") ? "cpuset cpu io memory pids\n" : "\n");
            Files.writeString(unified.resolve("cgroup.subtree_control"), layout.equals("v2") ? "cpuset cpu io memory pids\n" : "\n");
            mounts.add(id + " 1 0:" + id + " / " + unified + " rw,relatime - cgroup2 cgroup2 rw");
            cgroup.add("0::/");
        }
        Path mountinfo = root.resolve("mountinfo");
        Path self = root.resolve("cgroup");
        Files.write(mountinfo, mounts);
        Files.write(self, cgroup);
        return CgroupHost.detect(mountinfo, self);
    }

    private static Path dirIn(SandboxCgroup sb, Path mount) {
        return sb.directories().stream().filter(d -> d.getParent().equals(mount)).findFirst().orElseThrow();
    }

    private static Hierarchy hierarchy(CgroupHost host, CgroupController c) {
        return host.route(c).orElseThrow();
    }

    /** Applies through the router onto fixture files, as the kernel's would be before the first write. */
    private static LimitWriter.Result apply(CgroupHost host, Path dir, CgroupLimits limits, String... files) throws IOException {
        for (String f : files) {
            Files.writeString(dir.resolve(f), "");
        }
        Map<CgroupController, SandboxCgroup.Node> routes = new EnumMap<>(CgroupController.class);
        for (CgroupController c : CgroupController.values()) {
            host.route(c).ifPresent(h -> routes.put(c, new SandboxCgroup.Node(h, dir)));
        }
        return LimitWriter.apply(routes, limits);
    }

    private static final CgroupLimits LIMITS = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).swapLimit(ByteSize.mb(16))
            .cpuShares(512).cpuQuota(Duration.ofMillis(50), Duration.ofMillis(100)).pidsLimit(32).cpusetCpus("0").build();

    @Test
    void v1AppliesEachLimitInV1SyntaxAndReturnsWhatItWrote() throws IOException {
        CgroupHost host = host("v1", true);
        Path dir = Files.createDirectories(root.resolve("box"));
        LimitWriter.Result r = apply(host, dir, LIMITS, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cpu.shares",
                "cpu.cfs_period_us", "cpu.cfs_quota_us", "pids.max", "cpuset.cpus");
        assertThat(Files.readString(dir.resolve("memory.limit_in_bytes"))).isEqualTo(Long.toString(64L << 20));
        assertThat(Files.readString(dir.resolve("memory.memsw.limit_in_bytes"))).isEqualTo(Long.toString(80L << 20));
        assertThat(Files.readString(dir.resolve("cpu.shares"))).isEqualTo("512");
        assertThat(Files.readString(dir.resolve("cpu.cfs_period_us"))).isEqualTo("100000");
        assertThat(Files.readString(dir.resolve("cpu.cfs_quota_us"))).isEqualTo("50000");
        assertThat(Files.readString(dir.resolve("pids.max"))).isEqualTo("32");
        assertThat(Files.readString(dir.resolve("cpuset.cpus"))).isEqualTo("0");
        assertThat(r.applied()).extracting(AppliedLimit::limit)
                .containsExactly("memoryLimit", "swapLimit", "cpuShares", "cpuPeriod", "cpuQuota", "cpusetCpus", "pidsLimit");
        assertThat(r.notApplied()).isEmpty();
    }

    @Test
    void v2AppliesEachLimitInV2Syntax() throws IOException {
        CgroupHost host = host("v2", true);
        Path dir = Files.createDirectories(root.resolve("box"));
        LimitWriter.Result r = apply(host, dir, LIMITS, "memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max",
                "cpuset.cpus");
        assertThat(Files.readString(dir.resolve("memory.max"))).isEqualTo(Long.toString(64L << 20));
        assertThat(Files.readString(dir.resolve("memory.swap.max"))).isEqualTo(Long.toString(16L << 20));
        assertThat(Files.readString(dir.resolve("cpu.weight"))).isEqualTo(Long.toString(CgroupUnits.sharesToWeight(512)));
        assertThat(Files.readString(dir.resolve("cpu.max"))).isEqualTo("50000 100000");
        assertThat(Files.readString(dir.resolve("pids.max"))).isEqualTo("32");
        assertThat(r.applied()).extracting(a -> a.file().getFileName().toString())
                .containsExactly("memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "cpuset.cpus", "pids.max");
    }

    @Test
    void aMissingSwapFileIsReportedNotSilentlySkipped() throws IOException {
        CgroupHost host = host("v2", true);
        Path dir = Files.createDirectories(root.resolve("box"));
        CgroupLimits mem = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).bestEffort(true).build();
        LimitWriter.Result r = apply(host, dir, mem, "memory.max");
        assertThat(r.applied()).extracting(AppliedLimit::limit).containsExactly("memoryLimit");
        assertThat(r.notApplied()).singleElement().satisfies(n -> {
            assertThat(n.limit()).isEqualTo("swapLimit");
            assertThat(n.reason()).contains("memory.swap.max");
        });
    }

    @Test
    void hybridRoutesEachControllerToItsOwnHierarchyAndTracksInCgroup2() throws IOException {
        CgroupHost host = host("hybrid", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            assertThat(hierarchy(host, CgroupController.MEMORY).version()).isEqualTo(1);
            assertThat(hierarchy(host, CgroupController.CPUACCT).version()).isEqualTo(1);
            assertThat(hierarchy(host, CgroupController.FREEZER).version()).isEqualTo(1);
            assertThat(sb.directories()).contains(root.resolve("unified").resolve(sb.name()), root.resolve("memory").resolve(sb.name()));
            // v1 cpuacct counts CPU time here
            Path acct = dirIn(sb, root.resolve("cpuacct"));
            Files.writeString(acct.resolve("cpuacct.usage"), "0\n");
            assertThat(sb.cpuCounter()).contains(new CpuCounter(root.resolve("cpuacct").resolve(sb.name()).resolve("cpuacct.usage"),
                    Optional.empty(), 1));
                clean(sb);
    }
    }

    /** The bug of issue 12: without v1 cpuacct, the counter is cgroup2's cpu.stat usage_usec, never v1 cpu's cpu.stat. */
    @Test
    void hybridWithoutCpuacctCountsCpuInCgroup2() throws IOException {
        CgroupHost host = host("hybrid", false);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path unified = dirIn(sb, root.resolve("unified"));
            Path cpu = dirIn(sb, root.resolve("cpu"));
            Files.writeString(cpu.resolve("cpu.stat"), "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
            Files.writeString(unified.resolve("cpu.stat"), "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
            assertThat(sb.cpuCounter()).contains(new CpuCounter(unified.resolve("cpu.stat"), Optional.of("usage_usec"), 1000));
            assertThat(sb.stats().cpuTotal()).isEqualTo(Duration.ofMillis(1500));
            assertThat(sb.stats().cpuUser()).isEqualTo(Duration.ofSeconds(1));
            Files.delete(cpu.resolve("cpu.stat"));
            Files.delete(unified.resolve("cpu.stat"));
        }
    }

    @Test
    void v1StatsReadNanosecondCountersAndMemoryFiles() throws IOException {
        CgroupHost host = host("v1", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path acct = dirIn(sb, root.resolve("cpuacct"));
            Path mem = dirIn(sb, root.resolve("memory"));
            Path pids = dirIn(sb, root.resolve("pids"));
            Path cpu = dirIn(sb, root.resolve("cpu"));
            Files.writeString(acct.resolve("cpuacct.usage"), "2000000000\n");
            Files.writeString(acct.resolve("cpuacct.usage_user"), "1500000000\n");
            Files.writeString(acct.resolve("cpuacct.usage_sys"), "500000000\n");
            Files.writeString(cpu.resolve("cpu.stat"), "nr_periods 4\nnr_throttled 3\nthrottled_time 7000000\n");
            Files.writeString(mem.resolve("memory.usage_in_bytes"), "4096\n");
            Files.writeString(mem.resolve("memory.max_usage_in_bytes"), "8192\n");
            Files.writeString(mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
            Files.writeString(pids.resolve("pids.current"), "3\n");
            CgroupStats s = sb.stats();
            assertThat(s.cpuTotal()).isEqualTo(Duration.ofSeconds(2));
            assertThat(s.cpuSystem()).isEqualTo(Duration.ofMillis(500));
            assertThat(s.cpuThrottledCount()).isEqualTo(3);
            assertThat(s.cpuThrottledTime()).isEqualTo(Duration.ofMillis(7));
            assertThat(s.memoryCurrent()).contains(ByteSize.kb(4));
            assertThat(s.memoryPeak()).contains(ByteSize.kb(8));
            assertThat(s.oomKills()).hasValue(2);
            assertThat(s.pidsCurrent()).hasValue(3);
            assertThat(s.pidsPeak()).isEmpty();
            assertThat(sb.cpuCounter()).contains(new CpuCounter(acct.resolve("cpuacct.usage"), Optional.empty(), 1));
            clean(sb);
        }
    }

    @Test
    void v2StatsReadMicrosecondCountersAndEvents() throws IOException {
        CgroupHost host = host("v2", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path d = sb.directories().get(0);
            Files.writeString(d.resolve("cpu.stat"), "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_throttled 5\nthrottled_usec 9\n");
            Files.writeString(d.resolve("memory.current"), "4096\n");
            Files.writeString(d.resolve("memory.peak"), "12288\n");
            Files.writeString(d.resolve("memory.events"), "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
            Files.writeString(d.resolve("pids.current"), "1\n");
            Files.writeString(d.resolve("pids.peak"), "7\n");
            CgroupStats s = sb.stats();
            assertThat(s.cpuTotal()).isEqualTo(Duration.ofMillis(3));
            assertThat(s.cpuThrottledCount()).isEqualTo(5);
            assertThat(s.cpuThrottledTime()).isEqualTo(Duration.ofNanos(9000));
            assertThat(s.memoryPeak()).contains(ByteSize.kb(12));
            assertThat(s.oomKills()).hasValue(1);
            assertThat(s.pidsPeak()).hasValue(7);
            clean(sb);
        }
    }

    @Test
    void v2FreezesWithCgroupFreezeAndWaitsForTheEvent() throws IOException {
        CgroupHost host = host("v2", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path d = sb.directories().get(0);
            Files.writeString(d.resolve("cgroup.freeze"), "0\n");
            Files.writeString(d.resolve("cgroup.events"), "populated 1\nfrozen 1\n");
            sb.freeze();
            assertThat(Files.readString(d.resolve("cgroup.freeze")).strip()).isEqualTo("1");
            Files.writeString(d.resolve("cgroup.events"), "populated 1\nfrozen 0\n");
            sb.thaw();
            assertThat(Files.readString(d.resolve("cgroup.freeze")).strip()).isEqualTo("0");
            clean(sb);
        }
    }

    @Test
    void v1FreezesWithFreezerState() throws IOException {
        CgroupHost host = host("v1", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path f = dirIn(sb, root.resolve("freezer"));
            Files.writeString(f.resolve("freezer.state"), "THAWED\n");
            sb.freeze();
            assertThat(Files.readString(f.resolve("freezer.state")).strip()).isEqualTo("FROZEN");
            sb.thaw();
            assertThat(Files.readString(f.resolve("freezer.state")).strip()).isEqualTo("THAWED");
            clean(sb);
        }
    }

    @Test
    void teardownNamesKillFileFreezersProcsAndDirectoriesInRemovalOrder() throws IOException {
        CgroupHost host = host("hybrid", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path unified = dirIn(sb, root.resolve("unified"));
            Path freezer = dirIn(sb, root.resolve("freezer"));
            Files.writeString(unified.resolve("cgroup.freeze"), "0\n");
            Files.writeString(unified.resolve("cgroup.kill"), "");
            Files.writeString(freezer.resolve("freezer.state"), "THAWED\n");
            Teardown t = sb.teardown();
            assertThat(t.killFile()).contains(unified.resolve("cgroup.kill"));
            // the freezer freeze() uses (cgroup2 here) first; every other one is thawed too
            assertThat(t.freezers()).containsExactly(new Freezer(unified.resolve("cgroup.freeze"), "1", "0"),
                    new Freezer(freezer.resolve("freezer.state"), "FROZEN", "THAWED"));
            assertThat(t.procsFiles()).containsExactlyInAnyOrderElementsOf(sb.procsFiles());
            List<Path> reversed = new ArrayList<>(sb.directories());
            java.util.Collections.reverse(reversed);
            assertThat(t.directories()).containsExactlyElementsOf(reversed);
            clean(sb);
        }
    }

    @Test
    void v1TeardownHasNoKillFileSoItSignalsUnderTheFreezer() throws IOException {
        CgroupHost host = host("v1", true);
        try (SandboxCgroup sb = host.create(CgroupLimits.none())) {
            Path freezer = dirIn(sb, root.resolve("freezer"));
            Files.writeString(freezer.resolve("freezer.state"), "THAWED\n");
            Teardown t = sb.teardown();
            assertThat(t.killFile()).isEmpty();
            assertThat(t.freezers()).containsExactly(new Freezer(freezer.resolve("freezer.state"), "FROZEN", "THAWED"));
            clean(sb);
        }
    }

    /**
     * The v2 backend's placement: a process in a non-root cgroup holds processes there, so
     * sandboxes that need controllers go in the process-free {@code isolation} subtree beside it,
     * which gets those controllers enabled; nested ones go in their outer cgroup; {@code probe()}
     * names the same place, and leftovers are looked for there.
     */
    @Test
    void v2SandboxesNeedingControllersGoInAProcessFreeSubtreeBesideTheJvmsCgroup() throws IOException {
        Path unified = Files.createDirectories(root.resolve("unified"));
        Path own = Files.createDirectories(unified.resolve("jobs/jvm"));
        Path base = Files.createDirectories(unified.resolve("jobs/isolation"));
        Files.writeString(unified.resolve("cgroup.controllers"), "cpu memory pids\n");
        Files.writeString(own.resolve("cgroup.controllers"), "cpu memory pids\n");
        Files.writeString(base.resolve("cgroup.controllers"), "cpu memory pids\n");
        Path control = base.resolve("cgroup.subtree_control");
        Files.writeString(control, "");
        Files.write(root.resolve("mountinfo"), List.of("30 1 0:30 / " + unified + " rw,relatime - cgroup2 cgroup2 rw"));
        Files.write(root.resolve("cgroup"), List.of("0::/jobs/jvm"));
        CgroupHost host = CgroupHost.detect(root.resolve("mountinfo"), root.resolve("cgroup"));

        assertThat(host.probe().controllers()).filteredOn(st -> st.controller() == CgroupController.MEMORY).singleElement()
                .satisfies(st -> assertThat(st.detail()).isEqualTo("sandboxes go in " + base + " (no-internal-processes rule)"));
        SandboxCgroup sb = host.create(CgroupLimits.builder().pidsLimit(8).bestEffort(true).build());
        Path dir = sb.directories().get(0);
        assertThat(dir.getParent()).isEqualTo(base);
        // the fixture's file keeps the last write: pids, needed, was written first, then the wanted ones
        assertThat(Files.readString(control)).startsWith("+");
        Files.writeString(control, "cpu memory pids\n");
        Files.writeString(dir.resolve("cgroup.controllers"), "cpu memory pids\n");
        Files.writeString(dir.resolve("cgroup.subtree_control"), "");
        SandboxCgroup nested = host.create(CgroupLimits.builder().pidsLimit(4).bestEffort(true).build(), sb);
        assertThat(nested.directories()).singleElement().satisfies(d -> assertThat(d.getParent()).isEqualTo(dir));
        clean(nested);
        nested.close();
        clean(sb);
        sb.close();

        long dead = deadPid();
        Path leftover = Files.createDirectories(base.resolve("isolation-" + dead + "-1"));
        assertThat(host.cleanLeftovers()).containsExactly(leftover);
    }

    /** At the (namespace) root, the root's cgroup.subtree_control is not the library's: a needed controller must be enabled there. */
    @Test
    void v2AtTheRootNeedsTheControllerEnabledThereAndSaysHow() throws IOException {
        CgroupHost host = host("v2", true);
        Files.writeString(root.resolve("unified/cgroup.subtree_control"), "cpu memory\n");
        assertThat(host.probe().controllers()).filteredOn(st -> st.controller() == CgroupController.PIDS).singleElement()
                .satisfies(st -> {
                    assertThat(st.usable()).isFalse();
                    assertThat(st.detail()).isEqualTo("not enabled in " + root.resolve("unified/cgroup.subtree_control")
                            + ": echo +pids > " + root.resolve("unified/cgroup.subtree_control"));
                });
        assertThatThrownBy(() -> host.create(CgroupLimits.builder().pidsLimit(8).build()))
                .isInstanceOf(CgroupUnavailableException.class)
                .hasMessageContaining("the pids controller is not enabled for children of " + root.resolve("unified"))
                .hasMessageContaining("echo +pids > " + root.resolve("unified/cgroup.subtree_control"));
        assertThat(Files.readString(root.resolve("unified/cgroup.subtree_control"))).as("not ours to change").isEqualTo("cpu memory\n");
    }

    @Test
    void closeRemovesEveryDirectoryAndLeftoverCleanupRemovesADeadJvmsOnes() throws IOException {
        CgroupHost host = host("hybrid", true);
        SandboxCgroup sb = host.create(CgroupLimits.none());
        List<Path> dirs = sb.directories();
        assertThat(dirs).hasSize(6).allSatisfy(d -> assertThat(d).isDirectory());
        sb.close();
        assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());

        // a dead JVM's sandbox, with a run nested in it, in two hierarchies
        long dead = deadPid();
        Path outer = Files.createDirectories(root.resolve("memory").resolve("isolation-" + dead + "-1"));
        Path nested = Files.createDirectories(outer.resolve("isolation-" + dead + "-2"));
        Path v2 = Files.createDirectories(root.resolve("unified").resolve("isolation-" + dead + "-1"));
        Path live = Files.createDirectories(root.resolve("memory").resolve("isolation-" + ProcessHandle.current().pid() + "-99"));
        assertThat(host.cleanLeftovers()).containsExactlyInAnyOrder(outer, v2);
        assertThat(List.of(outer, nested, v2)).allSatisfy(d -> assertThat(d).doesNotExist());
        assertThat(live).isDirectory();
    }

    @Test
    void aMissingExplicitParentIsNamedInEveryHierarchy() throws IOException {
        CgroupHost host = host("hybrid", true);
        assertThatThrownBy(() -> host.create(CgroupLimits.none(), Path.of("/does/not/exist")))
                .isInstanceOf(CgroupUnavailableException.class)
                .hasMessageContaining("does not exist in 6 of 6 cgroup hierarchies")
                .hasMessageContaining(root.resolve("memory/does/not/exist").toString())
                .hasMessageContaining(root.resolve("unified/does/not/exist").toString())
                .hasMessageContaining("mkdir");
    }

    @Test
    void cpusetOutsideTheParentsCpusIsRejectedBeforeAnythingIsCreated() throws IOException {
        CgroupHost host = host("v1", true);
        Files.writeString(root.resolve("cpuset/cpuset.effective_cpus"), "0-1\n");
        Files.writeString(root.resolve("cpuset/cpuset.effective_mems"), "0\n");
        assertThatThrownBy(() -> host.create(CgroupLimits.builder().cpusetCpus("1,7").build()))
                .isInstanceOf(CgroupException.class)
                .hasMessage("cpusetCpus \"1,7\" names CPUs 7 that the parent cgroup " + root.resolve("cpuset")
                        + " does not have (it allows \"0-1\"): use a subset of \"0-1\"");
        assertThatThrownBy(() -> host.create(CgroupLimits.builder().cpusetMems("0-2").build()))
                .isInstanceOf(CgroupException.class).hasMessageContaining("cpusetMems \"0-2\" names memory nodes 1-2");
        assertThat(sandboxDirs()).isEmpty();
    }

    @Test
    void aMemoryLimitAboveTheParentsIsRejectedBeforeAnythingIsCreated() throws IOException {
        CgroupHost host = host("v2", true);
        Files.writeString(root.resolve("unified/memory.max"), Long.toString(64L << 20) + "\n");
        assertThatThrownBy(() -> host.create(CgroupLimits.builder().memoryLimit(ByteSize.mb(128)).build()))
                .isInstanceOf(CgroupException.class)
                .hasMessage("memoryLimit 128 MiB is above the limit of the parent cgroup " + root.resolve("unified")
                        + " (64 MiB), which applies first, so it would limit nothing: use at most 64 MiB, or create the"
                        + " sandbox under another parent");
        assertThat(sandboxDirs()).isEmpty();
    }

    @Test
    void pidsAbovePidMaxIsRejected() throws CgroupException {
        assertThatThrownBy(() -> HostChecks.checkPids(40_000, 32_768))
                .isInstanceOf(CgroupException.class)
                .hasMessage("pidsLimit 40000 is above this host's pid_max 32768 (/proc/sys/kernel/pid_max), so it would"
                        + " limit nothing: use at most 32768");
        HostChecks.checkPids(32_768, 32_768);
    }

    @Test
    void kernelRejectionsSayWhatToDo() {
        assertThat(V1Backend.INSTANCE.advice(Path.of("/x/cpuset.cpus"), "7", "ERANGE")).hasValueSatisfying(a ->
                assertThat(a).contains("cpuset.effective_cpus").contains("/sys/devices/system/cpu/online"));
        assertThat(V2Backend.INSTANCE.advice(Path.of("/x/cpuset.mems"), "3", "EINVAL")).hasValueSatisfying(a ->
                assertThat(a).contains("cpuset.mems.effective").contains("/sys/devices/system/node/online"));
        assertThat(V2Backend.INSTANCE.advice(Path.of("/x/pids.max"), "0", "EINVAL")).hasValueSatisfying(a ->
                assertThat(a).contains("1..4194304"));
        assertThat(V1Backend.INSTANCE.advice(Path.of("/x/cgroup.procs"), "0", "EACCES")).hasValueSatisfying(a ->
                assertThat(a).contains("user namespace"));
        assertThat(V2Backend.INSTANCE.advice(Path.of("/x/io.max"), "8:1 rbps=1", "ENODEV")).hasValueSatisfying(a ->
                assertThat(a).contains("/sys/dev/block/8:1"));
        assertThat(V1Backend.INSTANCE.advice(Path.of("/x/memory.limit_in_bytes"), "1048576", "EBUSY")).hasValueSatisfying(a ->
                assertThat(a).contains("already uses more memory"));
        assertThat(V2Backend.INSTANCE.advice(Path.of("/x/cgroup.subtree_control"), "+cpu", "EBUSY")).hasValueSatisfying(a ->
                assertThat(a).contains("no-internal-processes"));
        assertThat(V2Backend.INSTANCE.advice(Path.of("/x/memory.max"), "1", "EINVAL")).isEmpty();
    }

    private List<Path> sandboxDirs() throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().startsWith("isolation-")).toList();
        }
    }

    private static long deadPid() {
        long pid = 4_000_000;
        while (ProcessHandle.of(pid).isPresent()) {
            pid--;
        }
        return pid;
    }

    /** Removes the fixture files the test wrote, as the kernel's vanish with a cgroup, so close() can rmdir. */
    private static void clean(SandboxCgroup sb) throws IOException {
        for (Path d : sb.directories()) {
            try (Stream<Path> s = Files.list(d)) {
                for (Path f : s.toList()) {
                    Files.delete(f);
                }
            }
        }
    }

}
