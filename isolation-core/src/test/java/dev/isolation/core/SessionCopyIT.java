package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SandboxSession#copyIn} and {@link SandboxSession#copyOut}: files in and out of a
 * persistent {@code /box}, and a sandbox that plants symbolic links (absolute ones naming host
 * paths, which a copy through {@code /proc/PID/root} that followed them would resolve on the host)
 * and FIFOs at and above the target. The host's files are checked afterwards.
 */
@KernelTest
class SessionCopyIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mib(64)).build();
    private static final SandboxSession.Options PERSISTENT = SandboxSession.Options.builder().persistentWorkDir().build();

    private Path host;

    @BeforeEach
    void hostFiles() throws Exception {
        host = Files.createTempDirectory("isolation-copy-it-");
        Files.setPosixFilePermissions(host, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(host.resolve("secret"), "host-secret\n");
        Files.writeString(host.resolve("victim"), "host-victim\n");
    }

    @AfterEach
    void removeHostFiles() throws Exception {
        try (Stream<Path> s = Files.walk(host)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    private static String run(SandboxSession s, String script) {
        Outcome o = s.run(sh(script), new byte[0]);
        assertThat(o.status()).as(o + " " + o.stderrText()).isEqualTo(Outcome.Status.OK);
        return o.stdoutText();
    }

    @Test
    @Timeout(120)
    void copyInAndCopyOutCarryFilesAcrossRunsLikeGoJudge() throws Exception {
        try (SandboxSession s = JUDGE.open(PERSISTENT)) {
            s.copyIn("int main(void) { return 0; }\n".getBytes(StandardCharsets.UTF_8), "src/main.c");
            Path script = host.resolve("run.sh");
            Files.writeString(script, "#!/bin/sh\necho ran\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
            s.copyIn(script, "/box/run.sh");
            assertThat(run(s, "cat /box/src/main.c; ./run.sh; stat -c %a run.sh src/main.c; echo result > out.txt"))
                    .isEqualTo("int main(void) { return 0; }\nran\n755\n644\n");
            assertThat(new String(s.copyOut("out.txt"), StandardCharsets.UTF_8)).isEqualTo("result\n");
            assertThat(s.copyOut("/box/src/main.c")).startsWith("int main".getBytes(StandardCharsets.UTF_8));
            assertThatThrownBy(() -> s.copyOut("missing.txt")).isInstanceOf(NoSuchFileException.class);
            // a run can overwrite what was copied in (the file is the runs' own)
            run(s, "echo changed > src/main.c");
            assertThat(s.copyOut("src/main.c")).isEqualTo("changed\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    @Timeout(120)
    void plantedLinksAndFifosNeitherLeadCopyOutToReadHostFilesNorCopyInToWriteThem() throws Exception {
        try (SandboxSession s = JUDGE.open(PERSISTENT)) {
            // absolute links name host paths: resolved from the host through /proc/PID/root they would be the host's
            run(s, "ln -s " + host.resolve("secret") + " out; ln -s " + host.resolve("victim") + " in;"
                    + " ln -s " + host + " dir; ln -s " + host.resolve("new") + " dangling;"
                    + " mkdir -p deep/a; ln -s ../../../../../../../../../.." + host + " deep/a/up;"
                    + " mkfifo fifo; mkdir sub; mkfifo sub/fifo; ln -s /proc/1/root root1");

            assertThatThrownBy(() -> s.copyOut("out")).isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link");
            assertThatThrownBy(() -> s.copyOut("dir/secret")).isInstanceOf(SandboxException.class).hasMessageContaining("/box/dir");
            assertThatThrownBy(() -> s.copyOut("deep/a/up/secret")).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("/box/deep/a/up");
            assertThatThrownBy(() -> s.copyOut("root1/etc/hostname")).isInstanceOf(SandboxException.class);
            // a FIFO is neither opened for long nor read: the copy fails at once
            assertThatThrownBy(() -> s.copyOut("fifo")).isInstanceOf(SandboxException.class).hasMessageContaining("not a regular file");
            assertThatThrownBy(() -> s.copyOut("sub/fifo")).isInstanceOf(SandboxException.class);
            assertThatThrownBy(() -> s.copyOut("sub")).isInstanceOf(SandboxException.class);

            assertThatThrownBy(() -> s.copyIn(bytes("evil"), "dir/written")).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("/box/dir");
            assertThatThrownBy(() -> s.copyIn(bytes("evil"), "deep/a/up/written")).isInstanceOf(SandboxException.class);
            assertThatThrownBy(() -> s.copyIn(bytes("evil"), "root1/tmp/written")).isInstanceOf(SandboxException.class);
            // a link or FIFO at the target is replaced by the file, never written through
            s.copyIn(bytes("in the box"), "in");
            s.copyIn(bytes("in the box"), "dangling");
            s.copyIn(bytes("in the box"), "fifo");
            assertThat(run(s, "for f in in dangling fifo; do [ -f $f ] && [ ! -L $f ] && cat $f; echo; done"))
                    .isEqualTo("in the box\nin the box\nin the box\n");

            // the host: nothing written, nothing created
            assertThat(Files.readString(host.resolve("secret"))).isEqualTo("host-secret\n");
            assertThat(Files.readString(host.resolve("victim"))).isEqualTo("host-victim\n");
            assertThat(host.resolve("written")).doesNotExist();
            assertThat(host.resolve("new")).doesNotExist();
            try (Stream<Path> files = Files.list(host)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("secret", "victim");
            }
            assertThat(Files.exists(Path.of("/tmp/written"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        }
    }

    @Test
    @Timeout(120)
    void pathsOutsideTheWorkDirectoryAndDotDotAreRejected() throws Exception {
        try (SandboxSession s = JUDGE.open(PERSISTENT)) {
            for (String bad : new String[] {"/etc/passwd", "/box", "/box/", "../etc/passwd", "a/../../etc", "a//b", "./a", ""}) {
                assertThatThrownBy(() -> s.copyOut(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> s.copyIn(bytes("x"), bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    @Timeout(120)
    void copiesAboveTheCopyLimitAreRefusedNotTruncated() throws Exception {
        SandboxSession.Options small = PERSISTENT.toBuilder().copyLimit(ByteSize.kib(64)).build();
        try (SandboxSession s = JUDGE.open(small)) {
            assertThatThrownBy(() -> s.copyIn(new byte[64 * 1024 + 1], "big")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("copy limit");
            run(s, "head -c 65537 /dev/zero > big; head -c 65536 /dev/zero > fits");
            assertThatThrownBy(() -> s.copyOut("big")).isInstanceOf(SandboxException.class).hasMessageContaining("copy limit");
            assertThat(s.copyOut("fits")).hasSize(64 * 1024);
        }
    }

    @Test
    @Timeout(120)
    void copyInAfterResetWorkDirFindsAnEmptyWorkDirectory() throws Exception {
        try (SandboxSession s = JUDGE.open(PERSISTENT)) {
            run(s, "mkdir -p old/deeper; echo old > old/deeper/file; ln -s /etc old/link; mkfifo old/fifo; echo x > top");
            s.resetWorkDir();
            assertThatThrownBy(() -> s.copyOut("top")).isInstanceOf(NoSuchFileException.class);
            s.copyIn(bytes("new"), "new.txt");
            assertThat(run(s, "ls -A /box")).isEqualTo("new.txt\n");
        }
    }

    @Test
    @Timeout(120)
    void copyNeedsAPersistentWorkDirectoryAndNoLiveRun() throws Exception {
        try (SandboxSession s = JUDGE.open()) {
            assertThatThrownBy(() -> s.copyIn(bytes("x"), "a")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("persistentWorkDir");
        }
        try (SandboxSession s = JUDGE.open(PERSISTENT); IsolatedProcess p = s.start(sh("sleep 30"))) {
            assertThatThrownBy(() -> s.copyOut("a")).isInstanceOf(IllegalStateException.class).hasMessageContaining("live");
            p.destroyForcibly();
            p.waitFor();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
