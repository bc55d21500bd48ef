package dev.isolation.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Where a line of /proc/PID/cgroup is on this host, from /proc/self/mountinfo (any layout, any mount point). */
final class CgroupPaths {
    private CgroupPaths() {}

    /**
     * The directory of a host process's cgroup in the hierarchy that has {@code controller}: its v1
     * hierarchy where one is bound to it, else cgroup v2.
     */
    static Path directoryOf(long pid, String controller) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
            return lines.stream().filter(l -> Arrays.asList(l.split(":", 3)[1].split(",")).contains(controller)).findFirst()
                    .or(() -> lines.stream().filter(l -> l.startsWith("0::")).findFirst())
                    .map(CgroupPaths::directoryOf)
                    .orElseThrow(() -> new IllegalStateException("no cgroup of " + pid + " has " + controller + ": " + lines));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The mount point of every cgroup and cgroup2 hierarchy of this process's mount namespace (mounted at its root). */
    static List<Path> mountPoints() {
        try {
            List<Path> out = new java.util.ArrayList<>();
            for (String m : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] halves = m.split(" - ", 2);
                String[] fields = halves[0].split(" ");
                String type = halves[1].split(" ")[0];
                if ((type.equals("cgroup") || type.equals("cgroup2")) && fields[3].equals("/")) {
                    out.add(Path.of(fields[4]));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The directory of {@code line} ("ID:CONTROLLERS:PATH"), e.g. {@code 4:memory:/a/b} → {@code /sys/fs/cgroup/memory/a/b}. */
    static Path directoryOf(String line) {
        String[] f = line.split(":", 3);
        List<String> controllers = f[1].isEmpty() ? List.of() : Arrays.asList(f[1].split(","));
        try {
            for (String m : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] halves = m.split(" - ", 2);
                String[] fields = halves[0].split(" ");
                String[] tail = halves[1].split(" ");
                boolean v2 = tail[0].equals("cgroup2") && f[0].equals("0");
                boolean v1 = tail[0].equals("cgroup") && !controllers.isEmpty()
                        && Arrays.asList(tail[2].split(",")).containsAll(controllers);
                if ((v2 || v1) && fields[3].equals("/")) {
                    return Path.of(fields[4] + f[2]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no cgroup mount for " + line);
    }
}
