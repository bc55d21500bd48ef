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

    static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    static int threads() {
        return Thread.getAllStackTraces().size();
    }

    static String run(Sandbox sandbox, String... command) throws Exception {
        try (IsolatedProcess p = sandbox.start(command)) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            Outcome o = p.outcome().join();
            if (o.status() != Outcome.Status.OK) {
                throw new AssertionError("sandboxed " + String.join(" ", command) + " ended " + o + ": " + err);
            }
            return out;
        }
    }
}
