package dev.isolation.core;

import dev.isolation.cgroups.internal.MountInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the host's cgroup file systems are mounted (every {@code cgroup} and {@code cgroup2} mount
 * of {@code /proc/self/mountinfo}, read once per JVM): what a sandbox that sees the host's file
 * system must not see, since a program that can write there can leave its cgroup.
 */
final class CgroupMounts {
    private static final Path SYS_FS_CGROUP = Path.of("/sys/fs/cgroup");
    private static volatile List<Path> mountPoints;

    private CgroupMounts() {}

    /** The cgroup mount points of this host. */
    static List<Path> mountPoints() {
        List<Path> m = mountPoints;
        if (m == null) {
            try {
                m = mountPoints(Path.of("/proc/self/mountinfo"));
            } catch (java.nio.file.NoSuchFileException e) {
                m = List.of(); // not Linux: nothing is mounted that a sandbox could see
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read /proc/self/mountinfo: " + e.getMessage(), e);
            }
            mountPoints = m;
        }
        return m;
    }

    static List<Path> mountPoints(Path mountinfo) throws IOException {
        return MountInfo.cgroupMounts(mountinfo).stream().map(MountInfo.Mount::mountPoint).distinct().toList();
    }

    /** The cgroup mount that the host path {@code real} (symlinks resolved) is, lies under, or contains, if any. */
    static java.util.Optional<Path> exposedBy(Path real, List<Path> mountPoints) {
        return mountPoints.stream().filter(m -> real.startsWith(m) || m.startsWith(real)).findFirst();
    }

    /**
     * The directories to cover so that none of {@code mountPoints} can be reached by path: {@code
     * /sys/fs/cgroup} alone when they are all there (the usual layout), else each mount point that
     * lies under no other.
     */
    static List<Path> toHide(List<Path> mountPoints) {
        if (mountPoints.stream().allMatch(m -> m.startsWith(SYS_FS_CGROUP))) {
            return mountPoints.isEmpty() ? List.of() : List.of(SYS_FS_CGROUP);
        }
        List<Path> tops = new ArrayList<>();
        for (Path m : mountPoints) {
            if (mountPoints.stream().noneMatch(o -> !o.equals(m) && m.startsWith(o))) {
                tops.add(m);
            }
        }
        return tops;
    }
}
