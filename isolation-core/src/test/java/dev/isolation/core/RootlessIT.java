package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.io.File;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library used by an ordinary user: a JVM running as {@code nobody} starts sandboxes with
 * user+pid+mount+uts+ipc+net namespaces and the minimal root, and the hostile attempts of
 * {@link EscapeIT} fail there too. cgroup limits fail closed with a message saying how to
 * delegate a subtree.
 */
@KernelTest
class RootlessIT {
    @Test
    void aJvmRunningAsNobodyGetsWorkingSandboxesAndNoWayOut() throws Exception {
        Path dir = Files.createTempDirectory("isolation-rootless");
        try (ServerSocket hostService = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            List<String> classpath = new ArrayList<>();
            int i = 0;
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path src = Path.of(entry);
                Path copy = dir.resolve(i++ + "-" + src.getFileName());
                if (Files.isDirectory(src)) {
                    copyTree(src, copy);
                } else if (Files.exists(src)) {
                    Files.copy(src, copy);
                }
                classpath.add(copy.toString());
            }
            makeReadableByAll(dir);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", java, "-Duser.home=" + dir, "-cp", String.join(File.pathSeparator, classpath),
                    RootlessProbe.class.getName(), Integer.toString(hostService.getLocalPort()))
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("PASS runs as root of its own user namespace, nobody outside")
                    .doesNotContain("FAIL");
            assertThat(out.lines().filter(l -> l.startsWith("PASS")).count()).as(out).isEqualTo(RootlessProbe.CHECKS);
            assertThat(p.exitValue()).isZero();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static void copyTree(Path src, Path dst) throws Exception {
        try (Stream<Path> all = Files.walk(src)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                Path target = dst.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static void makeReadableByAll(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }

    /** Runs as nobody; prints PASS or FAIL per check. */
    static final class RootlessProbe {
        static final long CHECKS = 8;

        public static void main(String[] args) throws Exception {
            int hostPort = Integer.parseInt(args[0]);
            Sandbox sandbox = Sandbox.builder().userNs().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();
            check("runs as root of its own user namespace, nobody outside", sandbox,
                    "id -u; cat /proc/self/uid_map", out -> out.startsWith("0\n") && out.contains("0      65534          1"));
            check("sees only its own processes", sandbox, "ls /proc | grep -c '^[0-9]'", out -> Integer.parseInt(out.trim()) <= 4);
            check("cannot read host files that were not bound", sandbox,
                    "cat /etc/shadow 2>&1; ls /root 2>&1; ls /home 2>&1; true", out -> out.contains("No such file") && !out.contains("root:"));
            check("cannot reach the host's loopback", sandbox.toBuilder().build(),
                    "(echo > /dev/tcp/127.0.0.1/" + hostPort + ") 2>&1 || echo refused", out -> out.contains("refused"));
            check("cannot mount, even as root of its user namespace", sandbox.toBuilder().seccomp(SeccompPolicy.none()).build(),
                    "mount -t tmpfs x /tmp 2>&1; echo status=$?", out -> !out.contains("status=0"));
            Outcome nested = sandbox.run("unshare", "-U", "true");
            System.out.println((nested.status() == Outcome.Status.RESTRICTED_SYSCALL
                    && nested.forbiddenSyscall().equals(java.util.Optional.of("unshare")) ? "PASS" : "FAIL")
                    + " the default seccomp policy kills a nested user namespace: " + nested);
            try {
                Sandbox.builder().pidNs().netNs().build().start("true").close();
                System.out.println("FAIL namespaces without a user namespace must be refused to an ordinary user");
            } catch (UnsupportedHostException e) {
                System.out.println((e.getMessage().contains("need root (or add userNs())") ? "PASS" : "FAIL")
                        + " without userNs() the refusal says how to fix it: " + e.getMessage());
            }
            try {
                Sandbox.builder().userNs().pidNs().memoryLimit(ByteSize.mb(64)).build().start("true").close();
                System.out.println("FAIL cgroup limits without a delegated cgroup must fail closed");
            } catch (SandboxException e) {
                System.out.println((e.getMessage().contains("delegat") || e.getMessage().contains("chown") ? "PASS" : "FAIL")
                        + " cgroup limits fail closed: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }

        interface Expect {
            boolean holds(String out);
        }

        static void check(String name, Sandbox sandbox, String script, Expect expect) {
            try (IsolatedProcess p = sandbox.start("bash", "-c", script)) {
                String out = new String(p.getInputStream().readAllBytes());
                String err = new String(p.getErrorStream().readAllBytes());
                p.outcome().get(30, TimeUnit.SECONDS);
                System.out.println((expect.holds(out) ? "PASS " : "FAIL ") + name + (expect.holds(out) ? "" : ": " + out + err));
            } catch (Exception e) {
                System.out.println("FAIL " + name + ": " + e);
            }
        }
    }
}
