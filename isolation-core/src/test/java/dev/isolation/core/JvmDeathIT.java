package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A JVM with 20 live sandboxes of every kind (pid namespace or not, with a cgroup, session runs)
 * is killed with SIGKILL: within the bound the README states, every process and every cgroup of
 * them is gone, without another JVM's help.
 */
@KernelTest
class JvmDeathIT {
    /** The bound the README states. */
    static final long BOUND_MS = 1000;

    @Test
    @Timeout(300)
    void everythingIsGoneWithinOneSecondOfTheJvmsDeath() throws Exception {
        String marker = "1000." + System.nanoTime() % 1_000_000_000;
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                marker))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.equals("started")) {
                assertThat(line).as("the child JVM").doesNotContain("Exception");
            }
            assertThat(line).as("the child JVM started its sandboxes").isEqualTo("started");
            List<Long> programs = Probe.processesWith("sleep " + marker);
            assertThat(programs).hasSize(20);
            List<ProcessHandle> everything = new ArrayList<>(jvm.toHandle().descendants().toList());
            List<Path> cgroups = new ArrayList<>();
            for (long pid : programs) {
                for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                    if (l.contains("/isolation-")) {
                        Path dir = CgroupPaths.directoryOf(l);
                        if (!cgroups.contains(dir)) {
                            cgroups.add(dir);
                        }
                    }
                }
            }
            assertThat(cgroups).hasSizeGreaterThanOrEqualTo(14); // every sandbox but the session runs without limits

            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long died = System.nanoTime();
            while ((everything.stream().anyMatch(Probe::running) || cgroups.stream().anyMatch(Files::exists))
                    && System.nanoTime() - died < TimeUnit.SECONDS.toNanos(30)) {
                Thread.sleep(5);
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
            assertThat(everything.stream().filter(Probe::running).map(ProcessHandle::pid)).as("processes left").isEmpty();
            assertThat(cgroups.stream().filter(Files::exists)).as("cgroups left").isEmpty();
            assertThat(ms).as("everything gone %d ms after the JVM's death", ms).isLessThanOrEqualTo(BOUND_MS);
        } finally {
            jvm.destroyForcibly();
        }
    }

    /**
     * A run's cgroup is made by the JVM before the run's helper exists: a JVM killed in between
     * leaves it with no monitor of its own. The session's monitor removes it with the session's
     * cgroup (it used to stay, and keep the session's cgroup too: rmdir of a non-empty cgroup fails).
     */
    @Test
    @Timeout(120)
    void aRunsCgroupMadeBeforeItsHelperIsRemovedWithTheSession() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"),
                HalfStartedRun.class.getName()))
                .redirectErrorStream(true).start();
        List<Path> cgroups = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.equals("started")) {
                assertThat(line).as("the child JVM").doesNotContain("Exception");
                cgroups.add(Path.of(line));
            }
            assertThat(line).as("the child JVM made the run's cgroup").isEqualTo("started");
            assertThat(cgroups).as("the session's and the run's cgroup directories").hasSizeGreaterThanOrEqualTo(2)
                    .allMatch(Files::isDirectory);
            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long died = System.nanoTime();
            while (cgroups.stream().anyMatch(Files::exists) && System.nanoTime() - died < TimeUnit.SECONDS.toNanos(20)) {
                Thread.sleep(10);
            }
            assertThat(cgroups.stream().filter(Files::exists)).as("cgroups left").isEmpty();
        } finally {
            jvm.destroyForcibly();
            jvm.waitFor(30, TimeUnit.SECONDS);
            for (Path dir : cgroups.stream().sorted(Comparator.comparing(Path::getNameCount).reversed()).toList()) {
                Files.deleteIfExists(dir); // what a failure left: rmdir, deepest first
            }
        }
    }

    /** The child JVM: a session with a cgroup, and a run's cgroup in it whose helper never starts. */
    static final class HalfStartedRun {
        public static void main(String[] args) throws Exception {
            SandboxSession box = Sandbox.builder().pidNs().mountNs().minimalRoot().memoryLimit(ByteSize.mb(64)).build().open();
            dev.isolation.cgroups.SandboxCgroup session = box.cgroup().orElseThrow();
            // what a run's start does first (Launcher), then the JVM dies before it spawns the run's helper
            dev.isolation.cgroups.SandboxCgroup run = Launcher.createCgroup(
                    dev.isolation.cgroups.CgroupLimits.builder().pidsLimit(16).build(), java.util.Optional.empty(),
                    java.util.Optional.of(session));
            session.directories().forEach(System.out::println);
            run.directories().forEach(System.out::println);
            System.out.println("started");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /** The child JVM: 20 sandboxes of every kind running {@code sleep MARKER}. */
    static final class Holder {
        public static void main(String[] args) throws IOException, InterruptedException {
            String sleep = "sleep " + args[0];
            List<Object> keep = new ArrayList<>();
            Sandbox[] kinds = {Sandbox.builder().pidNs().mountNs().netNs().memoryLimit(ByteSize.mb(64)).build(),
                Sandbox.builder().pidsLimit(32).build(), Sandbox.builder().pidNs().cgroup().build()};
            for (int i = 0; i < 14; i++) {
                keep.add(kinds[i % kinds.length].start("sleep", args[0]));
            }
            for (int s = 0; s < 2; s++) {
                SandboxSession box = Sandbox.builder().pidNs().mountNs().minimalRoot().build().open();
                keep.add(box);
                for (int r = 0; r < 3; r++) {
                    keep.add(box.start(new ProcessBuilder("sleep", args[0])));
                }
            }
            while (Probe.processesWith(sleep).size() < 20) {
                Thread.sleep(5);
            }
            System.out.println("started");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
