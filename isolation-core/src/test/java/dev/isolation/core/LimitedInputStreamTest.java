package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The output limit of a piped stream, as the JVM reads it: nothing past the limit, by any method. */
class LimitedInputStreamTest {
    private final AtomicInteger exceeded = new AtomicInteger();

    private LimitedInputStream limited(int size, long limit) {
        return new LimitedInputStream(new BufferedInputStream(new ByteArrayInputStream(new byte[size])), limit,
                exceeded::incrementAndGet);
    }

    @Test
    void availableNeverPromisesBytesPastTheLimit() throws IOException {
        LimitedInputStream in = limited(100, 10);
        assertThat(in.read()).isEqualTo(0); // fills the buffer: 99 bytes are available below it
        assertThat(in.available()).isEqualTo(9);
        assertThat(in.readNBytes(9)).hasSize(9);
        assertThat(in.available()).isZero();
        assertThat(in.read()).isEqualTo(-1);
        assertThat(exceeded).hasValue(1);
        assertThat(in.available()).isZero();
    }

    @Test
    void exactlyTheLimitIsNotExceeded() throws IOException {
        LimitedInputStream in = limited(10, 10);
        assertThat(in.readAllBytes()).hasSize(10);
        assertThat(exceeded).hasValue(0);
    }

    @Test
    void skippedBytesCountAndNoResetReadsThemAgain() throws IOException {
        LimitedInputStream in = limited(100, 10);
        assertThat(in.markSupported()).isFalse();
        in.mark(100);
        assertThat(in.skip(8)).isEqualTo(8);
        assertThatThrownBy(in::reset).isInstanceOf(IOException.class);
        assertThat(in.readAllBytes()).hasSize(2);
        assertThat(exceeded).hasValue(1);
    }
}
