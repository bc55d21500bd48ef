package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.launch.Tag;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A pool's plans, without root: the keeper's (listen, then become the pooled sandbox's init) and
 * a run's (connect; no namespaces, no cgroup to join; its own IPC namespace and mounts; no init),
 * as golden bytes, read back by Java's decoder and by the helper's own (plan.c).
 */
class PoolPlanTest {
    private static final Path GOLDEN = Path.of("src/test/resources/plans");
    private static final PlanCompiler.HostFacts HOST = new PlanCompiler.HostFacts(false, 1000, 1000, OptionalInt.empty(), List.of(),
            true);
    private static Path dump;

    @BeforeAll
    static void buildTheHelpersDecoder() throws Exception {
        Path out = Files.createDirectories(Path.of("target/plan-dump-pool"));
        dump = out.resolve("plan_dump");
        Process cc = new ProcessBuilder(System.getenv().getOrDefault("CC", "cc"), "-O1", "-Wall", "-Wextra", "-Werror",
                "-Isrc/main/c", "-o", dump.toString(), "src/test/c/plan_dump.c", "src/main/c/plan.c").redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor()).as("cc: %s", log).isZero();
    }

    private static String helperReads(byte[] message) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(dump.toString(), "setup").redirectErrorStream(true).start();
        p.getOutputStream().write(message);
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isIn(0, 1);
        return out;
    }

    private static byte[] golden(String name, byte[] actual) throws IOException {
        Path f = GOLDEN.resolve(name + ".hex");
        if (Boolean.getBoolean("plan.golden.write")) {
            Files.writeString(f, HexFormat.of().formatHex(actual) + "\n");
        }
        return HexFormat.of().parseHex(Files.readString(f).strip());
    }

    private static LaunchPlan poolPlan() {
        return new LaunchPlan().cloneFlags(LaunchPlan.CLONE_NEWPID | LaunchPlan.CLONE_NEWNS).poolListen("@isolation-pool-ab-0")
                .poolRun("@isolation-pool-ab-1").killRule(LaunchPlan.KillRule.POOL, 0).unshare(LaunchPlan.CLONE_NEWIPC).poolInit();
    }

    @Test
    void thePoolsRecordsAreTheGoldenBytesAndBothDecodersReadThem() throws Exception {
        byte[] bytes = poolPlan().encode();
        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(HexFormat.of().formatHex(golden("pool", bytes)));
        PlanCodec.Plan back = PlanCodec.decode(bytes);
        assertThat(back.steps()).isEqualTo(poolPlan().steps());
        assertThat(helperReads(bytes)).contains("pool=1 listen @isolation-pool-ab-0 run @isolation-pool-ab-1 unshare 0x8000000\n",
                "setup step UNSHARE 0", "setup step POOL 0");
    }

    @Test
    void theHelperRefusesAnUnshareOfAnythingButIpc() throws Exception {
        assertThatThrownBy(() -> new Step.UnshareNamespaces(LaunchPlan.CLONE_NEWNET)).isInstanceOf(IllegalArgumentException.class);
        byte[] bytes = new LaunchPlan().unshare(LaunchPlan.CLONE_NEWIPC).encode();
        bytes[16 + 8] = 0; // the flags' low bytes: CLONE_NEWIPC is 0x08000000, its byte 3
        bytes[16 + 8 + 3] = 0x40; // CLONE_NEWNET
        assertThat(helperReads(bytes)).startsWith("refused: unshare of something but the IPC namespace (EPROTO)");
    }

    @Test
    void aPooledRunConnectsInsteadOfCloningAndHasNoInitOfItsOwn() throws Exception {
        Sandbox policy = Sandbox.builder().pidNs().mountNs().ipcNs().netNs().minimalRoot().memoryLimit(ByteSize.mb(64))
                .wallTimeLimit(Duration.ofSeconds(2)).build();
        Sandbox layout = policy.toBuilder().tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(32)).build();
        LaunchPlan run = PlanCompiler.poolRun(layout, policy, HOST, PlanCompiler.Placement.NONE, "@isolation-pool-ab-0");
        List<Tag> tags = PlanCodec.decode(run.encode()).steps().stream().map(Step::tag).toList();
        assertThat(tags).contains(Tag.POOL_RUN, Tag.WALL_LIMIT, Tag.UNSHARE, Tag.MOUNT, Tag.SECCOMP, Tag.EXEC)
                .doesNotContain(Tag.JOIN, Tag.CGROUP_PROCS, Tag.INIT, Tag.PIVOT_ROOT, Tag.LOOPBACK_UP, Tag.USERNS_IDS);
        assertThat(PlanCodec.decode(run.encode()).steps().get(0)).isEqualTo(new Step.CloneNamespaces(0));
        assertThat(tags.indexOf(Tag.UNSHARE)).as("its own IPC namespace before its mounts").isLessThan(tags.indexOf(Tag.MOUNT));
        String read = helperReads(run.encode());
        assertThat(read).contains("clone_flags 0\n", "run @isolation-pool-ab-0", "setup step UNSHARE 0").doesNotContain("init=1");

        LaunchPlan keeper = PlanCompiler.poolKeeper(layout, HOST, PlanCompiler.Placement.NONE, "@isolation-pool-ab-0");
        List<Tag> keeperTags = PlanCodec.decode(keeper.encode()).steps().stream().map(Step::tag).toList();
        assertThat(keeperTags).contains(Tag.POOL_LISTEN, Tag.PIVOT_ROOT, Tag.LOOPBACK_UP, Tag.POOL, Tag.INIT);
        assertThat(keeperTags.indexOf(Tag.POOL)).as("the keeper's last setup step").isEqualTo(keeperTags.indexOf(Tag.INIT) - 1);
        assertThat(helperReads(keeper.encode())).contains("pool=1 listen @isolation-pool-ab-0 run (none)");
    }

    @Test
    void aPooledRunInACgroupOfItsOwnIsCreatedThereAndItsMonitorRemovesItIfTheJvmDies() throws Exception {
        Sandbox policy = Sandbox.builder().pidNs().mountNs().ipcNs().minimalRoot().memoryLimit(ByteSize.mb(64)).build();
        Sandbox layout = policy.toBuilder().tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(32)).build();
        String dir = "/sys/fs/cgroup/isolation/isolation-1-1/isolation-1-3";
        PlanCompiler.Placement own = new PlanCompiler.Placement(java.util.Optional.of(dir), List.of(),
                List.of(new Step.TeardownKill(dir + "/cgroup.kill"), new Step.TeardownProcs(dir + "/cgroup.procs"),
                        new Step.TeardownRemove(dir)), java.util.Optional.empty(), List.of());
        LaunchPlan run = PlanCompiler.poolRun(layout, policy, HOST, own, "@isolation-pool-ab-0");
        List<Step> steps = PlanCodec.decode(run.encode()).steps();
        assertThat(steps).contains(new Step.CloneIntoCgroup(dir), new Step.TeardownRemove(dir));
        assertThat(steps.stream().map(Step::tag)).doesNotContain(Tag.CGROUP_PROCS);
        assertThat(helperReads(run.encode())).contains("clone_into_cgroup " + dir + "\n", "teardown_remove " + dir + "\n",
                "run @isolation-pool-ab-0");

        // the init forks the run: it can create it in a cgroup2 directory, never make it join one
        PlanCompiler.Placement join = new PlanCompiler.Placement(java.util.Optional.empty(), List.of(dir + "/cgroup.procs"), List.of(),
                java.util.Optional.empty(), List.of());
        assertThatThrownBy(() -> PlanCompiler.poolRun(layout, policy, HOST, join, "@isolation-pool-ab-0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never join");
    }
}
