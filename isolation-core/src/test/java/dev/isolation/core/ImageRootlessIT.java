package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.image.ImageFixture;
import dev.isolation.core.image.ImageFixture.Compression;
import dev.isolation.core.image.OciImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Images used by an ordinary user: a JVM running as {@code nobody} unpacks an image into its own
 * cache (whiteouts as 0:0 devices, opaque directories as {@code user.overlay.opaque}) and runs
 * sandboxes on it in a user namespace, overlayfs mounted with {@code userxattr} (Linux 5.11+):
 * layers stacked, writes gone with the sandbox, the cache unchanged.
 */
@KernelTest
class ImageRootlessIT {
    @Test
    @Timeout(300)
    void aJvmRunningAsNobodyRunsSandboxesOnAnImage() throws Exception {
        Skip.unless(KernelVersion.atLeast(5, 11), "overlayfs in a user namespace (Linux 5.11+; this is " + System.getProperty("os.version") + ")");
        Path dir = Files.createTempDirectory("isolation-image-rootless");
        try {
            List<String> classpath = NobodyClassPath.copyInto(dir);
            Path home = Files.createDirectory(dir.resolve("home"));
            Files.setAttribute(home, "unix:uid", 65534);
            Files.setAttribute(home, "unix:gid", 65534);
            Process p = new ProcessBuilder(
                    JavaCommand.after(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                        "-Duser.home=" + home, "-cp", String.join(File.pathSeparator, classpath), Probe.class.getName(),
                        home.toString())).directory(home.toFile()).redirectErrorStream(true).start();
            java.util.concurrent.Future<String> output = Bounded.drain(p.getInputStream());
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the probe JVM ended").isTrue();
            String out = Bounded.get(output, "the probe's output");
            assertThat(out).as(out).doesNotContain("FAIL");
            assertThat(out.lines().filter(l -> l.startsWith("PASS")).count()).as(out).isEqualTo(Probe.CHECKS);
            assertThat(p.exitValue()).isZero();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs as nobody; prints PASS or FAIL per check. */
    static final class Probe {
        static final long CHECKS = 6;

        public static void main(String[] args) throws Exception {
            Path home = Path.of(args[0]);
            ImageFixture.layout(home.resolve("layout"), "v1", ImageMountIT.layers(), Compression.ZSTD, ImageMountIT.config(""));
            // the default cache of an ordinary user: ~/.cache/isolation-images
            OciImage image = OciImage.open(home.resolve("layout"), "v1");
            Path cache = home.resolve(".cache/isolation-images");
            report("the layers were unpacked into the user's own cache", image.layerDirectories().stream().allMatch(l -> l.startsWith(cache)),
                    image.layerDirectories().toString());
            Sandbox box = Sandbox.builder().userNs().pidNs().mountNs().utsNs().ipcNs().netNs().image(image).build();
            check("the layers are stacked, whiteouts and opaque directories honoured", box,
                    "cat /etc/added /usr/share/hello; ls /opt/app; test -e /etc/motd && echo motd; id -u",
                    out -> out.equals("added by layer 2\nhello from layer 3\nconfig\n0\n"));
            String before = ImageMountIT.fingerprint(cache);
            check("the namespace's root writes everywhere in its own layer", box,
                    "for f in $(find / -xdev -type f); do echo pwned >> \"$f\"; done; rm -rf /bin/sh /etc /usr; mkdir /new; "
                            + "cat /opt/app/config",
                    out -> out.equals("v2\npwned\n"));
            report("the cache is unchanged after that run", ImageMountIT.fingerprint(cache).equals(before), "");
            check("the next sandbox sees the image as it was", box, "cat /etc/added /opt/app/config; ls /",
                    out -> out.equals("added by layer 2\nv2\nbin\ndata\ndev\netc\nopt\nproc\ntmp\nusr\n"));
            check("a directory of a lower layer removed and made again is empty (an opaque directory in the tmpfs upper layer)", box,
                    "rm -rf /opt/app && mkdir /opt/app && ls -A /opt/app | wc -l", out -> out.trim().equals("0"));
        }

        private static void check(String what, Sandbox sandbox, String script, Predicate<String> ok) {
            Outcome o = sandbox.run("/bin/busybox", "sh", "-c", script);
            report(what, o.status() == Outcome.Status.OK && ok.test(o.stdoutText()), o + " " + o.stdoutText() + " " + o.stderrText());
        }

        private static void report(String what, boolean passed, String detail) {
            System.out.println((passed ? "PASS " : "FAIL ") + what + (passed ? "" : ": " + detail));
        }
    }
}
