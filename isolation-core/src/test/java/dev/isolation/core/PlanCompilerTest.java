package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.image.ImageFixture;
import dev.isolation.core.image.ImageFixture.Compression;
import dev.isolation.core.image.ImageFixture.Tar;
import dev.isolation.core.image.OciImage;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.launch.Tag;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link PlanCompiler} makes of a policy and the host's facts: ordered typed steps, without root or a kernel. */
class PlanCompilerTest {
    private static final PlanCompiler.HostFacts ROOT = new PlanCompiler.HostFacts(true, 0, 0, OptionalInt.of(2130706433), List.of());
    private static final PlanCompiler.HostFacts USER = new PlanCompiler.HostFacts(false, 1000, 1000, OptionalInt.empty(), List.of());
    private static final PlanCompiler.Placement V1 = new PlanCompiler.Placement(Optional.empty(),
            List.of("/sys/fs/cgroup/memory/isolation-1/cgroup.procs", "/sys/fs/cgroup/pids/isolation-1/cgroup.procs"),
            List.of(new Step.TeardownFreezer("/sys/fs/cgroup/freezer/isolation-1/freezer.state", "FROZEN", "THAWED"),
                    new Step.TeardownProcs("/sys/fs/cgroup/memory/isolation-1/cgroup.procs"),
                    new Step.TeardownProcs("/sys/fs/cgroup/pids/isolation-1/cgroup.procs"),
                    new Step.TeardownRemove("/sys/fs/cgroup/memory/isolation-1"), new Step.TeardownRemove("/sys/fs/cgroup/pids/isolation-1")),
            Optional.of(new Step.CpuCounter(3_000_000_000L, 1, "/sys/fs/cgroup/cpuacct/isolation-1/cpuacct.usage", "")), List.of());

    private static String tags(LaunchPlan plan, Tag.Phase phase) {
        return plan.steps().stream().filter(s -> s.tag().phase == phase).map(s -> s.tag().name()).collect(Collectors.joining(" "));
    }

    private static <S extends Step> List<S> all(LaunchPlan plan, Class<S> type) {
        return plan.steps().stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static Sandbox judge() {
        return Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().memoryLimit(ByteSize.mb(64))
                .pidsLimit(16).seccomp(SeccompPolicy.defaultPolicy()).wallTimeLimit(Duration.ofSeconds(2)).build();
    }

    @Test
    void aJudgePolicyRunsItsStepsInContainProcsOrder() throws Exception {
        LaunchPlan plan = PlanCompiler.freshWithProgram(judge(), ROOT, V1, Optional.empty());
        String setup = tags(plan, Tag.Phase.SETUP);
        assertThat(setup).startsWith("CGROUP_PROCS CGROUP_PROCS MAKE_PRIVATE NEW_ROOT MOUNT ").endsWith(" MOUNT PIVOT_ROOT LOOPBACK_UP");
        assertThat(setup.replaceAll("( MOUNT)+", " MOUNT")).isEqualTo("CGROUP_PROCS CGROUP_PROCS MAKE_PRIVATE NEW_ROOT MOUNT PIVOT_ROOT LOOPBACK_UP");
        assertThat(tags(plan, Tag.Phase.PROGRAM)).isEqualTo("INIT RLIMIT CAPS RUN_AS SET_CAPS CHDIR NO_NEW_PRIVS SECCOMP EXEC");
        assertThat(plan.steps()).contains(new Step.CloneNamespaces(LaunchPlan.CLONE_NEWPID | LaunchPlan.CLONE_NEWNS
                | LaunchPlan.CLONE_NEWUTS | LaunchPlan.CLONE_NEWIPC | LaunchPlan.CLONE_NEWNET), new Step.SweepUid(2130706433),
                new Step.WallLimit(2_000_000_000L), new Step.RunEnd(true), new Step.SetIds(2130706433, 2130706433, true),
                new Step.SetRlimit(Rlimit.CORE.resource, 0, 0), new Step.Init(PlanCompiler.FORWARDED_SIGNALS, true));
        assertThat(plan.steps()).as("the teardown, in the library's order").containsSubsequence(V1.teardown());
        assertThat(plan.steps()).contains(V1.cpuCounter().get());
        assertThat(all(plan, Step.InstallSeccomp.class)).singleElement().extracting(Step.InstallSeccomp::mode)
                .as("the default policy allows sendmsg: the monitor kills, naming the call").isEqualTo(LaunchPlan.SeccompMode.MONITOR_KILLS);
        assertThat(PlanCodec.decode(plan.encode()).steps()).as("read back").isEqualTo(plan.steps());
    }

    @Test
    void theInitForwardsTheUsualSignalsAndKillsWhatTheProgramLeaves() {
        assertThat(PlanCompiler.FORWARDED_SIGNALS).isEqualTo((1L << 1) | (1L << 2) | (1L << 3) | (1L << 10) | (1L << 12) | (1L << 15));
    }

    @Test
    void securebitsLockRootOutAndKeepCapabilitiesOnlyWhenSomeAreKept() {
        assertThat(PlanCompiler.securebits(0)).as("NOROOT, its lock, NO_SETUID_FIXUP's lock, KEEP_CAPS locked off, no ambient raise, locked")
                .isEqualTo(0x01 | 0x02 | 0x08 | 0x20 | 0x40 | 0x80);
        assertThat(PlanCompiler.securebits(1L << 10)).isEqualTo(0x01 | 0x02 | 0x08 | 0x10);
    }

    @Test
    void aRootlessUserNamespaceMapsTheJvmsIdsAndSetsNoIds() throws Exception {
        LaunchPlan plan = PlanCompiler.freshWithProgram(Sandbox.builder().userNs().pidNs().mountNs().build(), USER,
                PlanCompiler.Placement.NONE, Optional.empty());
        assertThat(plan.steps()).contains(new Step.SetgroupsDeny(), new Step.UidMap("0 1000 1\n"), new Step.GidMap("0 1000 1\n"),
                new Step.DropCapabilities(0, PlanCompiler.securebits(0)));
        assertThat(all(plan, Step.SweepUid.class)).isEmpty();
        assertThat(tags(plan, Tag.Phase.SETUP)).as("the host's tree, with a proc of its own").isEqualTo("USERNS_IDS MAKE_PRIVATE MOUNT_PROC");
        assertThat(tags(plan, Tag.Phase.PROGRAM)).isEqualTo("INIT RLIMIT CAPS SET_CAPS CHDIR NO_NEW_PRIVS SECCOMP EXEC");
    }

    @Test
    void aChildBornInAUserNamespaceIsPlacedInItsCgroupsByTheMonitor() throws Exception {
        // a root JVM: the child, root of its namespace only, may not write the host's cgroup.procs files (EACCES)
        Sandbox s = Sandbox.builder().userNs().pidNs().mountNs().cgroupNs().memoryLimit(ByteSize.mb(64)).pidsLimit(16).build();
        LaunchPlan plan = PlanCompiler.freshWithProgram(s, ROOT, V1, Optional.empty());
        assertThat(all(plan, Step.PlaceInCgroup.class)).extracting(Step.PlaceInCgroup::procsFile)
                .as("the monitor's records, in the placement's order").containsExactlyElementsOf(V1.procsFiles());
        assertThat(all(plan, Step.JoinCgroup.class)).isEmpty();
        assertThat(tags(plan, Tag.Phase.SETUP)).as("its cgroup namespace is rooted in the cgroup it was placed in")
                .isEqualTo("USERNS_IDS CGROUP_NS MAKE_PRIVATE MOUNT_PROC");
        assertThat(PlanCodec.decode(plan.encode()).steps()).isEqualTo(plan.steps());

        LaunchPlan noUserNs = PlanCompiler.freshWithProgram(Sandbox.builder().pidNs().mountNs().cgroupNs()
                .memoryLimit(ByteSize.mb(64)).pidsLimit(16).build(), ROOT, V1, Optional.empty());
        assertThat(all(noUserNs, Step.PlaceInCgroup.class)).as("without a user namespace the child joins them itself").isEmpty();
        assertThat(tags(noUserNs, Tag.Phase.SETUP)).startsWith("CGROUP_PROCS CGROUP_PROCS CGROUP_NS ");
    }

    @Test
    void withoutNamespacesOrPrivilegeOnlyTheProgramsOwnStepsRemain() throws Exception {
        LaunchPlan plan = PlanCompiler.freshWithProgram(Sandbox.builder().seccomp(SeccompPolicy.none()).build(), USER,
                PlanCompiler.Placement.NONE, Optional.empty());
        assertThat(tags(plan, Tag.Phase.SETUP)).isEmpty();
        assertThat(tags(plan, Tag.Phase.PROGRAM)).isEqualTo("RLIMIT CHDIR NO_NEW_PRIVS EXEC");
    }

    @Test
    void theHostsTreeHidesTheGivenCgroupMountsThenMountsProc() throws Exception {
        PlanCompiler.HostFacts host = new PlanCompiler.HostFacts(false, 1000, 1000, OptionalInt.empty(),
                List.of(Path.of("/sys/fs/cgroup"), Path.of("/cg")));
        LaunchPlan plan = PlanCompiler.freshWithProgram(Sandbox.builder().userNs().pidNs().mountNs().build(), host,
                PlanCompiler.Placement.NONE, Optional.empty());
        assertThat(all(plan, Step.Mount.class)).extracting(Step.Mount::target).containsExactly("/sys/fs/cgroup", "/cg");
        assertThat(tags(plan, Tag.Phase.SETUP)).isEqualTo("USERNS_IDS MAKE_PRIVATE MOUNT MOUNT MOUNT_PROC");
    }

    @Test
    void aSessionRunEntersTheKeepersNamespacesThenTakesItsIds() throws Exception {
        Sandbox layout = Sandbox.builder().userNs().pidNs().mountNs().cgroupNs().minimalRoot()
                .tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(8)).build();
        LaunchPlan plan = PlanCompiler.sessionRun(layout, layout, 4242, 987654321L, USER, V1, false, false);
        assertThat(tags(plan, Tag.Phase.SETUP).replaceAll("( MOUNT)+", " MOUNT"))
                // no ids before the join: outside the session's user namespace the helper keeps the JVM's (as nobody,
                // setresgid(0) there fails with EPERM)
                .isEqualTo("CGROUP_PROCS CGROUP_PROCS JOIN USERNS_IDS CGROUP_NS MOUNT");
        assertThat(tags(plan, Tag.Phase.PROGRAM)).startsWith("INIT ").endsWith(" EXEC");
        assertThat(plan.steps()).contains(new Step.CloneNamespaces(0), new Step.JoinNamespaces(4242, layout.cloneFlags(), 987654321L));
        assertThat(PlanCodec.decode(plan.encode()).steps()).isEqualTo(plan.steps());
    }

    @Test
    void aKeepersPlanEndsItsSetupWithTheSession() throws Exception {
        Sandbox layout = Sandbox.builder().pidNs().mountNs().minimalRoot().build();
        List<Step> session = List.of(new Step.TeardownProcs("/sys/fs/cgroup/memory/isolation-s/cgroup.procs"),
                new Step.TeardownRemove("/sys/fs/cgroup/memory/isolation-s"));
        LaunchPlan plan = PlanCompiler.sessionKeeper(layout, ROOT, V1.withTeardown(session));
        assertThat(tags(plan, Tag.Phase.SETUP)).endsWith("PIVOT_ROOT SESSION");
        assertThat(all(plan, Step.TeardownRemove.class)).extracting(Step.TeardownRemove::directory)
                .as("removed in this order: the keeper's leaves, then the session's cgroup")
                .containsExactly("/sys/fs/cgroup/memory/isolation-1", "/sys/fs/cgroup/pids/isolation-1", "/sys/fs/cgroup/memory/isolation-s");
        assertThat(PlanCodec.decode(plan.encode()).steps()).isEqualTo(plan.steps());
    }

    @Test
    void aPlacementRefusesARecordThatIsNotATeardownsAmongItsTeardown() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PlanCompiler.Placement.NONE.withTeardown(List.of(new Step.Session())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a teardown record");
    }

    @Test
    void anImagePolicyCompilesToAnOverlayRootOfItsLayersAndRunsAsTheImagesUser(@TempDir Path dir) throws Exception {
        byte[] base = new Tar().dir("etc", 0755).file("etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
                .file("etc/group", 0644, "root:x:0:\napp:x:1001:\n").bytes();
        byte[] top = new Tar().dir("opt", 0755).file("opt/x", 0644, "x\n").bytes();
        ImageFixture.layout(dir.resolve("layout"), "v1", List.of(base, top), Compression.NONE, c -> {
            JsonObject cfg = new JsonObject();
            cfg.addProperty("User", "app");
            c.add("config", cfg);
            return c;
        });
        OciImage image = OciImage.reader().cache(dir.resolve("cache")).open(dir.resolve("layout"), "v1");
        LaunchPlan plan = PlanCompiler.freshWithProgram(Sandbox.builder().pidNs().mountNs().image(image).build(), ROOT,
                PlanCompiler.Placement.NONE, Optional.empty());
        Step.Mount root = all(plan, Step.Mount.class).get(0);
        List<String> topmostFirst = new ArrayList<>(image.layerDirectories().stream().map(Path::toString).toList());
        Collections.reverse(topmostFirst);
        assertThat(root.kind()).isEqualTo(LaunchPlan.MountKind.OVERLAY);
        assertThat(root.target()).isEqualTo("/");
        assertThat(root.source()).isEqualTo(String.join(":", topmostFirst));
        assertThat(root.options() & LaunchPlan.MOUNT_USERXATTR).as("no user namespace: trusted xattrs").isZero();
        assertThat(plan.steps()).as("the image's User, looked up in its /etc/passwd and /etc/group")
                .contains(new Step.SetIds(1000, 1001, true));
        assertThat(tags(plan, Tag.Phase.SETUP)).startsWith("MAKE_PRIVATE NEW_ROOT MOUNT ").endsWith(" PIVOT_ROOT");
        assertThat(PlanCodec.decode(plan.encode()).steps()).isEqualTo(plan.steps());
    }

    private static Step.KillRule killRule(LaunchPlan plan) {
        List<Step.KillRule> rules = all(plan, Step.KillRule.class);
        assertThat(rules).as("one kill rule per setup plan").hasSize(1);
        assertThat(PlanCodec.decode(plan.encode()).steps()).isEqualTo(plan.steps());
        return rules.get(0);
    }

    @Test
    void whomTheMonitorSignalsIsTheCompilersChoice() throws Exception {
        Step.KillRule init = new Step.KillRule(LaunchPlan.KillRule.INIT, PlanCompiler.INIT_KILL_GRACE_NANOS);
        Step.KillRule session = new Step.KillRule(LaunchPlan.KillRule.SESSION, 0);
        assertThat(PlanCompiler.INIT_KILL_GRACE_NANOS).isEqualTo(Duration.ofSeconds(1).toNanos());
        // a pid namespace: its init (PID 1) ends and reaps everything
        assertThat(killRule(PlanCompiler.freshWithProgram(judge(), ROOT, V1, Optional.empty()))).isEqualTo(init);
        assertThat(killRule(PlanCompiler.freshWithProgram(Sandbox.builder().userNs().pidNs().mountNs().build(), USER,
                PlanCompiler.Placement.NONE, Optional.empty()))).isEqualTo(init);
        // no pid namespace, no init: the first process's session
        LaunchPlan noPidNs = PlanCompiler.freshWithProgram(Sandbox.builder().mountNs().netNs().build(), USER, PlanCompiler.Placement.NONE,
                Optional.empty());
        assertThat(all(noPidNs, Step.Init.class)).isEmpty();
        assertThat(killRule(noPidNs)).isEqualTo(session);
        // a persistent sandbox's keeper: as a plain launch
        Sandbox layout = Sandbox.builder().userNs().pidNs().mountNs().minimalRoot().tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(8)).build();
        assertThat(killRule(PlanCompiler.sessionKeeper(layout, USER, PlanCompiler.Placement.NONE))).isEqualTo(init);
        assertThat(killRule(PlanCompiler.sessionKeeper(Sandbox.builder().mountNs().build(), USER, PlanCompiler.Placement.NONE)))
                .isEqualTo(session);
        // a session run: its program alone (its own init, joined into the session, is not the namespace's PID 1)
        LaunchPlan run = PlanCompiler.sessionRun(layout, layout, 4242, 987654321L, USER, V1, false, false);
        assertThat(all(run, Step.Init.class)).hasSize(1);
        assertThat(killRule(run)).isEqualTo(new Step.KillRule(LaunchPlan.KillRule.PROGRAM, 0));
        // a pooled sandbox: its keeper ends through its init; a run through that init, over its connection
        Sandbox pooled = Sandbox.builder().pidNs().mountNs().ipcNs().minimalRoot().tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(8)).build();
        assertThat(killRule(PlanCompiler.poolKeeper(pooled, ROOT, PlanCompiler.Placement.NONE, "@isolation-pool-ab-0"))).isEqualTo(init);
        assertThat(killRule(PlanCompiler.poolRun(pooled, pooled, ROOT, PlanCompiler.Placement.NONE, "@isolation-pool-ab-0")))
                .isEqualTo(new Step.KillRule(LaunchPlan.KillRule.POOL, 0));
    }

    @Test
    void theExecPlanListsWhereTheProgramIsLookedForAsExecvpWould() {
        assertThat(PlanCompiler.execPaths("ls", "/usr/bin::/bin")).containsExactly("/usr/bin/ls", "ls", "/bin/ls");
        assertThat(PlanCompiler.execPaths("./run", "/usr/bin")).containsExactly("./run");
        assertThat(PlanCompiler.execPaths("/bin/sh", "/usr/bin")).containsExactly("/bin/sh");
        PlanCodec.Plan exec = PlanCodec.decode(PlanCompiler.exec(List.of("sh", "-c", "true"), Map.of("PATH", "/bin"), null));
        assertThat(exec.message()).isEqualTo(Tag.Message.EXEC);
        assertThat(exec.steps()).containsExactly(new Step.Arg("sh"), new Step.Arg("-c"), new Step.Arg("true"), new Step.Env("PATH=/bin"),
                new Step.ExecFile("sh"), new Step.ExecPath("/bin/sh"));
    }
}
