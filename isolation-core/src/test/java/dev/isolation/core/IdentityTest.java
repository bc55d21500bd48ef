package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sandboxes' host ids and the policies refused for what their program could reach; no kernel needed. */
class IdentityTest {
    private static final int ROOT = 0;
    private static final int ORDINARY = 1000;

    @Test
    void idRangeRejectsIdsOutsideItsBoundsAndTheHostsNobody() {
        Object[][] bad = {{0L, 1, "first >= 1"}, {1L, 0, "count >= 1"}, {2147483647L, 2, "<= 2147483647"},
            {65000L, 1000, "contains 65534"}, {65535L, 1, "contains 65535"}};
        for (Object[] b : bad) {
            assertThatThrownBy(() -> Sandbox.builder().idRange((Long) b[0], (Integer) b[1]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("idRange(" + b[0] + ", " + b[1] + ")").hasMessageContaining((String) b[2]);
        }
        Sandbox.builder().idRange(Sandbox.DEFAULT_FIRST_ID, Sandbox.DEFAULT_ID_COUNT).idRange(2147483647L, 1).idRange(1, 65533);
    }

    @Test
    void theDefaultRangeIsAboveSystemdsContainerRangesAndBelowItsForeignRange() {
        assertThat(Sandbox.DEFAULT_FIRST_ID).isEqualTo(0x7F000000L);
        assertThat(Sandbox.DEFAULT_FIRST_ID + Sandbox.DEFAULT_ID_COUNT).isLessThanOrEqualTo(0x7FFE0000L);
        assertThat(SandboxIds.defaultRange()).isEqualTo(new SandboxIds.Range(0x7F000000L, 65536));
    }

    @Test
    void anExplicitIdInsideTheRangeIsRefusedAndTheSystemPropertySetsTheDefaultRange() {
        assertThatThrownBy(() -> Sandbox.builder().pidNs().idRange(5_000_000, 10).runAs(5_000_003, 100).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("runAs(5000003, 100) is inside idRange 5000000..5000009");
        assertThatThrownBy(() -> Sandbox.builder().pidNs().idRange(5_000_000, 10).uidMap(0, 4_999_999, 2).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("uidMap(0, 4999999, 2) maps host ids inside idRange");
        Sandbox.builder().pidNs().idRange(5_000_000, 10).runAs(5_000_010, 4_999_999).uidMap(0, 4_999_990, 10).build();
        withProperty("5000000:10", () -> {
            assertThatThrownBy(() -> Sandbox.builder().pidNs().runAs(5_000_009, 5_000_009).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("idRange 5000000..5000009");
            return null;
        });
        for (String bad : new String[] {"5000000", "a:b", "0:10"}) {
            withProperty(bad, () -> {
                assertThatThrownBy(() -> Sandbox.builder().build()).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("-Disolation.idRange=" + bad);
                return null;
            });
        }
    }

    private static <T> T withProperty(String value, Supplier<T> body) {
        String before = System.getProperty(SandboxIds.PROPERTY);
        System.setProperty(SandboxIds.PROPERTY, value);
        try {
            return body.get();
        } finally {
            if (before == null) {
                System.clearProperty(SandboxIds.PROPERTY);
            } else {
                System.setProperty(SandboxIds.PROPERTY, before);
            }
        }
    }

    /** A policy, the JVM's uid, and the refusal expected ({@code null}: accepted). */
    private record Case(String name, Sandbox.Builder policy, int jvmUid, String refusal) {}

    @Test
    void whatCouldReachTheMonitorOrTheJvmNeedsAPidNamespace() {
        List<Case> cases = List.of(
                new Case("root JVM, default identity", Sandbox.builder(), ROOT, null),
                new Case("root JVM, another user", Sandbox.builder().runAs(1000, 1000), ROOT, null),
                new Case("root JVM, uid 0", Sandbox.builder().mountNs().runAs(0, 0), ROOT, "may run as the JVM's uid 0"),
                new Case("root JVM, uid 0 with pidNs", Sandbox.builder().pidNs().mountNs().runAs(0, 0), ROOT, null),
                new Case("root JVM, user namespace root mapped to host root", Sandbox.builder().mountNs().uidMap(0, 0, 1).gidMap(0, 0, 1),
                        ROOT, "may run as the JVM's uid 0"),
                new Case("root JVM, user namespace with CAP_SETUID over a range holding 0",
                        Sandbox.builder().mountNs().uidMap(0, 100_000, 10).uidMap(10, 0, 1).gidMap(0, 100_000, 10)
                                .keepCapability("CAP_SETUID"), ROOT, "may run as the JVM's uid 0"),
                new Case("root JVM, default user namespace", Sandbox.builder().userNs().mountNs(), ROOT, null),
                new Case("root JVM, CAP_SETUID of the host", Sandbox.builder().mountNs().runAs(1000, 1000).keepCapability("CAP_SETUID"),
                        ROOT, "may run as the JVM's uid 0"),
                new Case("root JVM, CAP_KILL of the host", Sandbox.builder().keepCapability("CAP_KILL"), ROOT, "keeps CAP_KILL"),
                new Case("root JVM, CAP_KILL of its user namespace", Sandbox.builder().userNs().keepCapability("CAP_KILL"), ROOT, null),
                new Case("root JVM, CAP_SYS_PTRACE without mountNs", Sandbox.builder().pidNs().keepCapability("CAP_SYS_PTRACE"),
                        ROOT, "sees the host's /proc"),
                new Case("root JVM, CAP_SYS_PTRACE", Sandbox.builder().pidNs().mountNs().keepCapability("CAP_SYS_PTRACE"), ROOT, null),
                new Case("ordinary JVM, no namespace", Sandbox.builder(), ORDINARY, "add pidNs() and userNs()"),
                new Case("ordinary JVM, the issue's --user --mount --net", Sandbox.builder().userNs().mountNs().netNs(), ORDINARY,
                        "runs as the JVM's own uid 1000"),
                new Case("ordinary JVM, with pidNs", Sandbox.builder().userNs().pidNs().mountNs().netNs(), ORDINARY, null),
                new Case("ordinary JVM, pidNs without userNs (the host refuses it at start)", Sandbox.builder().pidNs().netNs(),
                        ORDINARY, null));
        check(cases, "add pidNs()");
    }

    @Test
    void whatCouldWriteCgroupFilesNeedsAMountNamespaceAndNoCapSysAdmin() {
        List<Case> cases = List.of(
                new Case("default identity sees them, cannot write", Sandbox.builder().pidNs().pidsLimit(64), ROOT, null),
                new Case("uid 0 without mountNs", Sandbox.builder().pidNs().runAs(0, 0).pidsLimit(64), ROOT, "may run as host root"),
                new Case("uid 0 without a cgroup of its own", Sandbox.builder().pidNs().runAs(0, 0), ROOT, "add mountNs()"),
                new Case("uid 0 with mountNs", Sandbox.builder().pidNs().mountNs().runAs(0, 0).pidsLimit(64), ROOT, null),
                new Case("uid 0 in a minimal root", Sandbox.builder().pidNs().mountNs().minimalRoot().runAs(0, 0), ROOT, null),
                new Case("CAP_DAC_OVERRIDE of the host", Sandbox.builder().pidNs().keepCapability("CAP_DAC_OVERRIDE"), ROOT,
                        "keeps CAP_DAC_OVERRIDE"),
                new Case("CAP_FOWNER of the host", Sandbox.builder().pidNs().keepCapability("CAP_FOWNER"), ROOT, "keeps CAP_FOWNER"),
                new Case("CAP_CHOWN of its user namespace", Sandbox.builder().userNs().pidNs().keepCapability("CAP_CHOWN"), ROOT, null),
                new Case("uid 0 and CAP_SYS_ADMIN", Sandbox.builder().pidNs().mountNs().runAs(0, 0).keepCapability("CAP_SYS_ADMIN"),
                        ROOT, "keeps CAP_SYS_ADMIN"),
                new Case("default identity and CAP_SYS_ADMIN", Sandbox.builder().pidNs().mountNs().keepCapability("CAP_SYS_ADMIN"),
                        ROOT, null),
                new Case("user namespace root and CAP_SYS_ADMIN", Sandbox.builder().userNs().pidNs().mountNs()
                        .keepCapability("CAP_SYS_ADMIN"), ROOT, null),
                new Case("ordinary JVM, cgroup without mountNs", Sandbox.builder().userNs().pidNs().memoryLimit(ByteSize.mb(64)),
                        ORDINARY, "owns the delegated cgroup subtree"),
                new Case("ordinary JVM, cgroup with mountNs", Sandbox.builder().userNs().pidNs().mountNs().memoryLimit(ByteSize.mb(64)),
                        ORDINARY, null),
                new Case("ordinary JVM, cgroup and CAP_SYS_ADMIN", Sandbox.builder().userNs().pidNs().mountNs()
                        .memoryLimit(ByteSize.mb(64)).keepCapability("CAP_SYS_ADMIN"), ORDINARY, "keeps CAP_SYS_ADMIN"),
                new Case("ordinary JVM, no cgroup", Sandbox.builder().userNs().pidNs(), ORDINARY, null));
        check(cases, "cgroup");
    }

    private static void check(List<Case> cases, String alsoNamed) {
        for (Case c : cases) {
            if (c.refusal() == null) {
                assertThat(c.policy().build(c.jvmUid())).as(c.name()).isNotNull();
            } else {
                assertThatThrownBy(() -> c.policy().build(c.jvmUid())).as(c.name()).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining(c.refusal()).hasMessageContaining(alsoNamed.equals("cgroup") ? "cgroup" : "monitor");
            }
        }
    }

    @Test
    void cgroupMountsAreFoundInMountinfoAndHiddenWhereTheyAre(@TempDir Path dir) throws Exception {
        Path hybrid = Files.writeString(dir.resolve("mountinfo"), String.join("\n",
                "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
                "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw", ""));
        List<Path> mounts = CgroupMounts.mountPoints(hybrid);
        assertThat(mounts).containsExactly(Path.of("/sys/fs/cgroup/cpu"), Path.of("/sys/fs/cgroup/pids"), Path.of("/sys/fs/cgroup/unified"));
        assertThat(CgroupMounts.toHide(mounts)).containsExactly(Path.of("/sys/fs/cgroup"));
        assertThat(CgroupMounts.toHide(List.of(Path.of("/sys/fs/cgroup")))).containsExactly(Path.of("/sys/fs/cgroup"));
        assertThat(CgroupMounts.toHide(List.of(Path.of("/sys/fs/cgroup"), Path.of("/cg/v1"), Path.of("/cg/v1/pids"))))
                .containsExactly(Path.of("/sys/fs/cgroup"), Path.of("/cg/v1"));
        assertThat(CgroupMounts.toHide(List.of())).isEmpty();
        for (String exposing : new String[] {"/", "/sys", "/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/pids/isolation-1"}) {
            assertThat(CgroupMounts.exposedBy(Path.of(exposing), mounts)).as(exposing).isPresent();
        }
        for (String safe : new String[] {"/usr", "/sys/fs/cgroupx", "/tmp/sys/fs/cgroup"}) {
            assertThat(CgroupMounts.exposedBy(Path.of(safe), mounts)).as(safe).isEmpty();
        }
    }

    @Test
    void theSweepOfTheLeasedUidIsAPlanRecordTheHelperKnows() throws Exception {
        byte[] bytes = new LaunchPlan().sweepUid(2130706432).encode();
        assertThat(PlanCodec.decode(bytes).steps()).containsExactly(new Step.SweepUid(2130706432));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        b.position(16);
        assertThat(b.getInt()).isEqualTo(40);
        assertThat(b.getInt()).isEqualTo(4);
        assertThat(b.getInt()).isEqualTo(2130706432);
        assertThat(Files.readString(Path.of("src/main/c/plan_tags.h"))).contains("X(SWEEP_UID, 40, MONITOR)");
        assertThat(Files.readString(Path.of("src/main/c/plan.c"))).contains("case TAG_SWEEP_UID:");
    }
}
