package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Tag;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the launch plan tells the helper about the sandbox's cgroups, read back: the CPU counter
 * and the teardown, exactly as the cgroup library names them, on a fixture host (no root).
 */
class CgroupPlanTest {
    private static final int TAG_TEARDOWN_KILL = Tag.TEARDOWN_KILL.number, TAG_TEARDOWN_FREEZER = Tag.TEARDOWN_FREEZER.number,
            TAG_TEARDOWN_PROCS = Tag.TEARDOWN_PROCS.number, TAG_TEARDOWN_REMOVE = Tag.TEARDOWN_REMOVE.number,
            TAG_CPU_COUNTER = Tag.CPU_COUNTER.number;

    @TempDir
    Path root;

    private record Rec(int tag, byte[] value) {
        List<String> strings(int from) {
            List<String> out = new ArrayList<>();
            int start = from;
            for (int i = from; i < value.length; i++) {
                if (value[i] == 0) {
                    out.add(new String(value, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            return out;
        }

        long longAt(int off) {
            return ByteBuffer.wrap(value).order(ByteOrder.nativeOrder()).getLong(off);
        }
    }

    private static List<Rec> records(LaunchPlan plan) {
        byte[] bytes = plan.encode();
        PlanCodec.decode(bytes); // what the helper would accept
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        b.position(16); // the header: magic, version, message kind, length
        List<Rec> out = new ArrayList<>();
        while (true) {
            int tag = b.getInt();
            int len = b.getInt();
            if (tag == 0) {
                return out;
            }
            byte[] v = new byte[len];
            b.get(v);
            out.add(new Rec(tag, v));
        }
    }

    /** A hybrid host without v1 cpuacct: cpu, memory, pids and freezer in v1, cgroup2 beside them. */
    private CgroupHost hybridWithoutCpuacct() throws IOException {
        List<String> mounts = new ArrayList<>();
        List<String> self = new ArrayList<>();
        int id = 30;
        for (String c : List.of("cpu", "memory", "pids", "freezer")) {
            Files.createDirectories(root.resolve(c));
            mounts.add(id + " 1 0:" + id + " / " + root.resolve(c) + " rw - cgroup cgroup rw," + c);
            self.add(id++ + ":" + c + ":/");
        }
        Files.createDirectories(root.resolve("unified"));
        mounts.add(id + " 1 0:" + id + " / " + root.resolve("unified") + " rw - cgroup2 cgroup2 rw");
        self.add("0::/");
        Files.write(root.resolve("mountinfo"), mounts);
        Files.write(root.resolve("cgroup"), self);
        return CgroupHost.detect(root.resolve("mountinfo"), root.resolve("cgroup"));
    }

    /**
     * Issue 12's bug: core took the first cpu.stat it found, the v1 cpu controller's, which has no
     * usage_usec, so the helper read -1 and cpuTimeLimit fell back to RLIMIT_CPU. The counter is
     * cgroup2's cpu.stat, key usage_usec, in µs.
     */
    @Test
    void cpuTimeLimitReadsCgroup2UsageOnAHybridHostWithoutCpuacct() throws IOException {
        try (SandboxCgroup cg = hybridWithoutCpuacct().create(CgroupLimits.none())) {
            Path v1cpu = root.resolve("cpu").resolve(cg.name());
            Path v2 = root.resolve("unified").resolve(cg.name());
            // what the kernel shows in each directory
            Files.writeString(v1cpu.resolve("cpu.stat"), "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
            Files.writeString(v2.resolve("cpu.stat"), "usage_usec 10\nuser_usec 5\nsystem_usec 5\n");
            LaunchPlan plan = new LaunchPlan();
            Launcher.cpuCounter(cg, Duration.ofSeconds(2)).ifPresent(plan::add);
            List<Rec> cpu = records(plan).stream().filter(r -> r.tag() == TAG_CPU_COUNTER).toList();
            assertThat(cpu).hasSize(1);
            assertThat(cpu.get(0).longAt(0)).isEqualTo(2_000_000_000L);
            assertThat(cpu.get(0).longAt(8)).as("ns per unit").isEqualTo(1000);
            assertThat(cpu.get(0).strings(16)).containsExactly(v2.resolve("cpu.stat").toString(), "usage_usec");
            for (Path d : cg.directories()) {
                try (Stream<Path> s = Files.list(d)) {
                    for (Path f : s.toList()) {
                        Files.delete(f);
                    }
                }
            }
        }
    }

    @Test
    void theTeardownGoesIntoThePlanInTheLibrarysOrder() throws IOException {
        try (SandboxCgroup cg = hybridWithoutCpuacct().create(CgroupLimits.none())) {
            Path v2 = root.resolve("unified").resolve(cg.name());
            Path freezer = root.resolve("freezer").resolve(cg.name());
            Files.writeString(v2.resolve("cgroup.kill"), "");
            Files.writeString(v2.resolve("cgroup.freeze"), "0");
            Files.writeString(freezer.resolve("freezer.state"), "THAWED");
            LaunchPlan plan = new LaunchPlan();
            Launcher.teardownOnJvmDeath(cg).forEach(plan::add);
            List<Rec> recs = records(plan);
            assertThat(recs.stream().filter(r -> r.tag() == TAG_TEARDOWN_KILL).map(r -> r.strings(0).get(0)))
                    .containsExactly(v2.resolve("cgroup.kill").toString());
            assertThat(recs.stream().filter(r -> r.tag() == TAG_TEARDOWN_FREEZER).map(r -> r.strings(0)))
                    .containsExactly(List.of(v2.resolve("cgroup.freeze").toString(), "1", "0"),
                            List.of(freezer.resolve("freezer.state").toString(), "FROZEN", "THAWED"));
            assertThat(recs.stream().filter(r -> r.tag() == TAG_TEARDOWN_PROCS).map(r -> r.strings(0).get(0)))
                    .containsExactlyElementsOf(cg.procsFiles().stream().map(Path::toString).toList());
            assertThat(recs.stream().filter(r -> r.tag() == TAG_TEARDOWN_REMOVE).map(r -> r.strings(0).get(0)))
                    .containsExactlyElementsOf(cg.teardown().directories().stream().map(Path::toString).toList());
            Files.delete(v2.resolve("cgroup.kill"));
            Files.delete(v2.resolve("cgroup.freeze"));
            Files.delete(freezer.resolve("freezer.state"));
        }
    }
}
