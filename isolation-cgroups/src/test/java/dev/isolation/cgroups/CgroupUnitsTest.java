package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CgroupUnitsTest {

    @ParameterizedTest(name = "shares {0} -> weight {1}")
    @CsvSource({
        "2, 1",
        "64, 12",
        "256, 35",
        "512, 59",
        "1024, 100",
        "2048, 174",
        "262144, 10000",
        // clamped outside the kernel range
        "1, 1",
        "0, 1",
        "300000, 10000",
    })
    void sharesToWeightFollowsTheOciFormula(long shares, long weight) {
        assertThat(CgroupUnits.sharesToWeight(shares)).isEqualTo(weight);
    }

    @ParameterizedTest(name = "weight {0} -> shares {1}")
    @CsvSource({
        "1, 2",
        "100, 1024",
        "10000, 262144",
        "0, 2",
        "20000, 262144",
    })
    void weightToSharesInvertsTheCurveAtItsAnchors(long weight, long shares) {
        assertThat(CgroupUnits.weightToShares(weight)).isEqualTo(shares);
    }

    @Test
    void weightToSharesIsMonotoneAndRoundTripsTheDefault() {
        long previous = 0;
        for (long w = 1; w <= 10_000; w++) {
            long s = CgroupUnits.weightToShares(w);
            assertThat(s).isBetween(2L, 262_144L).isGreaterThanOrEqualTo(previous);
            previous = s;
        }
        assertThat(CgroupUnits.sharesToWeight(CgroupUnits.weightToShares(100))).isEqualTo(100);
        assertThat(CgroupUnits.weightToShares(CgroupUnits.sharesToWeight(1024))).isEqualTo(1024);
    }

    @Test
    void sharesToWeightIsMonotone() {
        long previous = 0;
        for (long s = 2; s <= 262_144; s++) {
            long w = CgroupUnits.sharesToWeight(s);
            assertThat(w).isGreaterThanOrEqualTo(previous);
            previous = w;
        }
    }

    @ParameterizedTest(name = "blkio.weight {0} -> io.weight {1}")
    @CsvSource({
        "10, 1",
        "100, 910",
        "500, 4950",
        "1000, 10000",
    })
    void blkioWeightMapsLinearlyToIoWeight(long w1, long w2) {
        assertThat(CgroupUnits.blkioWeightToIoWeight(w1)).isEqualTo(w2);
        assertThat(w2).isEqualTo(1 + (w1 - 10) * 9999 / 990);
    }

    @ParameterizedTest(name = "io.weight {0} -> blkio.weight {1}")
    @CsvSource({
        "1, 10",
        "100, 19",
        "10000, 1000",
    })
    void ioWeightMapsBackToBlkioWeight(long w2, long w1) {
        assertThat(CgroupUnits.ioWeightToBlkioWeight(w2)).isEqualTo(w1);
    }

    @ParameterizedTest(name = "{0} cores of {1} ms -> {2} us")
    @CsvSource({
        "1.0, 100, 100000",
        "0.5, 100, 50000",
        "2.5, 100, 250000",
        "0.25, 20, 5000",
        "0.001, 100, 1000",
    })
    void coresConvertToQuotaMicros(double cores, long periodMillis, long quota) {
        assertThat(CgroupUnits.coresToQuotaMicros(cores, Duration.ofMillis(periodMillis))).isEqualTo(quota);
    }

    @Test
    void quotaConvertsBackToCores() {
        assertThat(CgroupUnits.quotaToCores(50_000, 100_000)).isEqualTo(0.5);
        assertThat(CgroupUnits.quotaToCores(250_000, 100_000)).isEqualTo(2.5);
    }

    @Test
    void minusOneIsMaxInV2() {
        assertThat(CgroupUnits.v1ToV2Limit(-1)).isEqualTo("max");
        assertThat(CgroupUnits.v1ToV2Limit(4096)).isEqualTo("4096");
        assertThat(CgroupUnits.v2ToV1Limit("max")).isEqualTo(-1);
        assertThat(CgroupUnits.v2ToV1Limit("4096\n")).isEqualTo(4096);
        assertThat(CgroupUnits.cpuMax(OptionalLong.empty(), 100_000)).isEqualTo("max 100000");
        assertThat(CgroupUnits.cpuMax(OptionalLong.of(50_000), 100_000)).isEqualTo("50000 100000");
    }

    @Test
    void memswIsMemoryPlusSwapAndSwapMaxIsTheDifference() {
        ByteSize mem = ByteSize.mb(64);
        assertThat(CgroupUnits.memswBytes(mem, ByteSize.ZERO)).isEqualTo(64L << 20);
        assertThat(CgroupUnits.memswBytes(mem, ByteSize.mb(16))).isEqualTo(80L << 20);
        assertThat(CgroupUnits.swapFromMemsw(80L << 20, 64L << 20)).isEqualTo(16L << 20);
        assertThat(CgroupUnits.swapFromMemsw(64L << 20, 64L << 20)).isZero();
    }

    @Test
    void countersConvertToDurations() {
        assertThat(CgroupUnits.fromNanos(1_500_000_000L)).isEqualTo(Duration.ofMillis(1500));
        assertThat(CgroupUnits.fromMicros(1_500_000L)).isEqualTo(Duration.ofMillis(1500));
        assertThat(CgroupUnits.fromUserHzTicks(150)).isEqualTo(Duration.ofMillis(1500));
    }
}
