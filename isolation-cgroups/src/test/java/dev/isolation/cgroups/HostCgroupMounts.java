package dev.isolation.cgroups;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The host's cgroup mounts as the test reads them itself from {@code /proc/self/mountinfo}, so that
 * tests check the library against the kernel's own description rather than against the library's.
 */
final class HostCgroupMounts {
    /** One cgroup or cgroup2 mount: its mount point, version, and (v1) controllers from the super options. */
    record Mount(Path mountPoint, int version, Set<String> controllers) {}

    private HostCgroupMounts() {}

    /** Every cgroup and cgroup2 mount of this process's mount namespace. */
    static List<Mount> all() throws IOException {
        List<Mount> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            String[] before = halves[0].split(" ");
            String[] after = halves[1].split(" ");
            Path mountPoint = Path.of(before[4].replace("\\040", " "));
            if (after[0].equals("cgroup2")) {
                out.add(new Mount(mountPoint, 2, Set.of()));
            } else if (after[0].equals("cgroup")) {
                out.add(new Mount(mountPoint, 1, Set.of(after[2].split(","))));
            }
        }
        return out;
    }

    /** Where a controller lives: the v1 mount bound to it, else the cgroup2 mount. */
    static Mount of(String controller) throws IOException {
        List<Mount> mounts = all();
        Optional<Mount> v1 = mounts.stream().filter(m -> m.version() == 1 && m.controllers().contains(controller)).findFirst();
        return v1.or(() -> mounts.stream().filter(m -> m.version() == 2).findFirst())
                .orElseThrow(() -> new AssertionError("no cgroup mount has " + controller + ": " + mounts));
    }

    /**
     * Every directory whose name starts with {@code prefix} in any cgroup hierarchy, wherever it is
     * (not only where the library says it puts them); subtrees that vanish or cannot be read are
     * skipped.
     */
    static List<Path> directoriesNamed(String prefix) throws IOException {
        List<Path> found = new ArrayList<>();
        for (Mount m : all()) {
            Files.walkFileTree(m.mountPoint(), new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    if (d.getFileName() != null && d.getFileName().toString().startsWith(prefix)) {
                        found.add(d);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // removed while we walked
                }
            });
        }
        return found;
    }
}
