package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link RunLimits}: its builder validates as {@link Sandbox.Builder} does, it is a value (equals,
 * hashCode, toString), and nothing in it can change a session run's namespaces or file system.
 */
class RunLimitsTest {
    /** A session's policy with namespaces, a root and per-run parts of its own, none of which a run's limits keep. */
    private static final Sandbox POLICY = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().hostname("box").minimalRoot()
            .memoryLimit(ByteSize.mb(256)).pidsLimit(99).cpuTimeLimit(Duration.ofSeconds(7)).outputLimit(ByteSize.kb(77))
            .rlimit(Rlimit.NOFILE, 77).seccomp(SeccompPolicy.strict()).env("SESSION_ONLY", "1").build();
    /** Its layout, as {@link Sandbox#open} makes it. */
    private static final Sandbox LAYOUT = POLICY.toBuilder().tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(256)).build();

    /** The setters of a policy that are the session's, never a run's: namespaces, file system, ids, cgroup placement, machinery. */
    private static final Set<String> SESSION_SETTERS = Set.of("pidNs", "mountNs", "utsNs", "ipcNs", "netNs", "userNs", "cgroupNs",
            "hostname", "minimalRoot", "rootfs", "image", "entrypoint", "bind", "bindWritable", "tmpfs", "tmpSize", "noexec", "uidMap",
            "gidMap", "idRange", "cgroupParent", "setupTimeout", "completionExecutor");

    /** Random values, extremes included, into every setter of {@link RunLimits.Builder} with a number, duration or size. */
    private static final List<Setter> SETTERS = List.of(
            new Setter("cpuTimeLimit", (b, r) -> b.cpuTimeLimit(BuilderValues.duration(r))),
            new Setter("wallTimeLimit", (b, r) -> b.wallTimeLimit(BuilderValues.duration(r))),
            new Setter("outputLimit", (b, r) -> b.outputLimit(BuilderValues.size(r))),
            new Setter("memoryLimit", (b, r) -> b.memoryLimit(BuilderValues.size(r))),
            new Setter("swapLimit", (b, r) -> b.swapLimit(BuilderValues.size(r))),
            new Setter("cpuShares", (b, r) -> b.cpuShares(BuilderValues.integer(r))),
            new Setter("cpuWeight", (b, r) -> b.cpuWeight(BuilderValues.integer(r))),
            new Setter("cpuQuota", (b, r) -> b.cpuQuota(BuilderValues.cores(r))),
            new Setter("cpuQuota", (b, r) -> b.cpuQuota(BuilderValues.duration(r), BuilderValues.duration(r))),
            new Setter("cpuset", (b, r) -> b.cpuset(BuilderValues.cpuList(r))),
            new Setter("cpusetMems", (b, r) -> b.cpusetMems(BuilderValues.cpuList(r))),
            new Setter("pidsLimit", (b, r) -> b.pidsLimit(BuilderValues.number(r))),
            new Setter("ioWeight", (b, r) -> b.ioWeight(BuilderValues.integer(r))),
            new Setter("ioReadBps", (b, r) -> b.ioReadBps(Path.of("/nonexistent-device"), BuilderValues.size(r))),
            new Setter("ioWriteIops", (b, r) -> b.ioWriteIops(Path.of("/dev/null"), BuilderValues.number(r))),
            new Setter("runAs", (b, r) -> b.runAs(BuilderValues.integer(r), BuilderValues.integer(r))),
            new Setter("rlimit", (b, r) -> b.rlimit(Rlimit.values()[r.nextInt(Rlimit.values().length)], BuilderValues.number(r),
                    BuilderValues.number(r))),
            new Setter("rlimit", (b, r) -> b.rlimit(Rlimit.values()[r.nextInt(Rlimit.values().length)], BuilderValues.number(r))));

    private record Setter(String name, Apply apply) {}

    private interface Apply {
        void to(RunLimits.Builder b, Random r);
    }

    /**
     * Each bad value is refused by its setter, naming it, or by {@code build()} (a contradiction,
     * named too), or by the start of the run ({@code IllegalStateException}, an identity the
     * session cannot confine); a good one builds and compiles into a session run's plan.
     */
    @Test
    void everySetterRejectsABadValueNamingItselfOrCompilesIntoASessionRunsPlan() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int rejected = 0;
        int compiled = 0;
        for (Setter setter : SETTERS) {
            for (int trial = 0; trial < 200; trial++) {
                RunLimits.Builder b = RunLimits.builder();
                RunLimits limits;
                try {
                    setter.apply().to(b, random);
                    limits = b.build();
                } catch (IllegalArgumentException | IllegalStateException e) {
                    assertThat(e.getMessage()).as("seed %d", seed).contains(setter.name());
                    rejected++;
                    continue;
                }
                Sandbox run;
                try {
                    run = SandboxSession.runPolicy(POLICY, LAYOUT, limits);
                } catch (IllegalStateException e) {
                    assertThat(e.getMessage()).as("seed %d", seed).contains(setter.name());
                    rejected++;
                    continue;
                }
                sessionRunPlan(run).encode();
                compiled++;
            }
        }
        assertThat(rejected).as("seed %d", seed).isPositive();
        assertThat(compiled).as("seed %d", seed).isPositive();
    }

    @Test
    void setterErrorsAreSandboxBuildersWordForWord() {
        assertThatThrownBy(() -> RunLimits.builder().cpuTimeLimit(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(messageOf(() -> Sandbox.builder().cpuTimeLimit(Duration.ZERO)));
        assertThatThrownBy(() -> RunLimits.builder().memoryLimit(ByteSize.kb(4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(messageOf(() -> Sandbox.builder().memoryLimit(ByteSize.kb(4))));
        assertThatThrownBy(() -> RunLimits.builder().rlimit(Rlimit.NOFILE, 2, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rlimit NOFILE");
        assertThatThrownBy(() -> RunLimits.builder().keepCapability("CAP_NOPE")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keepCapability");
        assertThatThrownBy(() -> RunLimits.builder().env("A=B", "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("env");
        assertThatThrownBy(() -> RunLimits.builder().swapLimit(ByteSize.mb(1)).build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("swap");
        assertThatThrownBy(() -> RunLimits.builder().cpuShares(512).cpuWeight(50).build()).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> RunLimits.builder().outputLimit(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("outputLimit");
    }

    private static String messageOf(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        throw new AssertionError("no exception");
    }

    @Test
    void equalSettingsAreEqualValuesAndEachSettingCounts() {
        List<UnaryOperator<RunLimits.Builder>> settings = List.of(
                b -> b.cpuTimeLimit(Duration.ofSeconds(1)), b -> b.wallTimeLimit(Duration.ofSeconds(3)),
                b -> b.outputLimit(ByteSize.mb(1)), b -> b.memoryLimit(ByteSize.mb(64)), b -> b.pidsLimit(16), RunLimits.Builder::cgroup,
                b -> b.memoryLimit(ByteSize.mb(64)).bestEffortLimits(), b -> b.runAs(1000, 1000), b -> b.keepCapability("CAP_NET_BIND_SERVICE"),
                b -> b.rlimit(Rlimit.NOFILE, 64), b -> b.rlimit(Rlimit.NOFILE, 32, 64), b -> b.seccomp(SeccompPolicy.strict()),
                RunLimits.Builder::emptyEnvironment, RunLimits.Builder::inheritEnvironment, b -> b.env("A", "1"), b -> b.env("A", "2"),
                b -> b.passEnv("A"));
        assertThat(RunLimits.builder().build()).isEqualTo(RunLimits.none()).hasSameHashCodeAs(RunLimits.none());
        for (int i = 0; i < settings.size(); i++) {
            RunLimits one = settings.get(i).apply(RunLimits.builder()).build();
            RunLimits same = settings.get(i).apply(RunLimits.builder()).build();
            assertThat(one).as("setting %d", i).isEqualTo(same).hasSameHashCodeAs(same).isNotEqualTo(RunLimits.none());
            assertThat(one.toBuilder().build()).as("setting %d through toBuilder", i).isEqualTo(one);
            for (int j = 0; j < settings.size(); j++) {
                if (j != i) {
                    assertThat(one).as("setting %d against %d", i, j).isNotEqualTo(settings.get(j).apply(RunLimits.builder()).build());
                }
            }
        }
        RunLimits all = RunLimits.builder().cpuTimeLimit(Duration.ofSeconds(1)).memoryLimit(ByteSize.mb(64)).rlimit(Rlimit.NOFILE, 64)
                .seccomp(SeccompPolicy.strict()).env("A", "1").build();
        assertThat(all.toBuilder().pidsLimit(8).build()).isNotEqualTo(all);
        assertThat(all.toBuilder().build()).isEqualTo(all);
        assertThat(all).isNotEqualTo(null).isNotEqualTo(all.toString());
    }

    @Test
    void aPolicysRunLimitsAreItsPerRunPartsAndRunItsRunsAsThePolicyWould() {
        RunLimits fromPolicy = POLICY.runLimits();
        assertThat(fromPolicy).isEqualTo(RunLimits.builder().memoryLimit(ByteSize.mb(256)).pidsLimit(99)
                .cpuTimeLimit(Duration.ofSeconds(7)).outputLimit(ByteSize.kb(77)).rlimit(Rlimit.NOFILE, 77)
                .seccomp(SeccompPolicy.strict()).env("SESSION_ONLY", "1").build());
        assertThat(fromPolicy.cgroupLimits()).isEqualTo(POLICY.cgroupLimits());
        assertThat(fromPolicy.cpuTimeLimit()).isEqualTo(POLICY.cpuTimeLimit());
        assertThat(fromPolicy.outputLimit()).isEqualTo(POLICY.outputLimit());
        assertThat(fromPolicy.seccomp()).isEqualTo(POLICY.seccomp());
        // the session's own runs: the policy's plan, byte for byte, whether given its own limits or none
        Sandbox own = SandboxSession.runPolicy(POLICY, LAYOUT, fromPolicy);
        Sandbox legacy = POLICY.toBuilder().namespacesOf(LAYOUT).build(); // what a session's own run was before RunLimits
        assertThat(sessionRunPlan(own).encode()).isEqualTo(sessionRunPlan(legacy).encode());
    }

    /** What a run's limits leave unset is at its default, not at the session policy's setting. */
    @Test
    void unsetPartsAreDefaultsNotTheSessionPolicys() {
        Sandbox run = SandboxSession.runPolicy(POLICY, LAYOUT, RunLimits.builder().wallTimeLimit(Duration.ofSeconds(2)).build());
        assertThat(run.cgroupLimits()).isEmpty();
        assertThat(run.cpuTimeLimit()).isEmpty();
        assertThat(run.outputLimit()).isEmpty();
        assertThat(run.wallTimeLimit()).hasValue(Duration.ofSeconds(2));
        assertThat(run.seccomp()).isEqualTo(SeccompPolicy.defaultPolicy());
        assertThat(run.rlimits()).isEmpty();
        assertThat(run.environmentFor(new ProcessBuilder("true"), SandboxSession.WORK_DIR)).doesNotContainKey("SESSION_ONLY")
                .containsEntry("HOME", SandboxSession.WORK_DIR);
        List<Step> steps = PlanCodec.decode(sessionRunPlan(run).encode()).steps();
        assertThat(steps).filteredOn(s -> s instanceof Step.SetRlimit r && r.resource() == Rlimit.NOFILE.resource).isEmpty();
        assertThat(steps).filteredOn(s -> s instanceof Step.WallLimit).containsExactly(new Step.WallLimit(2_000_000_000L));
    }

    /**
     * By construction: the builder's setters are {@link Sandbox.Builder}'s per-run ones, same names and
     * parameters, and none of the session's; every setter of a policy is one or the other (a new one
     * must be placed). And whatever the limits, a run joins the session's namespaces, has its hostname
     * and mounts the layout's file system.
     */
    @Test
    void noRunLimitCanChangeTheSessionsNamespacesOrFileSystem() throws Exception {
        Set<String> runSetters = publicMethods(RunLimits.Builder.class).stream().map(Method::getName).filter(n -> !n.equals("build"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(runSetters).doesNotContainAnyElementsOf(SESSION_SETTERS).contains("memoryLimit", "cpuTimeLimit", "wallTimeLimit",
                "outputLimit", "runAs", "keepCapability", "seccomp", "rlimit", "env", "passEnv", "emptyEnvironment", "inheritEnvironment");
        for (Method m : publicMethods(RunLimits.Builder.class)) {
            if (!m.getName().equals("build")) {
                assertThat(Sandbox.Builder.class.getMethod(m.getName(), m.getParameterTypes())).as("%s", m).isNotNull();
            }
        }
        for (Method m : publicMethods(Sandbox.Builder.class)) {
            if (!m.getName().equals("build")) {
                assertThat(runSetters.contains(m.getName()) || SESSION_SETTERS.contains(m.getName()))
                        .as("Sandbox.Builder.%s is neither a run's nor the session's", m.getName()).isTrue();
            }
        }
        RunLimits everything = RunLimits.builder().memoryLimit(ByteSize.mb(32)).pidsLimit(4).cpuTimeLimit(Duration.ofSeconds(1))
                .wallTimeLimit(Duration.ofSeconds(1)).outputLimit(ByteSize.kb(1)).runAs(1000, 1000).rlimit(Rlimit.NOFILE, 8)
                .seccomp(SeccompPolicy.none()).inheritEnvironment().build();
        List<Step> none = PlanCodec.decode(sessionRunPlan(SandboxSession.runPolicy(POLICY, LAYOUT, RunLimits.none())).encode()).steps();
        List<Step> all = PlanCodec.decode(sessionRunPlan(SandboxSession.runPolicy(POLICY, LAYOUT, everything)).encode()).steps();
        for (List<Step> steps : List.of(none, all)) {
            assertThat(steps).filteredOn(s -> s instanceof Step.JoinNamespaces)
                    .containsExactly(new Step.JoinNamespaces(4242, LAYOUT.cloneFlags(), 77L));
            assertThat(steps).noneMatch(s -> s instanceof Step.CloneNamespaces c && c.flags() != 0)
                    .noneMatch(s -> s instanceof Step.UnshareNamespaces || s instanceof Step.SetHostname || s instanceof Step.PivotRoot);
        }
        assertThat(mounts(all)).isEqualTo(mounts(none)).isNotEmpty();
    }

    private static List<Step> mounts(List<Step> steps) {
        return steps.stream().filter(s -> s instanceof Step.Mount).toList();
    }

    private static List<Method> publicMethods(Class<?> c) {
        return Arrays.stream(c.getDeclaredMethods()).filter(m -> Modifier.isPublic(m.getModifiers()) && !m.isSynthetic()).toList();
    }

    @Test
    void toStringSaysWhatTheLimitsAreAndNoVariablesValue() {
        RunLimits limits = RunLimits.builder().cpuTimeLimit(Duration.ofSeconds(2)).wallTimeLimit(Duration.ofSeconds(6))
                .outputLimit(ByteSize.mib(1)).memoryLimit(ByteSize.mib(64)).pidsLimit(16).runAs(1000, 1001)
                .keepCapability("CAP_NET_BIND_SERVICE").rlimit(Rlimit.NOFILE, 32, 64).seccomp(SeccompPolicy.strict())
                .env("TOKEN", "s3cr3t").build();
        assertThat(limits.toString())
                .startsWith("RunLimits{cpuTimeLimit=PT2S, wallTimeLimit=PT6S, outputLimit=1 MiB, cgroup=CgroupLimits{memory=64 MiB, swap=0 B,"
                        + " pids=16, bestEffort=false}, runAs=1000:1001, keptCapabilities=[CAP_NET_BIND_SERVICE], NOFILE=32/64, seccomp=")
                .contains("environment=", "TOKEN").doesNotContain("s3cr3t").doesNotContain("@").endsWith("}");
        assertThat(RunLimits.none().toString()).startsWith("RunLimits{seccomp=").doesNotContain("cgroup=");
        assertThat(limits.cgroupLimits().flatMap(CgroupLimits::memoryLimit)).hasValue(ByteSize.mib(64));
        assertThat(RunLimits.builder().cgroup().build().cgroupLimits()).hasValue(CgroupLimits.none());
    }

    @Test
    void theEnvironmentOfARunIsItsLimitsPolicysWithTheWorkDirAsHome() {
        ProcessBuilder pb = new ProcessBuilder("true");
        Map<String, String> env = RunLimits.builder().emptyEnvironment().env("PATH", "/bin").build().environmentFor(pb);
        assertThat(env).containsExactlyInAnyOrderEntriesOf(Map.of("PATH", "/bin"));
        assertThat(RunLimits.none().environmentFor(pb)).containsEntry("HOME", SandboxSession.WORK_DIR)
                .containsEntry("PATH", Sandbox.DEFAULT_PATH);
        Sandbox run = SandboxSession.runPolicy(POLICY, LAYOUT, RunLimits.builder().env("X", "1").build());
        assertThat(run.environmentFor(pb, SandboxSession.WORK_DIR)).isEqualTo(RunLimits.builder().env("X", "1").build().environmentFor(pb));
    }

    private static LaunchPlan sessionRunPlan(Sandbox run) {
        try {
            return PlanCompiler.sessionRun(LAYOUT, run, 4242, 77L, PlanCompiler.HostFacts.withoutMounts(OptionalInt.of((int) Sandbox.DEFAULT_FIRST_ID)),
                    PlanCompiler.Placement.NONE, false, false);
        } catch (UnsupportedHostException e) {
            throw new AssertionError(e);
        }
    }
}
