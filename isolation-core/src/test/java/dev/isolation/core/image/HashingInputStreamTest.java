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
    void aChannelSourceWrittenToAFileIsTheSourceAndAReadAfterCloseFails() throws Exception {
        byte[] source = new byte[(1 << 20) + 777];
        new Random(11).nextBytes(source);
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("isolation-hashing-test");
        try {
            java.nio.file.Path blob = java.nio.file.Files.write(dir.resolve("blob"), source);
            java.nio.file.Path copy = dir.resolve("copy");
            dev.isolation.core.internal.linux.Kernel k = dev.isolation.core.internal.linux.Kernel.get();
            HashingInputStream in = new HashingInputStream(java.nio.channels.FileChannel.open(blob), Manifests.sha256());
            int fd = k.open(copy.toString(), dev.isolation.core.internal.linux.Kernel.O_WRONLY | dev.isolation.core.internal.linux.Kernel.O_CREAT, 0600);
            try {
                assertThat(in.read()).isEqualTo(source[0] & 0xff);
                assertThat(in.writeTo(k, fd, source.length)).as("the rest, then the end").isEqualTo(source.length - 1);
            } finally {
                k.close(fd);
            }
            assertThat(in.digest()).isEqualTo(sha256(source));
            in.close();
            in.close(); // twice: its chunks go back for the next streams once, not twice
            assertThat(java.nio.file.Files.readAllBytes(copy)).isEqualTo(java.util.Arrays.copyOfRange(source, 1, source.length));
            assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("closed");
            // two streams at once on the chunks given back: each passes on its own source
            java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                java.util.List<java.util.concurrent.Future<Boolean>> same = new java.util.ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    byte[] other = new byte[(3 << 20) + t];
                    new Random(20 + t).nextBytes(other);
                    same.add(two.submit(() -> {
                        try (HashingInputStream s = new HashingInputStream(new ByteArrayInputStream(other), Manifests.sha256())) {
                            return java.util.Arrays.equals(s.readAllBytes(), other) && s.digest().equals(sha256(other));
                        }
                    }));
                }
                for (java.util.concurrent.Future<Boolean> f : same) {
                    assertThat(f.get()).isTrue();
                }
            } finally {
                two.shutdownNow();
            }
        } finally {
            LayerUnpacker.remove(dir);
        }
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
