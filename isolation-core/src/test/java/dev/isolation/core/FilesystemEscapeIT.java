package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks on the mount path: a rootfs or an earlier sandbox plants symlinks, FIFOs and swapped
 * sources so that the root-running helper would create or read files on the host. Each test
 * checks the host afterwards. Every host path involved is a temporary directory of the test.
 */
@KernelTest
class FilesystemEscapeIT {
    /** The sandbox's id: the host directories it may write are made writable for everyone. */
    private static final Sandbox BASE = Sandbox.builder().pidNs().mountNs().netNs().build();

    private static Outcome run(Sandbox sandbox, String script) {
        // bounded: a setup that blocks must fail the test, not hang the build
        return CompletableFuture.supplyAsync(() -> sandbox.run("/bin/sh", "-c", script)).orTimeout(60, TimeUnit.SECONDS).join();
    }

    private static String describe(Outcome o) {
        return o + ": " + o.message() + "; stdout: " + o.stdoutText() + "; stderr: " + o.stderrText();
    }

    private static Path worldWritableDir(Path p) throws IOException {
        Files.createDirectories(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        return p;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    @Timeout(120)
    void symlinksInARootfsCannotLeadMountsOntoTheHost(@TempDir Path tmp) throws Exception {
        Path victim = Files.createDirectory(tmp.resolve("victim"));
        Path rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        Files.createDirectory(rootfs.resolve("usr"));
        for (String l : new String[] {"bin", "lib", "lib64", "sbin"}) {
            Files.createSymbolicLink(rootfs.resolve(l), Path.of("usr/" + l));
        }
        // a malicious image: "a" leads to the host directory as the helper saw it while assembling the root
        Files.createSymbolicLink(rootfs.resolve("a"), Path.of("/oldroot" + victim));
        Files.createSymbolicLink(rootfs.resolve("b"), victim);
        Path file = Files.writeString(tmp.resolve("file"), "bound file\n");
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        List<String> before = names(rootfs);

        Sandbox onRootfs = BASE.toBuilder().rootfs(rootfs).bind(Path.of("/usr"), "/usr").build();
        Sandbox[] attacks = {onRootfs.toBuilder().bind(file, "/a/x").build(), onRootfs.toBuilder().bind(dir, "/a/y").build(),
            onRootfs.toBuilder().tmpfs("/a/z", dev.isolation.cgroups.ByteSize.mb(1)).build(),
            onRootfs.toBuilder().bind(file, "/b/x").build()};
        for (Sandbox attack : attacks) {
            Outcome o = run(attack, "true");
            // inside the new root the links lead nowhere: refused, naming the mount point
            assertThat(o.status()).as(describe(o)).isEqualTo(Outcome.Status.SETUP_FAILED);
            assertThat(o.message()).contains("symlink").containsAnyOf("\"/a/x\"", "\"/a/y\"", "\"/a/z\"", "\"/b/x\"");
        }
        assertThat(run(onRootfs, "ls /a/ /b/ 2>&1; echo done").stdoutText()).endsWith("done\n");
        assertThat(names(victim)).as("nothing may be created in the host directory").isEmpty();
        assertThat(names(rootfs)).as("nothing may be created in the rootfs").isEqualTo(before).doesNotContain("dev", "proc", "tmp");
        assertThat(names(rootfs.resolve("usr"))).isEmpty();
    }

    @Test
    @Timeout(120)
    void aRootfsGetsItsOwnDevProcAndTmpAndMissingMountPointsUnderItAreErrors(@TempDir Path tmp) throws Exception {
        Path rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        Files.createDirectory(rootfs.resolve("usr"));
        Files.createDirectory(rootfs.resolve("opt"));
        Files.writeString(rootfs.resolve("marker"), "from the rootfs\n");
        for (String l : new String[] {"bin", "lib", "lib64", "sbin"}) {
            Files.createSymbolicLink(rootfs.resolve(l), Path.of("usr/" + l));
        }
        Sandbox s = BASE.toBuilder().rootfs(rootfs).bind(Path.of("/usr"), "/usr").build();
        Outcome o = run(s, "cat /marker; ls -d /dev/null /proc/self /tmp; echo x > /tmp/x && echo tmp-writable; touch /opt/y || echo ro");
        assertThat(o.status()).as(describe(o)).isEqualTo(Outcome.Status.OK);
        assertThat(o.stdoutText()).contains("from the rootfs", "/dev/null", "/proc/self", "tmp-writable", "ro");
        assertThat(names(rootfs)).containsExactly("bin", "lib", "lib64", "marker", "opt", "sbin", "usr");

        // a mount point the rootfs lacks below one of its directories is not created in it
        Outcome missing = BASE.toBuilder().rootfs(rootfs).bind(Path.of("/usr"), "/usr").bind(tmp, "/opt/data").build().run("true");
        assertThat(missing.status()).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(missing.message()).contains("/opt/data").contains("missing");
        assertThat(names(rootfs.resolve("opt"))).isEmpty();
    }

    @Test
    @Timeout(120)
    void aSandboxCannotRedirectALaterRunsMountPointOntoTheHost(@TempDir Path tmp) throws Exception {
        Path victim = Files.createDirectory(tmp.resolve("victim"));
        Path w = worldWritableDir(tmp.resolve("w"));
        worldWritableDir(w.resolve("sub"));
        Files.writeString(w.resolve("sub/f"), "");
        Path f = Files.writeString(tmp.resolve("f"), "bound\n");
        Sandbox s = BASE.toBuilder().bindWritable(w, "/w").bind(f, "/w/sub/f").build();

        Outcome first = run(s, "cat /w/sub/f && mv /w/sub /w/old && ln -s /oldroot" + victim + " /w/sub && echo planted");
        assertThat(first.stdoutText()).as(describe(first)).contains("bound", "planted");
        assertThat(Files.isSymbolicLink(w.resolve("sub"))).isTrue();

        Outcome second = run(s, "cat /w/sub/f");
        assertThat(names(victim)).as("the innocent run must not create anything on the host").isEmpty();
        // the symlink resolves inside the sandbox's root, where it leads nowhere: refused, naming the mount point
        assertThat(second.status()).as(describe(second)).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(second.message()).contains("/w/sub/f").contains("symlink");

        // a symlink that resolves inside the root is followed there: onto the sandbox's own /tmp, not the host's
        String name = "isolation-test-" + System.nanoTime();
        Files.delete(w.resolve("sub"));
        Files.createSymbolicLink(w.resolve("sub"), Path.of("/tmp"));
        Outcome third = run(BASE.toBuilder().bindWritable(w, "/w").bind(f, "/w/sub/" + name).build(), "cat /tmp/" + name);
        assertThat(third.status()).as(describe(third)).isEqualTo(Outcome.Status.OK);
        assertThat(third.stdoutText()).isEqualTo("bound\n");
        assertThat(Files.exists(Path.of("/tmp", name), LinkOption.NOFOLLOW_LINKS)).as("the host's /tmp is untouched").isFalse();
    }

    @Test
    @Timeout(120)
    void aBindSourceSwappedForASymlinkIsRefused(@TempDir Path tmp) throws Exception {
        Path w = worldWritableDir(tmp.resolve("w"));
        Path pub = worldWritableDir(w.resolve("pub"));
        Files.writeString(pub.resolve("index"), "public\n");
        Sandbox s = BASE.toBuilder().bindWritable(w, "/w").bind(pub, "/pub").build();

        Outcome first = run(s, "cat /pub/index && rm -rf /w/pub && ln -s /etc /w/pub && echo swapped");
        assertThat(first.stdoutText()).as(describe(first)).contains("public", "swapped");
        assertThat(Files.readSymbolicLink(w.resolve("pub"))).isEqualTo(Path.of("/etc"));

        Outcome second = run(s, "cat /pub/passwd");
        assertThat(second.status()).as(describe(second)).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(second.message()).contains(pub.toString()).contains("symlink");
        assertThat(second.stdoutText()).doesNotContain("root:");

        // the same for a rootfs whose path an earlier step replaced by a symlink to the host's /
        Path rootfs = worldWritableDir(w.resolve("rootfs"));
        Sandbox onRootfs = BASE.toBuilder().rootfs(rootfs).build();
        Files.delete(rootfs);
        Files.createSymbolicLink(rootfs, Path.of("/"));
        Outcome third = run(onRootfs, "cat /etc/passwd");
        assertThat(third.status()).as(describe(third)).isEqualTo(Outcome.Status.SETUP_FAILED);
        assertThat(third.stdoutText()).doesNotContain("root:");
    }

    @Test
    @Timeout(120)
    void aFifoOrSocketAtAMountTargetIsRefusedPromptly(@TempDir Path tmp) throws Exception {
        Path w = worldWritableDir(tmp.resolve("w"));
        Path f = Files.writeString(tmp.resolve("f"), "bound\n");
        Process mkfifo = new ProcessBuilder("mkfifo", w.resolve("target").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThat(Files.isRegularFile(w.resolve("target"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        Sandbox s = BASE.toBuilder().bindWritable(w, "/w").bind(f, "/w/target").build();

        for (int i = 0; i < 2; i++) { // every later setup too: nothing blocks
            Outcome o = run(s, "cat /w/target");
            assertThat(o.status()).as(describe(o)).isEqualTo(Outcome.Status.SETUP_FAILED);
            assertThat(o.message()).contains("/w/target").contains("FIFO");
        }
        assertThat(Probe.processesWith(w.toString())).isEmpty();
    }

    @Test
    @Timeout(120)
    void devIsReadOnlyEvenForRootInAUserNamespaceSession(@TempDir Path tmp) throws Exception {
        Sandbox s = Sandbox.builder().userNs().pidNs().mountNs().minimalRoot().build();
        try (SandboxSession box = s.open()) {
            Outcome first = box.run(new ProcessBuilder("/bin/sh", "-c",
                    "id -u; ln -sf /box/captured /dev/stdout; echo $?; touch /dev/evil; echo $?"), new byte[0]);
            assertThat(first.stdoutText().lines().toList()).as(describe(first)).containsExactly("0", "1", "1");
            assertThat(first.stderrText()).contains("Read-only file system");
            Outcome second = box.run(new ProcessBuilder("/bin/sh", "-c", "echo secret-output; ls /box"), new byte[0]);
            assertThat(second.stdoutText()).isEqualTo("secret-output\n"); // nothing redirected into /box/captured
        }
    }
}
