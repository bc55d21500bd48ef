package dev.isolation.core.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The read-ahead, hashed-ahead stream a layer is unpacked from: the bytes and digest of its source, its failures, its threads. */
@Timeout(60)
class HashingInputStreamTest {
    private static String sha256(byte[] b) {
        return "sha256:" + HexFormat.of().formatHex(Manifests.sha256().digest(b));
    }

    @Test
    void passesOnExactlyTheSourceAndItsDigest() throws IOException {
        byte[] source = new byte[(3 << 20) + 12345]; // many chunks, the last one partial
        new Random(7).nextBytes(source);
        Random sizes = new Random(8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (HashingInputStream in = new HashingInputStream(new ByteArrayInputStream(source), Manifests.sha256())) {
            assertThat(in.peek(4)).containsExactly(source[0], source[1], source[2], source[3]);
            out.write(in.read());
            assertThat(in.skip(1000)).isEqualTo(1000);
            out.write(source, 1, 1000);
            byte[] buf = new byte[70_000];
            for (int n; (n = in.read(buf, 0, 1 + sizes.nextInt(buf.length))) > 0;) {
                out.write(buf, 0, n);
            }
            assertThat(in.read()).isEqualTo(-1);
            assertThat(in.digest()).isEqualTo(sha256(source));
        }
        assertThat(out.toByteArray()).isEqualTo(source);
    }

    @Test
    void digestReadsWhatIsLeft() throws IOException {
        byte[] source = new byte[1 << 20];
        new Random(9).nextBytes(source);
        try (HashingInputStream in = new HashingInputStream(new ByteArrayInputStream(source), Manifests.sha256())) {
            assertThat(in.readNBytes(100)).hasSize(100);
            assertThat(in.digest()).isEqualTo(sha256(source));
        }
    }

    @Test
    void anEmptySourceHasTheDigestOfNothing() throws IOException {
        try (HashingInputStream in = new HashingInputStream(InputStream.nullInputStream(), Manifests.sha256())) {
            assertThat(in.peek(4)).isEmpty();
            assertThat(in.read()).isEqualTo(-1);
            assertThat(in.digest()).isEqualTo(sha256(new byte[0]));
        }
    }

    @Test
    void aFailureOfTheSourceIsThrownByTheReadThatReachesItAndByDigest() throws IOException {
        InputStream failing = new InputStream() {
            private int left = 600_000;

            @Override
            public int read() throws IOException {
                if (left == 0) {
                    throw new IOException("Corrupt GZIP trailer"); // and again at every later read
                }
                left--;
                return 'a';
            }
        };
        try (HashingInputStream in = new HashingInputStream(failing, Manifests.sha256())) {
            assertThatThrownBy(() -> in.transferTo(OutputStream.nullOutputStream())).isInstanceOf(IOException.class)
                    .hasMessageContaining("Corrupt GZIP trailer");
            assertThatThrownBy(in::digest).isInstanceOf(IOException.class).hasMessageContaining("Corrupt GZIP trailer");
        }
    }

    @Test
    void closeStopsTheReadingAndHashingThreads() throws Exception {
        AtomicReference<Thread> readerThread = new AtomicReference<>();
        AtomicReference<Thread> hasherThread = new AtomicReference<>();
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                readerThread.set(Thread.currentThread());
                return 'z';
            }
        };
        MessageDigest recording = new MessageDigest("recording") {
            @Override
            protected void engineUpdate(byte input) {}

            @Override
            protected void engineUpdate(byte[] input, int offset, int len) {
                hasherThread.set(Thread.currentThread());
            }

            @Override
            protected byte[] engineDigest() {
                return new byte[0];
            }

            @Override
            protected void engineReset() {}
        };
        HashingInputStream in = new HashingInputStream(endless, recording);
        assertThat(in.readNBytes(1 << 20)).hasSize(1 << 20); // the source never ends: the reader is blocked, all chunks full
        in.close();
        assertThat(readerThread.get()).isNotNull().isNotSameAs(Thread.currentThread());
        assertThat(hasherThread.get()).isNotNull().isNotSameAs(readerThread.get());
        assertThat(readerThread.get().isAlive()).isFalse();
        assertThat(hasherThread.get().isAlive()).isFalse();
    }
}
