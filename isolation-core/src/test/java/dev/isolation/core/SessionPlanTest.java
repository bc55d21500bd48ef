package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.LaunchPlan.MountKind;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mounts of a persistent sandbox's run, and the session's options: plans read back, no kernel. */
class SessionPlanTest {
    /** A mount record read back: its kind, target and data. */
    private record Mount(MountKind kind, String target, String data) {
        @Override
        public String toString() {
            return kind + " " + target + (data.isEmpty() ? "" : " " + data);
        }
    }

    private static List<Mount> mounts(LaunchPlan plan) {
        return PlanCodec.decode(plan.encode()).steps().stream().filter(s -> s instanceof Step.Mount).map(s -> (Step.Mount) s)
                .map(m -> new Mount(m.kind(), m.target(), m.data())).toList();
    }

    private static List<String> runMounts(Sandbox session, boolean persistent, boolean reset) {
        LaunchPlan plan = new LaunchPlan();
        session.appendRunMounts(plan, persistent, reset);
        return mounts(plan).stream().map(Mount::toString).toList();
    }

    private static Sandbox layout(Sandbox.Builder b) {
        return b.pidNs().mountNs().minimalRoot().tmpSize(ByteSize.mb(8)).tmpfs(SandboxSession.WORK_DIR, ByteSize.mb(32)).build();
    }

    @Test
    void eachRunGetsFreshTmpfsMountsOfItsOwnInAPrivateCopyOfTheNamespace() {
        Sandbox session = layout(Sandbox.builder().tmpfs("/scratch", ByteSize.mb(4)));
        assertThat(runMounts(session, false, false)).containsExactly(
                "UNSHARE /",
                "DIR /tmp mode=1777,size=8388608",
                "DIR /scratch mode=1777,size=4194304",
                "DIR /box mode=1777,size=33554432",
                "DIR /dev/shm mode=1777,size=67108864");
    }

    @Test
    void aPersistentWorkDirIsTheSessionsOwnAndAResetReplacesItThereFirst() {
        Sandbox session = layout(Sandbox.builder());
        assertThat(runMounts(session, true, false)).containsExactly(
                "UNSHARE /", "DIR /tmp mode=1777,size=8388608", "DIR /dev/shm mode=1777,size=67108864");
        assertThat(runMounts(session, true, true)).containsExactly(
                "DETACH /box", "DIR /box mode=1777,size=33554432",
                "UNSHARE /", "DIR /tmp mode=1777,size=8388608", "DIR /dev/shm mode=1777,size=67108864");
    }

    @Test
    void bindsBelowARefreshedMountAreKeptAndAttachedAgainOnTheFreshOne(@TempDir Path dir) throws Exception {
        Path inner = Files.createDirectory(dir.resolve("inner"));
        Sandbox session = layout(Sandbox.builder().bind(dir, "/tmp/in").bind(inner, "/tmp/in/inner").bindWritable(dir, "/data"));
        assertThat(runMounts(session, false, false)).containsExactly(
                "UNSHARE /",
                "KEEP /tmp/in", // with /tmp/in/inner: the copy is recursive
                "DIR /tmp mode=1777,size=8388608",
                "DIR /box mode=1777,size=33554432",
                "DIR /dev/shm mode=1777,size=67108864",
                "REATTACH /tmp/in");
    }

    @Test
    void optionsValidateTheirValuesAndDefaultToAFreshWorkDirAndThePolicysLimit() {
        SandboxSession.Options defaults = SandboxSession.Options.builder().build();
        assertThat(defaults.workSize()).isEqualTo(ByteSize.mb(256));
        assertThat(defaults.memoryLimit()).isEmpty();
        assertThat(defaults.persistentWorkDir()).isFalse();
        SandboxSession.Options o = defaults.toBuilder().memoryLimit(ByteSize.mb(64)).persistentWorkDir().workSize(ByteSize.mb(8)).build();
        assertThat(o.memoryLimit()).contains(ByteSize.mb(64));
        assertThat(o.persistentWorkDir()).isTrue();
        assertThat(o.workSize()).isEqualTo(ByteSize.mb(8));
        assertThatThrownBy(() -> SandboxSession.Options.builder().memoryLimit(ByteSize.kb(512)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memoryLimit").hasMessageContaining("1 MiB");
        assertThatThrownBy(() -> SandboxSession.Options.builder().workSize(ByteSize.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("workSize");
        assertThatThrownBy(() -> Sandbox.builder().pidNs().build().open(o)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("mountNs()");
    }
}
