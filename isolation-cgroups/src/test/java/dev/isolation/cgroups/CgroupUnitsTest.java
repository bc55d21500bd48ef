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
        "100, 20", // 10 + 9.8 rounded to the nearest (truncation broke blkio -> io -> blkio)
        "10000, 1000",
    })
    void ioWeightMapsBackToBlkioWeight(long w2, long w1) {
        assertThat(CgroupUnits.ioWeightToBlkioWeight(w2)).isEqualTo(w1);
    }

    @Test
    void countersConvertToDurations() {
        assertThat(dev.isolation.cgroups.internal.Units.fromMicros(1_500_000L)).isEqualTo(Duration.ofMillis(1500));
        assertThat(dev.isolation.cgroups.internal.Units.fromUserHzTicks(150)).isEqualTo(Duration.ofMillis(1500));
        assertThat(dev.isolation.cgroups.internal.Units.toMicros(Duration.ofMillis(1500))).isEqualTo(1_500_000L);
    }

    /** Property: over every share value the kernel accepts, shares to weight never decreases and stays in range. */
    @Test
    void sharesToWeightIsMonotoneOverTheWholeRange() {
        long previous = 0;
        for (long shares = CgroupUnits.MIN_SHARES; shares <= CgroupUnits.MAX_SHARES; shares++) {
            long w = CgroupUnits.sharesToWeight(shares);
            assertThat(w).as("weight of %d shares", shares).isBetween(CgroupUnits.MIN_WEIGHT, CgroupUnits.MAX_WEIGHT)
                    .isGreaterThanOrEqualTo(previous);
            previous = w;
        }
        assertThat(previous).isEqualTo(CgroupUnits.MAX_WEIGHT);
    }

    /** Property: weight to shares is monotone, and converting back gives the weight again within one step of rounding. */
    @Test
    void weightRoundTripsThroughShares() {
        long previous = 0;
        for (long w = CgroupUnits.MIN_WEIGHT; w <= CgroupUnits.MAX_WEIGHT; w++) {
            long shares = CgroupUnits.weightToShares(w);
            assertThat(shares).as("shares of weight %d", w).isGreaterThanOrEqualTo(previous)
                    .isBetween(CgroupUnits.MIN_SHARES, CgroupUnits.MAX_SHARES);
            assertThat(CgroupUnits.sharesToWeight(shares)).as("weight -> shares -> weight for %d", w).isBetween(w - 1, w + 1);
            previous = shares;
        }
    }

    /** Property: every blkio weight survives v1 -> v2 -> v1 exactly (v2's scale is finer), and both directions are monotone. */
    @Test
    void blkioWeightRoundTripsThroughIoWeight() {
        long previous = 0;
        for (long w1 = CgroupUnits.MIN_BLKIO_WEIGHT; w1 <= CgroupUnits.MAX_BLKIO_WEIGHT; w1++) {
            long w2 = CgroupUnits.blkioWeightToIoWeight(w1);
            assertThat(w2).isGreaterThan(previous).isBetween(CgroupUnits.MIN_WEIGHT, CgroupUnits.MAX_WEIGHT);
            assertThat(CgroupUnits.ioWeightToBlkioWeight(w2)).as("blkio %d -> io %d -> blkio", w1, w2).isEqualTo(w1);
            previous = w2;
        }
        long p = 0;
        for (long w2 = CgroupUnits.MIN_WEIGHT; w2 <= CgroupUnits.MAX_WEIGHT; w2++) {
            long w1 = CgroupUnits.ioWeightToBlkioWeight(w2);
            assertThat(w1).isGreaterThanOrEqualTo(p);
            p = w1;
        }
    }
}
