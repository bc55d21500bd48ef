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
import org.junit.jupiter.api.Timeout;

/**
 * The library used by an ordinary user: a JVM running as {@code nobody} starts sandboxes with
 * user+pid+mount+uts+ipc+net namespaces and the minimal root, and the hostile attempts of
 * {@link EscapeIT} fail there too. cgroup limits fail closed with a message saying how to
 * delegate a subtree.
 */
@KernelTest
class RootlessIT {
    @Test
    @Timeout(300)
    void aJvmRunningAsNobodyGetsWorkingSandboxesAndNoWayOut() throws Exception {
        Path dir = Files.createTempDirectory("isolation-rootless");
        // a device node nobody may open (a copy of /dev/null, 1:3), in a directory of the test's own
        Path devices = Files.createTempDirectory("isolation-rootless-dev");
        Files.setPosixFilePermissions(devices, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path node = devices.resolve("null");
        Process mknod = new ProcessBuilder("mknod", "-m", "666", node.toString(), "c", "1", "3").inheritIO().start();
        assertThat(mknod.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(mknod.exitValue()).as("mknod").isZero();
        try (ServerSocket hostService = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            List<String> classpath = NobodyClassPath.copyInto(dir);
            Process p = new ProcessBuilder(
                    JavaCommand.after(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                        "-Duser.home=" + dir, "-cp", String.join(File.pathSeparator, classpath), RootlessProbe.class.getName(),
                        Integer.toString(hostService.getLocalPort()), node.toString()))
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            java.util.concurrent.Future<String> output = Bounded.drain(p.getInputStream());
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the probe JVM ended").isTrue();
            String out = Bounded.get(output, "the probe's output");
            assertThat(out).as(out).contains("PASS runs as root of its own user namespace, nobody outside")
                    .doesNotContain("FAIL");
            assertThat(out.lines().filter(l -> l.startsWith("PASS")).count()).as(out).isEqualTo(RootlessProbe.CHECKS);
            assertThat(p.exitValue()).isZero();
        } finally {
            for (Path d : List.of(dir, devices)) {
                try (Stream<Path> all = Files.walk(d)) {
                    all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
    }

    /** Runs as nobody; prints PASS or FAIL per check. */
    static final class RootlessProbe {
        static final long CHECKS = 23;

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
            // the hostile programs of EscapeIT, as an ordinary user's sandbox sees them
            java.nio.file.Path data = java.nio.file.Files.createTempDirectory("isolation-rootless-data");
            java.nio.file.Path file = java.nio.file.Files.writeString(data.resolve("data.txt"), "original");
            file.toFile().setWritable(true, false);
            check("cannot write through a read-only bind", sandbox.toBuilder().bind(data, "/data").build(),
                    "(echo hacked > /data/data.txt) 2>&1; cat /data/data.txt",
                    out -> out.contains("Read-only file system") && out.endsWith("original") && read(file).equals("original"));
            java.nio.file.Files.delete(file);
            java.nio.file.Files.delete(data);
            // the mount path's attacks of FilesystemEscapeIT, by an ordinary user's sandbox
            java.nio.file.Path w = java.nio.file.Files.createTempDirectory("isolation-rootless-w");
            java.nio.file.Path victim = java.nio.file.Files.createTempDirectory("isolation-rootless-victim");
            java.nio.file.Path pub = java.nio.file.Files.createDirectory(w.resolve("pub"));
            Sandbox swap = sandbox.toBuilder().bindWritable(w, "/w").bind(pub, "/pub").build();
            Outcome planted = swap.run("sh", "-c", "rm -rf /w/pub && ln -s /etc /w/pub && mkdir /w/sub && touch /w/sub/f");
            Outcome swapped = swap.run("cat", "/pub/passwd");
            System.out.println((planted.status() == Outcome.Status.OK && swapped.status() == Outcome.Status.SETUP_FAILED
                    && swapped.message().contains("symlink") && !swapped.stdoutText().contains("root:") ? "PASS" : "FAIL")
                    + " a bind source swapped for a symlink is refused: " + planted + " " + swapped.message());
            java.nio.file.Files.delete(w.resolve("pub"));
            Sandbox target = sandbox.toBuilder().bindWritable(w, "/w").bind(victim, "/w/sub/f").build();
            java.nio.file.Files.delete(w.resolve("sub/f"));
            java.nio.file.Files.delete(w.resolve("sub"));
            java.nio.file.Files.createSymbolicLink(w.resolve("sub"), java.nio.file.Path.of("/oldroot" + victim));
            Outcome redirected = target.run("true");
            boolean untouched;
            try (var list = java.nio.file.Files.list(victim)) {
                untouched = list.findAny().isEmpty();
            }
            System.out.println((untouched && redirected.status() == Outcome.Status.SETUP_FAILED ? "PASS" : "FAIL")
                    + " a symlinked mount target leads nowhere out of the new root: " + redirected.message());
            java.nio.file.Files.delete(w.resolve("sub"));
            java.nio.file.Files.delete(w);
            java.nio.file.Files.delete(victim);
            String sc = "import ctypes, errno, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                    + "def sc(nr, *a):\n    r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])\n"
                    + "    print(errno.errorcode.get(ctypes.get_errno(), 'ok') if r < 0 else 'ok', flush=True)\n";
            String[][] killed = {{"101, 16, 1, 0, 0", "ptrace"}, {"250, 1, 0, 0, 0", "keyctl"}, {"321, 5, 0, 0", "bpf"},
                {"298, 0, 0, -1, -1, 0", "perf_event_open"}, {"169, 0, 0, 0, 0", "reboot"}, {"304, 0, 0, 0", "open_by_handle_at"},
                {"227, 0, 0", "clock_settime"}};
            for (String[] call : killed) {
                Outcome o = sandbox.run("/usr/bin/python3", "-c", sc + "sc(" + call[0] + ")\n");
                System.out.println((o.forbiddenSyscall().equals(java.util.Optional.of(call[1])) ? "PASS" : "FAIL")
                        + " " + call[1] + " is killed and named: " + o + " " + o.stdoutText() + o.stderrText());
            }
            Sandbox noFilter = sandbox.toBuilder().seccomp(SeccompPolicy.none()).build();
            check("without seccomp: no chroot, mknod or sethostname", noFilter,
                    "python3 -c \"import os\ntry: os.chroot('/tmp')\nexcept OSError as e: print('chroot', e.errno)\"; "
                            + "mknod /tmp/blk b 254 0 2>/dev/null || echo mknod-refused; hostname evil 2>/dev/null || echo hostname-refused",
                    out -> out.contains("chroot 1") && out.contains("mknod-refused") && out.contains("hostname-refused"));
            // A device node that exists and that nobody may open (mode 666, the numbers of /dev/null): the host
            // opens it for nobody, the sandbox sees it through a bind and cannot open it, since binds are nodev.
            java.nio.file.Path node = java.nio.file.Path.of(args[1]);
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(node)) {
                System.out.println((in.read() == -1 ? "PASS" : "FAIL") + " the device node opens on the host, for nobody");
            } catch (java.io.IOException e) {
                System.out.println("FAIL the device node opens on the host, for nobody: " + e);
            }
            check("a device node bound in cannot be opened (nodev)", noFilter.toBuilder().bind(node.getParent(), "/devices").build(),
                    "ls -l /devices/null | cut -c1; cat /devices/null 2>&1 && echo opened || echo refused",
                    out -> out.startsWith("c\n") && out.contains("Permission denied") && out.endsWith("refused\n"));
            check("rlimits cannot be raised above the hard limit", sandbox.toBuilder().rlimit(Rlimit.NOFILE, 64, 128).build(),
                    "ulimit -n 256 2>/dev/null && echo raised || echo refused", out -> out.trim().equals("refused"));
            Outcome nested = sandbox.run("unshare", "-U", "true");
            System.out.println((nested.status() == Outcome.Status.RESTRICTED_SYSCALL
                    && nested.forbiddenSyscall().equals(java.util.Optional.of("unshare")) ? "PASS" : "FAIL")
                    + " the default seccomp policy kills a nested user namespace: " + nested);
            // a persistent session: each run joins the session's user namespace, and the host copies files in and out
            try (SandboxSession session = sandbox.open(SandboxSession.Options.builder().persistentWorkDir().build())) {
                session.copyIn("from the host".getBytes(java.nio.charset.StandardCharsets.UTF_8), "in.txt");
                Outcome first = session.run(new ProcessBuilder("sh", "-c", "id -u; cat /box/in.txt; echo; echo from the run > /box/out.txt"),
                        new byte[0]);
                Outcome second = session.run(new ProcessBuilder("cat", "/proc/self/uid_map"), new byte[0]);
                String copied = new String(session.copyOut("out.txt"), java.nio.charset.StandardCharsets.UTF_8);
                System.out.println((first.status() == Outcome.Status.OK && first.stdoutText().equals("0\nfrom the host\n")
                        && second.status() == Outcome.Status.OK && second.stdoutText().contains("0      65534          1")
                        && copied.equals("from the run\n") ? "PASS" : "FAIL")
                        + " a session's runs and copies work for an ordinary user: " + first + " " + first.message() + " "
                        + first.stdoutText() + " " + second + " " + second.message() + " " + copied);
            } catch (Exception e) {
                System.out.println("FAIL a session's runs and copies work for an ordinary user: " + e);
            }
            try {
                Sandbox.builder().pidNs().netNs().build().start("true").close();
                System.out.println("FAIL namespaces without a user namespace must be refused to an ordinary user");
            } catch (UnsupportedHostException e) {
                System.out.println((e.getMessage().contains("need root (or add userNs())") ? "PASS" : "FAIL")
                        + " without userNs() the refusal says how to fix it: " + e.getMessage());
            }
            try {
                Sandbox.builder().userNs().pidNs().mountNs().memoryLimit(ByteSize.mb(64)).build().start("true").close();
                System.out.println("FAIL cgroup limits without a delegated cgroup must fail closed");
            } catch (SandboxException e) {
                System.out.println((e.getMessage().contains("delegat") || e.getMessage().contains("chown") ? "PASS" : "FAIL")
                        + " cgroup limits fail closed: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }

        interface Expect {
            boolean holds(String out);
        }

        static String read(java.nio.file.Path f) {
            try {
                return java.nio.file.Files.readString(f);
            } catch (java.io.IOException e) {
                return "unreadable";
            }
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
