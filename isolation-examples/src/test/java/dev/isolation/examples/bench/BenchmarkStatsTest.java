package dev.isolation.examples.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.examples.bench.Benchmark.Stats;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class BenchmarkStatsTest {
    private static final long MS = 1_000_000;

    @Test
    void medianOfAnOddCountIsTheMiddleRun() {
        assertThat(Stats.of(new long[] {3 * MS, 1 * MS, 2 * MS}, 6 * MS).medianMs()).isEqualTo(2.0);
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleRuns() {
        assertThat(Stats.of(new long[] {4 * MS, 1 * MS, 2 * MS, 3 * MS}, 10 * MS).medianMs()).isEqualTo(2.5);
    }

    @Test
    void p99IsTheNearestRank() {
        long[] oneTo100 = LongStream.rangeClosed(1, 100).map(i -> i * MS).toArray();
        assertThat(Stats.of(oneTo100, 0).percentileMs(99)).isEqualTo(99.0);
        long[] oneTo1000 = LongStream.rangeClosed(1, 1000).map(i -> i * MS).toArray();
        assertThat(Stats.of(oneTo1000, 0).percentileMs(99)).isEqualTo(990.0);
        assertThat(Stats.of(new long[] {5 * MS}, 0).percentileMs(99)).isEqualTo(5.0);
    }

    @Test
    void runsPerSecondIsRunsOverTotalWallTime() {
        assertThat(Stats.of(new long[] {MS, MS, MS, MS}, 2 * MS).runsPerSecond()).isEqualTo(2000.0);
    }
}
