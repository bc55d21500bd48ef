package dev.isolation.examples.scale;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Worker JVMs ({@code isolation judge-worker}) this test started, and everything they started:
 * their process trees, sampled, and the cgroups under this JVM's own cgroups (where theirs are,
 * as children of this JVM). {@link #close()} kills whatever is left of them.
 */
final class Workers implements AutoCloseable {
    private static final Pattern SANDBOX_CGROUP = Pattern.compile("isolation-(\\d+)-\\d+");
    private static final Pattern STARTED = Pattern.compile("judge-worker (\\S+): pool .*");

    /** One worker JVM: its process, its id in the queue, its log. */
    record Worker(Process process, String id, Path log) {
        String logText() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    private final Path dir;
    private final List<Worker> started = new ArrayList<>();
    private final Set<ProcessHandle> seen = new HashSet<>();

    Workers(Path dir) {
        this.dir = dir;
    }

    /** Starts {@code judge-worker ARGS...} and waits until it has connected and logged its id. */
    Worker start(String... args) throws IOException, InterruptedException {
        Path log = dir.resolve("worker-" + started.size() + ".log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // the README's flags for the library on Java 22+ (accepted by 17 too): no warning before the worker's first line
                "--enable-native-access=ALL-UNNAMED", "-Djffi.unsafe.disabled=true", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "dev.isolation.examples.cli.IsolationCli", "judge-worker"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Matcher m = STARTED.matcher(Files.readString(log).lines().findFirst().orElse(""));
            if (m.matches()) {
                Worker w = new Worker(p, m.group(1), log);
                started.add(w);
                return w;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("the worker exited with " + p.exitValue() + ": " + Files.readString(log));
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IllegalStateException("the worker did not start within 120 s: " + Files.readString(log));
    }

    /** Records the workers' descendants now (sandboxes' helpers and programs), to check later that they are gone. */
    void sample() {
        for (Worker w : started) {
            seen.add(w.process().toHandle());
            w.process().toHandle().descendants().forEach(seen::add);
        }
    }

    /** Every process of theirs seen still alive (zombies count as gone). */
    List<ProcessHandle> processesLeft() {
        return seen.stream().filter(Workers::running).toList();
    }

    /**
     * Sandbox cgroups of these workers that still exist: under this JVM's cgroup in every
     * hierarchy (theirs, as its children), named {@code isolation-PID-N} after the JVM that made them.
     */
    List<Path> cgroupsLeft() throws IOException {
        Set<String> pids = new HashSet<>();
        started.forEach(w -> pids.add(Long.toString(w.process().pid())));
        return ownIsolationCgroups().stream().filter(p -> {
            Matcher m = SANDBOX_CGROUP.matcher(p.getFileName().toString());
            return m.matches() && pids.contains(m.group(1));
        }).toList();
    }

    /** Waits up to {@code seconds} until no process and no cgroup of theirs is left. */
    void awaitNothingLeft(int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while ((!processesLeft().isEmpty() || !cgroupsLeft().isEmpty()) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    static boolean running(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException gone) {
            return false;
        }
    }

    /** Directories named *isolation* under each hierarchy's directory of this JVM's cgroup. */
    static Set<Path> ownIsolationCgroups() throws IOException {
        Set<Path> found = new HashSet<>();
        for (Path own : ownCgroupDirectories()) {
            if (!Files.isDirectory(own)) {
                continue;
            }
            Files.walkFileTree(own, java.util.EnumSet.noneOf(java.nio.file.FileVisitOption.class), 4,
                    new java.nio.file.SimpleFileVisitor<>() {
                        @Override
                        public java.nio.file.FileVisitResult preVisitDirectory(Path d,
                                java.nio.file.attribute.BasicFileAttributes a) {
                            if (!d.equals(own) && d.getFileName().toString().contains("isolation")) {
                                found.add(d);
                            }
                            return java.nio.file.FileVisitResult.CONTINUE;
                        }

                        @Override
                        public java.nio.file.FileVisitResult visitFileFailed(Path f, IOException e) {
                            // removed while we walked: gone, which is what we look for
                            return java.nio.file.FileVisitResult.CONTINUE;
                        }
                    });
        }
        return found;
    }

    /** This JVM's cgroup in every hierarchy mounted at its root, from /proc/self/cgroup and /proc/self/mountinfo. */
    private static List<Path> ownCgroupDirectories() throws IOException {
        List<Path> dirs = new ArrayList<>();
        List<String[]> mounts = new ArrayList<>();
        for (String m : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = m.split(" - ", 2);
            String[] fields = halves[0].split(" ");
            String[] tail = halves[1].split(" ");
            if ((tail[0].equals("cgroup") || tail[0].equals("cgroup2")) && fields[3].equals("/")) {
                mounts.add(new String[] {tail[0], fields[4], tail.length > 2 ? tail[2] : ""});
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            for (String[] m : mounts) {
                boolean v2 = m[0].equals("cgroup2") && f[0].equals("0");
                boolean v1 = m[0].equals("cgroup") && !f[1].isEmpty()
                        && List.of(m[2].split(",")).containsAll(List.of(f[1].split(",")));
                if (v2 || v1) {
                    dirs.add(Path.of(m[1] + f[2]));
                }
            }
        }
        return dirs;
    }

    /** Kills (SIGKILL) every worker this started that is still running, and waits for it. */
    @Override
    public void close() {
        for (Worker w : started) {
            w.process().destroyForcibly();
        }
        try {
            for (Worker w : started) {
                w.process().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
