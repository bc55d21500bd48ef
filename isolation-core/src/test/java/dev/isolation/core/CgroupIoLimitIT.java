package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ioReadBps}, {@code ioWriteBps}, {@code ioReadIops} and {@code ioWriteIops} throttle O_DIRECT
 * reads and writes of a block device. Only ever a device this test
 * may write to: on a host a loop device over a file the test creates (and detaches); in the
 * run-in-vm guest its scratch disk, identified by serial. Never any other block device.
 */
@KernelTest
class CgroupIoLimitIT {
    private static final long RATE = 4L << 20; // 4 MiB/s
    private static final int MIB = 12;
    private static final long IOPS = 50;
    private static final int OPS = 150;

    /** A block device this test may write to: the guest's scratch disk, or a loop device over a file of the test's own. */
    private static final class Device implements AutoCloseable {
        final String path;
        private final String loop;

        Device(Path dir) throws Exception {
            if (System.getenv("RVM_GUEST") != null) {
                assertThat(Files.readString(Path.of("/sys/block/vda/serial")).trim())
                        .as("the guest's scratch disk").isEqualTo("rvm-scratch");
                path = "/dev/vda";
                loop = null;
                return;
            }
            Path backing = dir.resolve("isolation-io-test.img");
            try (var f = new java.io.RandomAccessFile(backing.toFile(), "rw")) {
                f.setLength(64L << 20);
            }
            Process losetup = new ProcessBuilder("losetup", "-f", "--show", backing.toString()).redirectErrorStream(true).start();
            java.util.concurrent.Future<String> output = Bounded.drain(losetup.getInputStream());
            assertThat(losetup.waitFor(60, TimeUnit.SECONDS)).as("losetup ended").isTrue();
            loop = Bounded.get(output, "losetup's output").trim();
            assertThat(losetup.exitValue()).as("losetup: %s", loop).isZero();
            assertThat(loop).startsWith("/dev/loop");
            path = loop;
        }

        @Override
        public void close() throws Exception {
            if (loop != null) {
                assertThat(new ProcessBuilder("losetup", "-d", loop).start().waitFor(60, TimeUnit.SECONDS)).as("losetup -d").isTrue();
            }
        }
    }

    /**
     * Runs {@code dd} in a sandbox with {@code limit} and returns the applied limits, after checking
     * a ceiling, which a busy host can only lower: {@code units} (bytes or operations) at {@code
     * perSecond} take {@code units / perSecond} seconds at least, but for the kernel's first slice
     * (20% allowed). Unthrottled, the same I/O takes milliseconds.
     */
    private static java.util.List<String> throttled(java.util.function.UnaryOperator<Sandbox.Builder> limit, String dd,
            double units, double perSecond) throws Exception {
        Sandbox s = limit.apply(Sandbox.builder().pidNs().mountNs().runAs(0, 0)).build();
        try (IsolatedProcess p = s.start("sh", "-c", dd + " status=none")) {
            Bounded.Result r = Bounded.collect(p);
            Outcome o = r.outcome();
            assertThat(o.status()).as(r.err()).isEqualTo(Outcome.Status.OK);
            double seconds = o.wallTime().toNanos() / 1e9;
            assertThat(units / seconds).as("%s per second over %.3f s", dd, seconds).isLessThanOrEqualTo(perSecond * 1.2);
            return o.appliedLimits().stream().map(l -> l.limit() + " " + l.value()).toList();
        }
    }

    @Test
    @Timeout(300)
    void ioWriteBpsHoldsDirectWritesToTheRate(@TempDir Path dir) throws Exception {
        try (Device d = new Device(dir)) {
            var applied = throttled(b -> b.ioWriteBps(Path.of(d.path), ByteSize.ofBytes(RATE)),
                    "dd if=/dev/zero of=" + d.path + " bs=1M count=" + MIB + " oflag=direct conv=notrunc", MIB << 20, RATE);
            // v1 names it per direction (blkio.throttle.write_bps_device), v2 writes one io.max line
            assertThat(applied).anySatisfy(l -> assertThat(l).containsAnyOf("Write", "wbps="));
        }
    }

    @Test
    @Timeout(300)
    void ioReadBpsHoldsDirectReadsToTheRate(@TempDir Path dir) throws Exception {
        try (Device d = new Device(dir)) {
            var applied = throttled(b -> b.ioReadBps(Path.of(d.path), ByteSize.ofBytes(RATE)),
                    "dd if=" + d.path + " of=/dev/null bs=1M count=" + MIB + " iflag=direct", MIB << 20, RATE);
            assertThat(applied).anySatisfy(l -> assertThat(l).containsAnyOf("Read", "rbps="));
        }
    }

    @Test
    @Timeout(300)
    void ioWriteIopsHoldsDirectWritesToTheRate(@TempDir Path dir) throws Exception {
        try (Device d = new Device(dir)) {
            var applied = throttled(b -> b.ioWriteIops(Path.of(d.path), IOPS),
                    "dd if=/dev/zero of=" + d.path + " bs=4k count=" + OPS + " oflag=direct conv=notrunc", OPS, IOPS);
            assertThat(applied).anySatisfy(l -> assertThat(l).containsAnyOf("WriteIops", "wiops="));
        }
    }

    @Test
    @Timeout(300)
    void ioReadIopsHoldsDirectReadsToTheRate(@TempDir Path dir) throws Exception {
        try (Device d = new Device(dir)) {
            var applied = throttled(b -> b.ioReadIops(Path.of(d.path), IOPS),
                    "dd if=" + d.path + " of=/dev/null bs=4k count=" + OPS + " iflag=direct", OPS, IOPS);
            assertThat(applied).anySatisfy(l -> assertThat(l).containsAnyOf("ReadIops", "riops="));
        }
    }
}
