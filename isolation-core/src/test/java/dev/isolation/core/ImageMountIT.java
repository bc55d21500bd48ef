package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.image.ImageFixture;
import dev.isolation.core.image.ImageFixture.Compression;
import dev.isolation.core.image.ImageFixture.Tar;
import dev.isolation.core.image.OciImage;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Sandboxes on an image: its layers are stacked by overlayfs (whiteouts and opaque directories
 * honoured), each sandbox writes into a size-limited tmpfs of its own that vanishes with it, the
 * unpacked layers are byte-for-byte the same after a run that writes everywhere it can, and the
 * image config's defaults apply unless the builder overrides them.
 */
@KernelTest
class ImageMountIT {
    private static Path work;
    private static Path cache;
    private static OciImage image;

    /** Three layers: busybox and a little tree; a whiteout, an opaque directory and a changed file; one more file. */
    static List<byte[]> layers() throws IOException {
        byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
        byte[] base = new Tar().dir("bin", 0755).file("bin/busybox", 0755, busybox).symlink("bin/sh", "busybox").dir("etc", 0755)
                .file("etc/motd", 0644, "motd of layer 1\n").file("etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
                .file("etc/group", 0644, "root:x:0:\napp:x:1001:\n").dir("opt/app", 0755).file("opt/app/old", 0644, "old\n")
                .file("opt/app/config", 0644, "v1\n").dir("data", 0777).file("data/keep", 0644, "keep\n").bytes();
        byte[] second = new Tar().dir("etc", 0755).file("etc/.wh.motd", 0644, "").dir("opt/app", 0755)
                .file("opt/app/.wh..wh..opq", 0644, "").file("opt/app/config", 0644, "v2\n").file("etc/added", 0644, "added by layer 2\n").bytes();
        byte[] third = new Tar().dir("usr/share", 0755).file("usr/share/hello", 0644, "hello from layer 3\n").bytes();
        return List.of(base, second, third);
    }

    static UnaryOperator<JsonObject> config(String user) {
        return c -> {
            JsonObject cfg = new JsonObject();
            JsonArray env = new JsonArray();
            env.add("PATH=/bin");
            env.add("FOO=from-image");
            cfg.add("Env", env);
            cfg.addProperty("WorkingDir", "/opt/app");
            if (!user.isEmpty()) {
                cfg.addProperty("User", user);
            }
            JsonArray cmd = new JsonArray();
            cmd.add("sh");
            cmd.add("-c");
            cmd.add("echo $FOO; pwd; id -u; id -g");
            cfg.add("Cmd", cmd);
            c.add("config", cfg);
            return c;
        };
    }

    @BeforeAll
    static void image() throws IOException {
        work = Files.createTempDirectory("isolation-image-mount");
        cache = work.resolve("cache");
        ImageFixture.layout(work.resolve("layout"), "v1", layers(), Compression.GZIP, config(""));
        image = OciImage.reader().cache(cache).open(work.resolve("layout"), "v1");
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (Stream<Path> all = Files.walk(work)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> {
                f.toFile().setWritable(true);
                f.toFile().delete();
            });
        }
    }

    private static Sandbox.Builder box() {
        return Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().image(image);
    }

    @Test
    @Timeout(120)
    void theLayersAreStackedTheOverlayfsWay() throws Exception {
        String out = Bounded.ok(box().build(), "sh", "-c",
                "cat /etc/added /usr/share/hello /opt/app/config; ls /opt/app; test -e /etc/motd && echo motd still there; cat /data/keep");
        assertThat(out).isEqualTo("added by layer 2\nhello from layer 3\nv2\nconfig\nkeep\n");
    }

    @Test
    @Timeout(180)
    void writesVanishWithTheSandboxAndTheImageStaysUntouched() throws Exception {
        String before = fingerprint(cache);
        // as uid 0 of the host (no capabilities): every file and directory of the image is its own
        Sandbox root = box().runAs(0, 0).build();
        String script = "for f in $(find / -xdev -type f); do echo pwned >> \"$f\"; chmod 777 \"$f\"; done; "
                + "for d in $(find / -xdev -type d); do touch \"$d/planted\"; chmod 777 \"$d\"; done; "
                + "rm -rf /bin/sh /etc/added /opt /data/keep; mkdir -p /new/dir; echo x > /new/dir/f; ln -s /etc /data/link; "
                + "mv /usr/share/hello /hello; cat /etc/passwd | tail -1; ls /opt 2>&1 | head -1";
        String out = Bounded.ok(root, "/bin/busybox", "sh", "-c", script);
        assertThat(out).as("the writes happened inside").contains("pwned").contains("No such file or directory");
        assertThat(fingerprint(cache)).as("the unpacked layers after the run").isEqualTo(before);
        // the next sandbox sees the image as it was
        assertThat(Bounded.ok(box().build(), "sh", "-c", "cat /etc/added /opt/app/config /usr/share/hello; ls / | tr '\\n' ' '"))
                .isEqualTo("added by layer 2\nv2\nhello from layer 3\nbin data dev etc opt proc tmp usr ");
    }

    @Test
    @Timeout(120)
    void theWritableLayerIsSizeLimited() throws Exception {
        Sandbox small = box().runAs(0, 0).tmpSize(ByteSize.mb(4)).build();
        String out = Bounded.ok(small, "sh", "-c", "head -c 8388608 /dev/zero > /big; echo status $?; stat -c %s /big");
        assertThat(out).startsWith("status 1").contains(Long.toString(4L << 20));
    }

    @Test
    @Timeout(120)
    void procDevTmpAndBindsAreTheSandboxesOwn() throws Exception {
        Path host = Files.createDirectories(work.resolve("host-dir"));
        Files.writeString(host.resolve("file"), "host\n");
        Files.setPosixFilePermissions(host, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Sandbox s = box().runAs(0, 0).bind(host, "/mnt/host").build();
        String out = Bounded.ok(s, "sh", "-c", "ls /dev | tr '\\n' ' '; echo; for m in / /proc /tmp /dev; do "
                + "grep \" $m \" /proc/mounts | cut -d' ' -f3; done; [ $(ls /proc | grep -c '^[0-9]') -lt 10 ] && echo few processes; cat /mnt/host/file; "
                + "echo x > /mnt/host/new 2>/dev/null || echo read-only");
        assertThat(out.lines().toList()).as(out).containsExactly("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ",
                "overlay", "proc", "tmpfs", "tmpfs", "few processes", "host", "read-only");
        assertThat(host.resolve("new")).doesNotExist();
        try (Stream<Path> l = Files.list(image.layerDirectories().get(0))) {
            assertThat(l.map(p -> p.getFileName().toString())).as("no mount point made in the image").doesNotContain("mnt", "proc", "dev", "tmp");
        }
    }

    @Test
    @Timeout(120)
    void theConfigGivesTheDefaultsAndTheBuilderOverridesThem() throws Exception {
        Path layout = work.resolve("layout-user");
        ImageFixture.layout(layout, "v1", layers(), Compression.GZIP, config("app"));
        OciImage withUser = OciImage.reader().cache(cache).open(layout, "v1");
        Sandbox s = Sandbox.builder().pidNs().mountNs().netNs().image(withUser).build();
        assertThat(Bounded.ok(s)).as("Cmd, Env, WorkingDir and User of the image").isEqualTo("from-image\n/opt/app\n1000\n1001\n");
        Sandbox overridden = s.toBuilder().env("FOO", "from-builder").runAs(2000, 2002).build();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "echo $FOO; pwd; id -u; id -g; echo $PATH").directory(new File("/tmp"));
        Bounded.Result r = Bounded.run(overridden, pb);
        assertThat(r.out()).as(r.err()).isEqualTo("from-builder\n/tmp\n2000\n2002\n/bin\n");
        Sandbox entry = s.toBuilder().entrypoint(List.of("/bin/busybox", "echo")).build();
        assertThat(Bounded.ok(entry, "given")).isEqualTo("given\n");
        assertThat(Bounded.ok(entry)).as("a replaced entrypoint drops the image's Cmd").isEqualTo("\n");
        Sandbox none = s.toBuilder().entrypoint(List.of()).build();
        assertThatThrownBy(() -> Bounded.ok(none)).hasMessageContaining("has no Entrypoint or Cmd");
    }

    /**
     * A session's run with limits of its own runs on the session's image as its own runs do: the
     * image's Env under the limits' variables, its User unless the limits say runAs.
     */
    @Test
    @Timeout(120)
    void aSessionRunWithItsOwnLimitsHasTheImagesUserAndEnvAsTheSessionsOwnRunsDo() throws Exception {
        Path layout = work.resolve("layout-session-user");
        ImageFixture.layout(layout, "v1", layers(), Compression.GZIP, config("app"));
        OciImage withUser = OciImage.reader().cache(cache).open(layout, "v1");
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "echo $FOO $BAR; id -u; id -g; echo $PATH");
        try (SandboxSession session = Sandbox.builder().pidNs().mountNs().netNs().image(withUser).build().open()) {
            Outcome own = session.run(pb, new byte[0]);
            assertThat(own.stdoutText()).as(own + " " + own.stderrText()).isEqualTo("from-image\n1000\n1001\n/bin\n");
            Outcome limited = session.run(RunLimits.builder().memoryLimit(ByteSize.mb(64)).env("BAR", "from-limits").build(), pb,
                    new byte[0]);
            assertThat(limited.stdoutText()).as(limited + " " + limited.stderrText()).isEqualTo("from-image from-limits\n1000\n1001\n/bin\n");
            Outcome other = session.run(RunLimits.builder().env("FOO", "from-limits").runAs(2000, 2002).build(), pb, new byte[0]);
            assertThat(other.stdoutText()).as(other + " " + other.stderrText()).isEqualTo("from-limits\n2000\n2002\n/bin\n");
        }
    }

    @Test
    @Timeout(60)
    void contradictionsAreRefusedWhenBuilt() {
        assertThatThrownBy(() -> box().rootfs(work).build()).isInstanceOf(IllegalStateException.class).hasMessageContaining("choose one root");
        assertThatThrownBy(() -> box().userNs().build(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("drop userNs()");
        assertThatThrownBy(() -> Sandbox.builder().pidNs().image(image).build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("needs mountNs()");
    }

    /** Every path of a tree with its type, mode, owner, size, times, content digest, link target and xattrs; nothing followed. */
    static String fingerprint(Path root) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                StringBuilder b = new StringBuilder();
                b.append(Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)).append(' ')
                        .append(Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)).append(' ')
                        .append(Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS)).append(' ')
                        .append(Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS)).append(' ')
                        .append(Files.getAttribute(p, "unix:ctime", LinkOption.NOFOLLOW_LINKS)).append(' ')
                        .append(a.size()).append(' ').append(a.lastModifiedTime());
                if (a.isRegularFile()) {
                    b.append(' ').append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                } else if (a.isSymbolicLink()) {
                    b.append(" -> ").append(Files.readSymbolicLink(p));
                }
                if (a.isDirectory() || a.isRegularFile()) {
                    UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                    for (String name : v.list()) {
                        ByteBuffer buf = ByteBuffer.allocate(v.size(name));
                        v.read(name, buf);
                        b.append(" user.").append(name).append('=').append(new String(buf.array(), StandardCharsets.ISO_8859_1));
                    }
                }
                out.put(root.relativize(p).toString(), b.toString());
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return String.join("\n", out.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList());
    }
}
