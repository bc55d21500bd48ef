package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one kill-and-remove algorithm on fixture files, no root: a child process of this test stands
 * for the cgroup's process, and the fixture empties the procs file once it is gone, as the kernel
 * would.
 */
class RemoverTest {
    @TempDir
    Path root;

    private Process sleeper(Path procs) throws IOException {
        Process p = new ProcessBuilder("sleep", "300").start();
        Files.writeString(procs, p.pid() + "\n");
        p.onExit().thenRun(() -> {
            try {
                Files.writeString(procs, "");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return p;
    }

    @Test
    @Timeout(60)
    void withoutAKillFileItThawsSignalsEveryListedPidThawsAgainAndRemovesInOrder() throws Exception {
        Path procs = root.resolve("procs");
        Path state = Files.writeString(root.resolve("freezer.state"), "FROZEN");
        Path outer = Files.createDirectories(root.resolve("box"));
        Path inner = Files.createDirectories(outer.resolve("run"));
        Process p = sleeper(procs);
        Teardown t = new Teardown(Optional.empty(), List.of(new Freezer(state, "FROZEN", "THAWED")), List.of(procs),
                List.of(inner, outer));
        Remover.killAndRemove(t, Duration.ofSeconds(30));
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("SIGKILL").isEqualTo(128 + 9);
        assertThat(Files.readString(state).strip()).as("left thawed").isEqualTo("THAWED");
        assertThat(inner).doesNotExist();
        assertThat(outer).doesNotExist();
    }

    @Test
    @Timeout(60)
    void withAKillFileItWritesOneAndWaitsUntilNothingIsListed() throws Exception {
        Path procs = root.resolve("procs");
        Path kill = Files.writeString(root.resolve("kill"), "");
        Path dir = Files.createDirectories(root.resolve("box"));
        Process p = sleeper(procs);
        Teardown t = new Teardown(Optional.of(kill), List.of(), List.of(procs), List.of(dir));
        Thread kernel = new Thread(() -> {
            // the fixture's kernel: a write of 1 to the kill file kills the cgroup
            try {
                while (!Files.readString(kill).strip().equals("1")) {
                    Thread.sleep(2);
                }
                p.destroyForcibly();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        kernel.start();
        Remover.killAndRemove(t, Duration.ofSeconds(30));
        kernel.join();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(dir).doesNotExist();
    }

    @Test
    void aDirectoryAlreadyGoneCountsAsRemoved() throws Exception {
        Teardown t = new Teardown(Optional.empty(), List.of(), List.of(root.resolve("gone/procs")), List.of(root.resolve("gone")));
        Remover.killAndRemove(t, Duration.ofSeconds(1));
    }

    @Test
    void itRefusesToKillTheCgroupThisJvmIsIn() throws Exception {
        Path procs = Files.writeString(root.resolve("procs"), ProcessHandle.current().pid() + "\n");
        Teardown t = new Teardown(Optional.empty(), List.of(), List.of(procs), List.of());
        assertThatThrownBy(() -> Remover.kill(t, Duration.ofSeconds(1)))
                .isInstanceOf(CgroupException.class).hasMessageContaining("it contains this JVM");
    }

    @Test
    @Timeout(60)
    void aDirectoryThatStaysBusyFailsAfterThePatienceNamingIt() throws Exception {
        Path dir = Files.createDirectories(root.resolve("busy"));
        Files.writeString(dir.resolve("a-file"), "x"); // rmdir: ENOTEMPTY, not EBUSY: an error at once
        Teardown t = new Teardown(Optional.empty(), List.of(), List.of(), List.of(dir));
        assertThatThrownBy(() -> Remover.killAndRemove(t, Duration.ofSeconds(1)))
                .isInstanceOf(CgroupException.class).hasMessageContaining("rmdir(" + dir + ")");
    }
}
