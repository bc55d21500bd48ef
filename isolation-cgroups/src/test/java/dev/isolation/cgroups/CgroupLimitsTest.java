package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class CgroupLimitsTest {

    @Test
    void memoryLimitWithoutSwapMeansNoSwapBeyondMemory() {
        CgroupLimits l = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).build();
        assertThat(l.memoryLimit()).contains(ByteSize.mb(64));
        assertThat(l.swapLimit()).contains(ByteSize.ZERO);
        assertThat(l.bestEffort()).isFalse();
    }

    @Test
    void settersRejectOutOfRangeValuesNamingTheParameter() {
        CgroupLimits.Builder b = CgroupLimits.builder();
        assertThatThrownBy(() -> b.cpuShares(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuShares").hasMessageContaining("2..262144");
        assertThatThrownBy(() -> b.cpuShares(262_145)).hasMessageContaining("cpuShares");
        assertThatThrownBy(() -> b.cpuWeight(0)).hasMessageContaining("cpuWeight").hasMessageContaining("1..10000");
        assertThatThrownBy(() -> b.cpuWeight(10_001)).hasMessageContaining("cpuWeight");
        assertThatThrownBy(() -> b.pidsLimit(0)).hasMessageContaining("pidsLimit");
        assertThatThrownBy(() -> b.ioWeight(0)).hasMessageContaining("ioWeight");
        assertThatThrownBy(() -> b.memoryLimit(ByteSize.kb(4))).hasMessageContaining("memoryLimit");
        assertThatThrownBy(() -> b.cpuQuota(0)).hasMessageContaining("cpuQuota");
        assertThatThrownBy(() -> b.cpuQuota(Double.NaN)).hasMessageContaining("cpuQuota");
        assertThatThrownBy(() -> b.cpuQuota(0.001)).hasMessageContaining(">= 1 ms");
        assertThatThrownBy(() -> b.cpuQuota(1, Duration.ofSeconds(2))).hasMessageContaining("cpuPeriod");
        assertThatThrownBy(() -> b.cpuQuota(Duration.ofMillis(10), Duration.ofMillis(0))).hasMessageContaining("cpuPeriod");
        assertThatThrownBy(() -> b.cpusetCpus("0-")).hasMessageContaining("cpusetCpus");
        assertThatThrownBy(() -> b.cpusetCpus("3-1")).hasMessageContaining("descending");
        assertThatThrownBy(() -> b.cpusetMems("a")).hasMessageContaining("cpusetMems");
        assertThatThrownBy(() -> b.ioReadBandwidth(-1, 0, ByteSize.mb(1))).hasMessageContaining("major:minor");
        assertThatThrownBy(() -> b.ioWriteIops(8, 0, 0)).hasMessageContaining("ioWriteIops");
        assertThatThrownBy(() -> b.deviceAllow("x 1:3 rwm")).hasMessageContaining("type");
        assertThatThrownBy(() -> b.deviceAllow("c 1:3 rwx")).hasMessageContaining("access");
        assertThatThrownBy(() -> ByteSize.ofBytes(-1)).hasMessageContaining("bytes");
    }

    @Test
    void buildRejectsContradictions() {
        assertThatThrownBy(() -> CgroupLimits.builder().cpuShares(512).cpuWeight(50).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("mutually exclusive");
        assertThatThrownBy(() -> CgroupLimits.builder().swapLimit(ByteSize.mb(1)).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("memoryLimit");
    }

    @Test
    void cpuQuotaInCoresUsesTheDefaultPeriod() {
        CgroupLimits l = CgroupLimits.builder().cpuQuota(0.5).build();
        assertThat(l.cpuQuota()).contains(Duration.ofMillis(50));
        assertThat(l.cpuPeriod()).isEqualTo(Duration.ofMillis(100));
        CgroupLimits m = CgroupLimits.builder().cpuQuota(Duration.ofMillis(30), Duration.ofMillis(60)).build();
        assertThat(m.cpuQuota()).contains(Duration.ofMillis(30));
        assertThat(m.cpuPeriod()).isEqualTo(Duration.ofMillis(60));
    }

    @Test
    void ioThrottlesMergePerDevice() {
        CgroupLimits l = CgroupLimits.builder()
                .ioReadBandwidth(8, 0, ByteSize.mb(10))
                .ioWriteIops(8, 0, 100)
                .ioReadIops(8, 16, 5)
                .build();
        assertThat(l.ioThrottles()).hasSize(2);
        assertThat(l.ioThrottles().get(0).device()).isEqualTo("8:0");
        assertThat(l.ioThrottles().get(0).readBytesPerSecond()).hasValue(10L << 20);
        assertThat(l.ioThrottles().get(0).writeIops()).hasValue(100);
        assertThat(l.ioThrottles().get(0).writeBytesPerSecond()).isEmpty();
    }

    @Test
    void deviceRulesParseAndPrintInV1Syntax() {
        assertThat(CgroupLimits.DeviceRule.parse("c 1:3 rwm").toString()).isEqualTo("c 1:3 rwm");
        assertThat(CgroupLimits.DeviceRule.parse("c *:* m").major()).isEqualTo(OptionalInt.empty());
        assertThat(CgroupLimits.DeviceRule.parse("a").toString()).isEqualTo("a *:* rwm");
    }

    @Test
    void toBuilderMakesAVariantWithoutChangingTheOriginal() {
        CgroupLimits base = CgroupLimits.builder().memoryLimit(ByteSize.mb(64)).pidsLimit(10).build();
        CgroupLimits variant = base.toBuilder().pidsLimit(20).bestEffort(true).build();
        assertThat(base.pidsLimit()).hasValue(10);
        assertThat(variant.pidsLimit()).hasValue(20);
        assertThat(variant.memoryLimit()).contains(ByteSize.mb(64));
        assertThat(variant.swapLimit()).contains(ByteSize.ZERO);
        assertThat(variant.bestEffort()).isTrue();
        assertThat(CgroupLimits.none().memoryLimit()).isEmpty();
    }

    @Test
    void byteSizePrintsBinaryUnits() {
        assertThat(ByteSize.mb(64)).hasToString("64 MiB");
        assertThat(ByteSize.ofBytes(1000)).hasToString("1000 B");
        assertThat(ByteSize.gb(2).bytes()).isEqualTo(2L << 30);
        assertThat(ByteSize.ofBytes(Long.MAX_VALUE).plus(ByteSize.ofBytes(1)).bytes()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void valuesPastTheKernelsRangesAreRejectedNamingTheParameterAndRange() {
        CgroupLimits.Builder b = CgroupLimits.builder();
        assertThatThrownBy(() -> b.cpuQuota(Duration.ofDays(1_000_000), Duration.ofMillis(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota").hasMessageContaining("1 ms..2^44 - 1 µs");
        assertThatThrownBy(() -> b.cpuQuota(Duration.ofSeconds(Long.MAX_VALUE), Duration.ofMillis(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota");
        assertThatThrownBy(() -> b.cpuQuota(Duration.ofMillis(10), Duration.ofSeconds(Long.MAX_VALUE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpuQuota").hasMessageContaining("1 ms..1 s");
        assertThatThrownBy(() -> b.cpuQuota(Double.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuQuota").hasMessageContaining("2^44 - 1");
        assertThat(b.cpuQuota(Duration.ofNanos(((1L << 44) - 1) * 1000), Duration.ofSeconds(1)).build().cpuQuota())
                .contains(Duration.ofNanos(((1L << 44) - 1) * 1000));
        assertThatThrownBy(() -> b.pidsLimit(4_194_305)).hasMessageContaining("pidsLimit").hasMessageContaining("1..4194304");
        assertThat(b.pidsLimit(4_194_304).build().pidsLimit()).hasValue(4_194_304);
        assertThatThrownBy(() -> b.ioReadIops(8, 0, 1L << 32)).hasMessageContaining("ioReadIops").hasMessageContaining("1..4294967295");
        assertThatThrownBy(() -> b.ioWriteBandwidth(4096, 0, ByteSize.mb(1))).hasMessageContaining("ioWriteBandwidth")
                .hasMessageContaining("0..4095:0..1048575");
        assertThatThrownBy(() -> b.cpusetCpus("99999999999999999999")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpusetCpus").hasMessageContaining("0..65535");
        assertThatThrownBy(() -> b.cpusetMems("0-65536")).hasMessageContaining("cpusetMems");
        assertThat(b.cpusetCpus("0-65535").build().cpusetCpus()).contains("0-65535");
    }

    @Test
    void toStringNamesEachLimitInItsUnit() {
        CgroupLimits l = CgroupLimits.builder().memoryLimit(ByteSize.mib(64)).cpuQuota(0.5).pidsLimit(32)
                .ioReadBandwidth(8, 16, ByteSize.mib(1)).build();
        assertThat(l).hasToString("CgroupLimits{memory=64 MiB, swap=0 B, cpuQuota=50 ms per 100 ms, pids=32,"
                + " ioThrottles=[8:16 rbps=1048576], bestEffort=false}");
        assertThat(CgroupLimits.none()).hasToString("CgroupLimits{bestEffort=false}");
    }
    @Test
    void limitsSetToTheSameValuesAreEqualAndEachLimitCounts() {
        java.util.List<java.util.function.UnaryOperator<CgroupLimits.Builder>> settings = java.util.List.of(
                b -> b.memoryLimit(ByteSize.mb(64)), b -> b.memoryLimit(ByteSize.mb(64)).swapLimit(ByteSize.mb(8)),
                b -> b.cpuShares(512), b -> b.cpuWeight(50), b -> b.cpuQuota(0.5), b -> b.cpuQuota(Duration.ofMillis(50), Duration.ofMillis(50)),
                b -> b.cpusetCpus("0"), b -> b.cpusetMems("0"), b -> b.pidsLimit(16), b -> b.ioWeight(100),
                b -> b.ioReadBandwidth(8, 0, ByteSize.mb(1)), b -> b.ioWriteIops(8, 0, 10), b -> b.deviceAllow("c 1:3 rwm"),
                b -> b.bestEffort(true));
        assertThat(CgroupLimits.builder().build()).isEqualTo(CgroupLimits.none()).hasSameHashCodeAs(CgroupLimits.none());
        for (int i = 0; i < settings.size(); i++) {
            CgroupLimits one = settings.get(i).apply(CgroupLimits.builder()).build();
            assertThat(one).as("setting %d", i).isEqualTo(settings.get(i).apply(CgroupLimits.builder()).build())
                    .hasSameHashCodeAs(settings.get(i).apply(CgroupLimits.builder()).build()).isEqualTo(one.toBuilder().build())
                    .isNotEqualTo(CgroupLimits.none());
            for (int j = 0; j < settings.size(); j++) {
                if (j != i) {
                    assertThat(one).as("setting %d against %d", i, j).isNotEqualTo(settings.get(j).apply(CgroupLimits.builder()).build());
                }
            }
        }
    }
}
