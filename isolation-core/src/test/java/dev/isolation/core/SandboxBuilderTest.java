package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.internal.linux.NativeCallException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SandboxBuilderTest {
    @Test
    void buildsAnImmutablePolicyAndVariantsThroughToBuilder() {
        Sandbox base = Sandbox.builder().pidNs().utsNs().hostname("box").build();
        Sandbox variant = base.toBuilder().netNs().build();
        assertThat(base.namespaces()).containsExactlyInAnyOrder(Sandbox.Namespace.PID, Sandbox.Namespace.UTS);
        assertThat(variant.namespaces()).contains(Sandbox.Namespace.NETWORK);
        assertThat(variant.hostname()).hasValue("box");
        assertThatThrownBy(() -> base.namespaces().add(Sandbox.Namespace.IPC)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void rejectsInvalidHostnamesNamingThem() {
        for (String bad : new String[] {"", "-x", "a b", "x".repeat(65), "under_score", "dot."}) {
            assertThatThrownBy(() -> Sandbox.builder().hostname(bad))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"" + bad + "\"");
        }
        assertThat(Sandbox.builder().utsNs().hostname("a-1.example").build().hostname()).hasValue("a-1.example");
    }

    @Test
    void rejectsAHostnameWithoutUtsNamespace() {
        assertThatThrownBy(() -> Sandbox.builder().hostname("box").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("utsNs()");
    }

    @Test
    void nativeFailuresReadLikeTheSystemCall() {
        assertThat(new NativeCallException("execve", "/nonexistent", 2).getMessage())
                .isEqualTo("execve(\"/nonexistent\"): ENOENT (No such file or directory)");
        assertThat(new NativeCallException("mount", "\"proc\" -> \"/proc\"", 1).getMessage())
                .isEqualTo("mount(\"proc\" -> \"/proc\"): EPERM (Operation not permitted)");
    }

    @Test
    void byteSizesParseAndPrintInBinaryUnits() {
        assertThat(ByteSize.parse("200M").bytes()).isEqualTo(200L << 20);
        assertThat(ByteSize.parse("64k")).isEqualTo(ByteSize.kb(64));
        assertThat(ByteSize.parse("1GiB")).isEqualTo(ByteSize.gb(1));
        assertThat(ByteSize.mb(3).toString()).isEqualTo("3 MiB");
        assertThatThrownBy(() -> ByteSize.parse("lots")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lots");
    }

    @Test
    void timeLimitsOfCenturiesAreRejectedWithTheirRange() {
        for (Duration bad : new Duration[] {Duration.ofDays(365L * 300), Duration.ofSeconds(Long.MAX_VALUE), Duration.ofDays(24).plusNanos(1),
            Duration.ZERO, Duration.ofNanos(-1)}) {
            assertThatThrownBy(() -> Sandbox.builder().cpuTimeLimit(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("cpuTimeLimit").hasMessageContaining("at most 24 days").hasMessageContaining(bad.toString());
            assertThatThrownBy(() -> Sandbox.builder().wallTimeLimit(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("wallTimeLimit").hasMessageContaining("at most 24 days");
        }
        assertThat(Sandbox.builder().wallTimeLimit(Duration.ofDays(24)).build().wallTimeLimit()).hasValue(Duration.ofDays(24));
        assertThat(Sandbox.builder().cpuTimeLimit(Duration.ofNanos(1)).build().cpuTimeLimit()).hasValue(Duration.ofNanos(1));
    }

    @Test
    void aCpuQuotaOfAMillionDaysIsRejectedWithTheKernelsRange() {
        assertThatThrownBy(() -> Sandbox.builder().cpuQuota(Duration.ofDays(1_000_000), Duration.ofMillis(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota").hasMessageContaining("203 days");
        assertThatThrownBy(() -> Sandbox.builder().cpuQuota(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota");
        assertThatThrownBy(() -> Sandbox.builder().cpuQuota(Duration.ofMillis(10), Duration.ofSeconds(Long.MIN_VALUE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota").hasMessageContaining("1 ms..1 s");
        assertThatThrownBy(() -> Sandbox.builder().cpuQuota(1e300)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuQuota");
    }

    @Test
    void aTmpfsOfSizeZeroWhichLinuxReadsAsUnlimitedIsRejected() {
        for (ByteSize bad : new ByteSize[] {ByteSize.ZERO, ByteSize.ofBytes(4095)}) {
            assertThatThrownBy(() -> Sandbox.builder().tmpSize(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tmpSize").hasMessageContaining("at least 4 KiB");
            assertThatThrownBy(() -> Sandbox.builder().tmpfs("/scratch", bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tmpfs").hasMessageContaining("at least 4 KiB");
        }
        Sandbox sandbox = Sandbox.builder().pidNs().mountNs().build();
        assertThatThrownBy(() -> sandbox.open(ByteSize.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("workSize");
        assertThat(Sandbox.builder().tmpSize(ByteSize.kb(4))).isNotNull();
    }

    @Test
    void otherOutOfRangeValuesNameTheirSetter() {
        assertThatThrownBy(() -> Sandbox.builder().pidsLimit(Long.MAX_VALUE)).hasMessageContaining("pidsLimit")
                .hasMessageContaining("1..4194304");
        assertThatThrownBy(() -> Sandbox.builder().cpuset("99999999999999999999")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuset").hasMessageContaining("0..65535");
        assertThatThrownBy(() -> Sandbox.builder().keepCapability("CAP_FLY")).hasMessageContaining("keepCapability");
        assertThatThrownBy(() -> Sandbox.builder().ioReadBps(Path.of("/nonexistent"), ByteSize.mb(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioReadBps");
        assertThatThrownBy(() -> Sandbox.builder().ioWriteIops(Path.of("/dev/null"), 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioWriteIops").hasMessageContaining("not a block device");
        Sandbox.Builder b = Sandbox.builder();
        for (int i = 0; i < 340; i++) {
            b.uidMap(i, 100_000 + i, 1);
        }
        assertThatThrownBy(() -> b.uidMap(340, 200_000, 1)).hasMessageContaining("uidMap").hasMessageContaining("340");
    }

    @Test
    void completionExecutorIsKeptByToBuilder() {
        java.util.concurrent.Executor direct = Runnable::run;
        Sandbox sandbox = Sandbox.builder().completionExecutor(direct).build();
        assertThat(sandbox.completionExecutor()).containsSame(direct);
        assertThat(sandbox.toBuilder().build().completionExecutor()).containsSame(direct);
        assertThat(Sandbox.builder().build().completionExecutor()).isEmpty();
    }
}
