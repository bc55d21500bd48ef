package dev.isolation.examples.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.examples.judge.Judge;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The values a submission carries: limits, problem ids, broker URLs, and their checks. */
class SubmissionValuesTest {
    private static final Judge.Limits BASE = new Judge.Limits(Duration.ofSeconds(1), Duration.ofSeconds(3), ByteSize.mb(64),
            ByteSize.mb(1));

    @Test
    void limitOverridesRoundTripThroughTheirTextForm() {
        LimitOverrides o = LimitOverrides.parse("time=0.5 wall=2 memory=32M output=64K");
        assertThat(o.toText()).isEqualTo("time=0.5 wall=2 memory=33554432 output=65536");
        assertThat(LimitOverrides.parse(o.toText())).isEqualTo(o);
        assertThat(LimitOverrides.parse("")).isEqualTo(LimitOverrides.NONE);
        assertThat(LimitOverrides.NONE.toText()).isEmpty();
    }

    @Test
    void anOverriddenCpuTimeBringsItsWallTimeUnlessThatIsSetToo() {
        assertThat(LimitOverrides.parse("time=2").applyTo(BASE))
                .isEqualTo(new Judge.Limits(Duration.ofSeconds(2), Duration.ofSeconds(6), ByteSize.mb(64), ByteSize.mb(1)));
        assertThat(LimitOverrides.parse("time=2 wall=4").applyTo(BASE).wallTime()).isEqualTo(Duration.ofSeconds(4));
        assertThat(LimitOverrides.parse("memory=16M").applyTo(BASE))
                .isEqualTo(new Judge.Limits(Duration.ofSeconds(1), Duration.ofSeconds(3), ByteSize.mb(16), ByteSize.mb(1)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            time=0             | time limit 0: must be more than 0 seconds
            time=61            | time limit 61 s: must be more than 0 and at most 60 s
            wall=-1            | wall limit -1: must be more than 0 seconds
            memory=5G          | memory limit 5 GiB: must be 1 MiB to 4 GiB
            output=0           | output limit 0 B: must be 1 B to 256 MiB
            time=fast          | time limit "fast": expected seconds
            cpu=1              | limit "cpu": expected time, wall, memory or output
            time               | limit "time": expected NAME=VALUE
            """)
    void badLimitsAreRefusedByName(String text, String message) {
        assertThatThrownBy(() -> LimitOverrides.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"../etc", "..", ".hidden", "a/b", "", "a b", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
    void problemIdsThatAreNotOneDirectoryNameAreRefused(String id) {
        byte[] src = "echo 1".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> SubmissionRequest.of("sh", id, src)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("problem id");
    }

    @Test
    void submissionsAreCheckedWhenMade() {
        byte[] src = "echo 1".getBytes(StandardCharsets.UTF_8);
        assertThat(SubmissionRequest.of("SH", "sum-1.b", src).maxAttempts()).isEqualTo(3);
        assertThatThrownBy(() -> SubmissionRequest.of("pascal", "sum", src)).hasMessageContaining("expected c, cpp or sh");
        assertThatThrownBy(() -> SubmissionRequest.of("c", "sum", new byte[SubmissionRequest.MAX_SOURCE + 1]))
                .hasMessageContaining("more than the 1048576 accepted");
        assertThatThrownBy(() -> new SubmissionRequest("c", "sum", src, LimitOverrides.NONE, 0))
                .hasMessageContaining("maxAttempts 0");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            jdbc:postgresql://db:5432/judge?user=j         | jdbc:postgresql://db:5432/judge?user=j
            postgresql://db/judge                          | jdbc:postgresql://db/judge
            postgres://judge@db:6000/j                     | jdbc:postgresql://db:6000/j?user=judge
            postgresql://judge:secret@db/j?ssl=true        | jdbc:postgresql://db/j?ssl=true&user=judge&password=secret
            """)
    void brokerUrlsBecomeJdbcUrls(String url, String jdbc) throws Exception {
        assertThat(Broker.jdbcUrl(url)).isEqualTo(jdbc);
    }

    @Test
    void aBrokerUrlThatIsNotPostgresqlsIsRefusedWithTheFormsItTakes() {
        assertThatThrownBy(() -> Broker.jdbcUrl("amqp://localhost/")).isInstanceOf(BrokerException.class)
                .hasMessageContaining("is not PostgreSQL's: expected jdbc:postgresql://");
    }
}
