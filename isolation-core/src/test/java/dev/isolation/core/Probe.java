package dev.isolation.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Looks at the host from a test: processes, descriptors, threads. */
final class Probe {
    private Probe() {}

    /** Host pids whose command line contains {@code marker}. */
    static List<Long> processesWith(String marker) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(Path.of("/proc"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    if (cmd.contains(marker) && Long.parseLong(name) != ProcessHandle.current().pid()) {
                        found.add(Long.parseLong(name));
                    }
                } catch (IOException gone) {
                    // the process ended while we looked
                }
            }
        }
        return found;
    }

    /**
     * A host process outside every sandbox, {@code sleep} with a command line no other process has,
     * so that a test can look for it; {@link #close()} kills it.
     */
    record HostProcess(Process process, String marker) implements AutoCloseable {
        static HostProcess start() throws IOException {
            String marker = "1000." + Math.abs(java.util.UUID.randomUUID().getLeastSignificantBits() % 1_000_000_000L);
            return new HostProcess(new ProcessBuilder("sleep", marker).start(), marker);
        }

        /** A regular expression for the marker that does not match its own text (as a command line holding it would). */
        String pattern() {
            return marker.replace(".", "[.]");
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /** The parent pid of a host process; empty once it is gone. */
    static java.util.Optional<Long> parentOf(long pid) {
        return ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid);
    }

    /** Whether a process exists and is not a zombie (which holds no resource but its pid). */
    static boolean running(ProcessHandle p) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException gone) {
            return false;
        }
    }

    /**
     * The lines of this process's /proc/self/mountinfo that concern {@code paths}: whose mount point
     * is one of them, an ancestor of one or below one; and every line that names one of {@code
     * sources} (a mount's source). A sandbox's mount that reached the host would add or change one;
     * other processes' mounts elsewhere on a busy host do not.
     */
    static List<String> hostMountsAround(List<Path> paths, List<String> sources) throws IOException {
        List<String> found = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            Path mountPoint = Path.of(halves[0].split(" ")[4].replace("\\040", " "));
            String source = halves[1].split(" ")[1];
            if (paths.stream().anyMatch(p -> p.startsWith(mountPoint) || mountPoint.startsWith(p)) || sources.contains(source)) {
                found.add(line);
            }
        }
        return found;
    }

    /**
     * A block device in /dev that only its owner and group may open (as /dev/vda or /dev/loop0 on
     * most hosts); empty where there is none.
     */
    static java.util.Optional<Path> protectedBlockDevice() throws IOException {
        Path sys = Path.of("/sys/class/block");
        if (!Files.isDirectory(sys)) {
            return java.util.Optional.empty();
        }
        try (Stream<Path> names = Files.list(sys)) {
            return names.map(n -> Path.of("/dev", n.getFileName().toString())).sorted().filter(d -> {
                try {
                    int mode = (Integer) Files.getAttribute(d, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    return (mode & 0170000) == 0060000 && (mode & 0006) == 0;
                } catch (IOException | UnsupportedOperationException e) {
                    return false;
                }
            }).findFirst();
        }
    }

    static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            // not the jars the class loader opens at its first class from each (a test under load
            // may take a path, and so a jar, it did not take before): those are the JVM's, never a leak
            return fds.filter(fd -> {
                try {
                    return !Files.readSymbolicLink(fd).toString().endsWith(".jar");
                } catch (IOException e) {
                    return false; // closed meanwhile
                }
            }).count();
        }
    }

    /**
     * Live threads, except pools whose threads come and go by themselves: the library's completion
     * pool (a thread per completion in flight, an idle one ends after 60 s, never one per sandbox)
     * and the JDK's process reapers (one per live {@link Process} other tests started, ending with
     * them). Other pools' idle threads may end meanwhile (the common fork-join pool's do), so compare
     * with "at most".
     */
    static int threads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !t.getName().startsWith("isolation-completion-") && !t.getName().equals("process reaper")).count();
    }

    /** The library's monitor threads: there is one, however many sandboxes there are. */
    static long monitorThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("isolation-monitor")).count();
    }

    /** The stdout of a program that must end {@link Outcome.Status#OK} within {@link Bounded#WAIT}. */
    static String run(Sandbox sandbox, String... command) throws Exception {
        return Bounded.ok(sandbox, command);
    }
}
