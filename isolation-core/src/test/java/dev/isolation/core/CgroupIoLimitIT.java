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
 * {@code ioWriteBps} throttles O_DIRECT writes to a block device. Only ever a device this test
 * may write to: on a host a loop device over a file the test creates (and detaches); in the
 * run-in-vm guest its scratch disk, identified by serial. Never any other block device.
 */
@KernelTest
class CgroupIoLimitIT {
    private static final long RATE = 4L << 20; // 4 MiB/s
    private static final int MIB = 12;

    @Test
    @Timeout(300)
    void ioWriteBpsHoldsDirectWritesToTheRate(@TempDir Path dir) throws Exception {
        String device;
        String loop = null;
        if (System.getenv("RVM_GUEST") != null) {
            assertThat(Files.readString(Path.of("/sys/block/vda/serial")).trim())
                    .as("the guest's scratch disk").isEqualTo("rvm-scratch");
            device = "/dev/vda";
        } else {
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
            device = loop;
        }
        try {
            Sandbox throttled = Sandbox.builder().pidNs().mountNs().runAs(0, 0).ioWriteBps(Path.of(device), ByteSize.ofBytes(RATE)).build();
            String dd = "dd if=/dev/zero of=" + device + " bs=1M count=" + MIB + " oflag=direct conv=notrunc status=none";
            try (IsolatedProcess p = throttled.start("sh", "-c", dd)) {
                Bounded.Result r = Bounded.collect(p);
                Outcome o = r.outcome();
                assertThat(o.status()).as(r.err()).isEqualTo(Outcome.Status.OK);
                // A ceiling, which a busy host can only lower: 12 MiB at 4 MiB/s take 3 s at least (the kernel lets
                // a throttled group start with a slice's worth). Unthrottled, the writes take milliseconds.
                double seconds = o.wallTime().toNanos() / 1e9;
                double rate = (MIB << 20) / seconds;
                assertThat(rate).as("bytes per second over %.3f s", seconds).isLessThanOrEqualTo(RATE * 1.2);
                // v1 names it per direction (blkio.throttle.write_bps_device), v2 writes one io.max line
                assertThat(o.appliedLimits()).anySatisfy(l -> assertThat(l.limit() + " " + l.value()).containsAnyOf("Write", "wbps="));
            }
        } finally {
            if (loop != null) {
                assertThat(new ProcessBuilder("losetup", "-d", loop).start().waitFor(60, TimeUnit.SECONDS)).as("losetup -d").isTrue();
            }
        }
    }
}
