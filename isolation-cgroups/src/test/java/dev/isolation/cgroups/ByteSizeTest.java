package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ByteSizeTest {
    @Test
    void binaryFactoriesSayTheirUnitAndTheOldNamesMeanTheSame() {
        assertThat(ByteSize.kib(3).bytes()).isEqualTo(3 * 1024L);
        assertThat(ByteSize.mib(64).bytes()).isEqualTo(64L * 1024 * 1024);
        assertThat(ByteSize.gib(2).bytes()).isEqualTo(2L * 1024 * 1024 * 1024);
        assertThat(ByteSize.tib(1).bytes()).isEqualTo(1L << 40);
        assertThat(ByteSize.kb(3)).isEqualTo(ByteSize.kib(3));
        assertThat(ByteSize.mb(64)).isEqualTo(ByteSize.mib(64));
        assertThat(ByteSize.gb(2)).isEqualTo(ByteSize.gib(2));
    }

    @Test
    void factoriesRejectNegativeAndOverflowNamingTheUnit() {
        assertThatThrownBy(() -> ByteSize.mib(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mebibytes");
        assertThatThrownBy(() -> ByteSize.tib(1L << 40)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tebibytes");
    }

    @ParameterizedTest
    @CsvSource({
        "512, 512",
        "0, 0",
        "12B, 12",
        "64K, 65536",
        "64k, 65536",
        "64KB, 65536",
        "64KiB, 65536",
        "64Ki, 65536",
        "200M, 209715200",
        "' 200 m ', 209715200",
        "1G, 1073741824",
        "2GiB, 2147483648",
        "1.5G, 1610612736",
        "1.5GiB, 1610612736",
        "0.5M, 524288",
        "0.1K, 102",        // 102.4 rounded down
        "1.25T, 1374389534720",
    })
    void parseReadsNumbersWithBinaryUnitsRoundingDown(String text, long bytes) {
        assertThat(ByteSize.parse(text).bytes()).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "M", "-1", "-1M", "1.5", "1.", ".5G", "1e3", "1,5G", "1 000", "10X", "1.5Gb2", "1_000", "+1K", "1P"})
    void parseRejectsWhatIsNotASizeNamingTheText(String text) {
        assertThatThrownBy(() -> ByteSize.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"" + text + "\"");
    }

    @Test
    void parseRejectsAFractionWithoutAUnitSayingWhy() {
        assertThatThrownBy(() -> ByteSize.parse("1.5")).hasMessageContaining("give a unit");
    }

    @Test
    void parseRejectsWhatDoesNotFitALong() {
        assertThatThrownBy(() -> ByteSize.parse("8388608T")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too large");
        assertThatThrownBy(() -> ByteSize.parse("99999999999999999999")).hasMessageContaining("too large");
        assertThat(ByteSize.parse("8388607.999999T").bytes()).isPositive();
    }

    @Test
    void toStringUsesTheLargestWholeBinaryUnit() {
        assertThat(ByteSize.mib(64)).hasToString("64 MiB");
        assertThat(ByteSize.parse("1.5G")).hasToString("1536 MiB");
        assertThat(ByteSize.ofBytes(1000)).hasToString("1000 B");
        assertThat(ByteSize.ZERO).hasToString("0 B");
    }
}
