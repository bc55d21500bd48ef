package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A setup that cannot finish: the sandbox is created in a frozen cgroup v2 subtree, so its first
 * process never runs a step. Setup must fail at its deadline, and a JVM that dies meanwhile must
 * leave no helper, process or cgroup behind. Runs where the host is pure cgroup v2 (the CI's v2
 * guest): only v2's freezer lets SIGKILL through to a frozen process; on a hybrid or v1 host it is
 * skipped with that reason.
 */
@KernelTest
@RequiresLayout(CgroupLayout.UNIFIED) // v1's freezer holds SIGKILL too
class SetupDeadlineCgroupIT {
    private Path frozen;

    @BeforeEach
    void freezeAParent() throws IOException {
        frozen = Path.of("/sys/fs/cgroup/isolation-frozen-" + ProcessHandle.current().pid());
        Files.createDirectory(frozen);
        Files.writeString(frozen.resolve("cgroup.freeze"), "1");
    }

    @AfterEach
    void removeIt() throws Exception {
        if (frozen == null) {
            return;
        }
        Files.writeString(frozen.resolve("cgroup.freeze"), "0");
        try (Stream<Path> all = Files.walk(frozen)) {
            for (Path d : all.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(d);
            }
        }
    }

    private List<Path> sandboxCgroups() throws IOException {
        try (Stream<Path> s = Files.list(frozen)) {
            return s.filter(Files::isDirectory).toList();
        }
    }

    static Sandbox held(String parent, Duration timeout) {
        return Sandbox.builder().pidNs().mountNs().minimalRoot().cgroup().cgroupParent(Path.of(parent)).setupTimeout(timeout).build();
    }

    @Test
    @Timeout(300)
    void aSetupThatCannotFinishFailsAtItsDeadline() throws Exception {
        Sandbox s = held("/" + frozen.getFileName(), Duration.ofSeconds(2));
        long start = System.nanoTime();
        Outcome o = CompletableFuture.supplyAsync(() -> s.run("true")).orTimeout(240, TimeUnit.SECONDS).join();
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(o.status()).as("%s: %s", o, o.message()).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(o.message()).contains("setup").contains("did not finish within 2000 ms");
        assertThat(elapsedMs).isGreaterThanOrEqualTo(2000);
        assertThat(sandboxCgroups()).as("the sandbox's cgroup is removed").isEmpty();
    }

    @Test
    @Timeout(300)
    void aJvmThatDiesDuringSetupLeavesNothing() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                HeldStart.class.getName(), "/" + frozen.getFileName())).redirectErrorStream(true).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(200);
        while (sandboxCgroups().isEmpty() || procs(sandboxCgroups().get(0)).isEmpty()) {
            assertThat(jvm.isAlive()).as("the JVM started its sandbox").isTrue();
            assertThat(System.nanoTime()).as("the sandbox's process appeared").isLessThan(deadline);
            Thread.sleep(50);
        }
        List<ProcessHandle> helpers = jvm.toHandle().descendants().toList();
        assertThat(helpers).isNotEmpty();
        jvm.destroyForcibly().waitFor();

        long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // emulated guest: generous
        while ((!sandboxCgroups().isEmpty() || helpers.stream().anyMatch(Probe::running))
                && System.nanoTime() < gone) {
            Thread.sleep(50);
        }
        assertThat(helpers.stream().filter(Probe::running).map(ProcessHandle::pid))
                .as("helpers alive after the JVM's death").isEmpty();
        assertThat(sandboxCgroups()).as("the sandbox's cgroup is removed").isEmpty();
    }

    private static List<String> procs(Path cgroup) throws IOException {
        return Files.readAllLines(cgroup.resolve("cgroup.procs")).stream().filter(l -> !l.isBlank()).toList();
    }

    /** The child JVM: starts a sandbox whose setup is held, and waits. */
    static final class HeldStart {
        public static void main(String[] args) throws Exception {
            held(args[0], Duration.ofMinutes(10)).run("true");
        }
    }
}
