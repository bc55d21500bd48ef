package dev.isolation.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Major and minor numbers of a block device node, as io throttling names devices. */
final class BlockDevice {
    private BlockDevice() {}

    /** {@code [major, minor]} of the block device at {@code device}, for the setter {@code what}. */
    static int[] numbers(Path device, String what) {
        java.util.Objects.requireNonNull(device, what);
        try {
            if (!Files.exists(device)) {
                throw new IllegalArgumentException(what + ": no such block device: " + device);
            }
            int mode = (Integer) Files.getAttribute(device, "unix:mode");
            if ((mode & 0170000) != 0060000) { // S_IFMT, S_IFBLK
                throw new IllegalArgumentException(what + ": not a block device: " + device);
            }
            long rdev = (Long) Files.getAttribute(device, "unix:rdev");
            // glibc's gnu_dev_major / gnu_dev_minor
            int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
            int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
            return new int[] {major, minor};
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(what + ": cannot read the device numbers of " + device + ": " + e.getMessage(), e);
        }
    }
}
