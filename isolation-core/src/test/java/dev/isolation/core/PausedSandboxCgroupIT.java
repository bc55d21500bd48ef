package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A paused (frozen) sandbox whose JVM dies is killed and removed all the same: frozen processes
 * die only when thawed, so the monitor thaws. Runs on this host and in the v1 and v2 guests.
 */
@KernelTest
class PausedSandboxCgroupIT {
    @Test
    @Timeout(300)
    void aPausedSandboxIsRemovedWhenItsJvmDies() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                PausedHolder.class.getName())).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()));
            String line = out.readLine();
            assertThat(line).as("the child JVM's report").startsWith("paused ");
            ProcessHandle program = ProcessHandle.of(Long.parseLong(line.substring(7).trim())).orElseThrow();
            List<Path> cgroups = Files.readAllLines(Path.of("/proc", Long.toString(program.pid()), "cgroup")).stream()
                    .filter(l -> l.contains("isolation-")).map(l -> CgroupPaths.directoryOf(l)).toList();
            assertThat(cgroups).isNotEmpty().allSatisfy(d -> assertThat(d).isDirectory());
            String state = Files.readString(Path.of("/proc", Long.toString(program.pid()), "stat"));
            List<ProcessHandle> helpers = jvm.toHandle().descendants().toList();
            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((Probe.running(program) || cgroups.stream().anyMatch(Files::exists)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            StringBuilder debug = new StringBuilder();
            for (ProcessHandle h : helpers) {
                try {
                    debug.append(h.pid()).append(' ').append(Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat")).split(" ")[2])
                            .append(' ').append(Files.readString(Path.of("/proc", Long.toString(h.pid()), "wchan"))).append('\n');
                } catch (java.io.IOException e) {
                    debug.append(h.pid()).append(" gone\n");
                }
            }
            for (Path c : cgroups) {
                for (String f : new String[] {"freezer.state", "cgroup.freeze", "cgroup.procs"}) {
                    if (Files.exists(c.resolve(f))) {
                        debug.append(c).append('/').append(f).append(": ").append(Files.readString(c.resolve(f)).trim()).append('\n');
                    }
                }
            }
            assertThat(Probe.running(program)).as("the paused program (%s) after its JVM's death; %s", state, debug).isFalse();
            assertThat(cgroups).as("its cgroups").noneMatch(Files::exists);
        } finally {
            jvm.destroyForcibly();
        }
    }

    /** The child JVM: a sandbox with a cgroup, paused. */
    static final class PausedHolder {
        public static void main(String[] args) throws Exception {
            IsolatedProcess p = Sandbox.builder().pidNs().cgroup().build().start("sleep", "1000");
            p.pause();
            System.out.println("paused " + p.pid());
            System.out.flush();
            p.waitFor();
        }
    }
}
