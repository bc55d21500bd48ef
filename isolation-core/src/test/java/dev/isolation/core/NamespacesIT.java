package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each namespace isolates what it should: tried from inside a real sandbox, checked on the host. */
@KernelTest
class NamespacesIT {
    private static final Sandbox ALL = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().hostname("box").build();
    /**
     * Root of a user namespace of its own, with CAP_SYS_ADMIN there: for tests that try what only a
     * privileged program could (host root with CAP_SYS_ADMIN could mount the cgroup file system, and
     * is refused).
     */
    private static final Sandbox ALL_ADMIN = ALL.toBuilder().userNs().keepCapability("CAP_SYS_ADMIN")
            .seccomp(SeccompPolicy.none()).build();

    /** The namespaces of /proc/self/ns, by their file names there. */
    private static final List<String> NS_FILES = List.of("pid", "mnt", "uts", "ipc", "net", "user", "cgroup");

    /** The namespace ids the program sees (readlink /proc/self/ns/X), by file name. */
    private static Map<String, String> namespacesInside(Sandbox sandbox) throws Exception {
        String out = Bounded.ok(sandbox, "sh", "-c",
                "for n in " + String.join(" ", NS_FILES) + "; do echo $n=$(readlink /proc/self/ns/$n); done");
        Map<String, String> ids = new TreeMap<>();
        out.lines().forEach(l -> ids.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        assertThat(ids.keySet()).containsExactlyInAnyOrderElementsOf(NS_FILES);
        assertThat(ids.values()).allSatisfy(id -> assertThat(id).matches("[a-z]+:\\[\\d+\\]"));
        return ids;
    }

    private static Map<String, String> namespacesOfTheHost() throws Exception {
        Map<String, String> ids = new TreeMap<>();
        for (String n : NS_FILES) {
            ids.put(n, Files.readSymbolicLink(Path.of("/proc/self/ns/" + n)).toString());
        }
        return ids;
    }

    @Test
    @Timeout(60)
    void everyRequestedNamespaceIsNewAndOthersAreShared() throws Exception {
        Map<String, String> host = namespacesOfTheHost();
        Map<Sandbox.Namespace, String> file = Map.of(Sandbox.Namespace.PID, "pid", Sandbox.Namespace.MOUNT, "mnt",
                Sandbox.Namespace.UTS, "uts", Sandbox.Namespace.IPC, "ipc", Sandbox.Namespace.NETWORK, "net",
                Sandbox.Namespace.USER, "user", Sandbox.Namespace.CGROUP, "cgroup");
        assertThat(file.keySet()).containsExactlyInAnyOrder(Sandbox.Namespace.values());
        // all at once: each is new
        Map<String, String> all = namespacesInside(
                Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().userNs().cgroupNs().build());
        for (String n : NS_FILES) {
            assertThat(all.get(n)).as(n).isNotEqualTo(host.get(n));
        }
        // none: each is the host's
        assertThat(namespacesInside(Sandbox.builder().build())).isEqualTo(host);
        // one at a time: that one is new, the six others are the host's
        for (Sandbox.Namespace ns : Sandbox.Namespace.values()) {
            Sandbox.Builder b = Sandbox.builder();
            switch (ns) {
                case PID -> b.pidNs();
                case MOUNT -> b.mountNs();
                case UTS -> b.utsNs();
                case IPC -> b.ipcNs();
                case NETWORK -> b.netNs();
                case USER -> b.userNs();
                case CGROUP -> b.cgroupNs();
            }
            Sandbox sandbox = b.build();
            assertThat(sandbox.namespaces()).containsExactly(ns);
            Map<String, String> inside = namespacesInside(sandbox);
            for (String n : NS_FILES) {
                if (n.equals(file.get(ns))) {
                    assertThat(inside.get(n)).as("%s with only %s", n, ns).isNotEqualTo(host.get(n));
                } else {
                    assertThat(inside.get(n)).as("%s with only %s", n, ns).isEqualTo(host.get(n));
                }
            }
        }
    }

    @Test
    @Timeout(120)
    void programIsChildOfInitAndSeesOnlyTheSandboxProcesses() throws Exception {
        try (Probe.HostProcess host = Probe.HostProcess.start()) { // a host process the sandbox must not see
            String out = Probe.run(ALL, "sh", "-c", "echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'; "
                    + "cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -c " + host.pattern() + " || true");
            String[] lines = out.split("\n");
            assertThat(lines[0]).isEqualTo("2");
            assertThat(lines[1]).isEqualTo("isolation-init");
            assertThat(Integer.parseInt(lines[2])).isBetween(2, 5); // init, sh, ls, grep
            assertThat(lines[3]).as("host processes seen inside").isEqualTo("0");
            assertThat(Probe.processesWith(host.marker())).as("the host process, from the host").isNotEmpty();
        }
    }

    @Test
    @Timeout(120)
    void hostProcessesCannotBeSignalled() throws Exception {
        Process host = new ProcessBuilder("sleep", "60").start();
        try {
            // even as root: the host's pid is nobody in the sandbox's pid namespace
            try (IsolatedProcess p = ALL.toBuilder().runAs(0, 0).build().start("sh", "-c", "kill -9 " + host.pid())) {
                assertThat(Bounded.collect(p).outcome().exitCode()).hasValue(1);
            }
            assertThat(host.isAlive()).isTrue();
            // root without a pid namespace could kill it (and its monitor, and the JVM): refused
            assertThatThrownBy(() -> Sandbox.builder().runAs(0, 0).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("add pidNs()");
        } finally {
            host.destroyForcibly();
        }
        // the same command without a pid namespace does kill a host process of the program's uid: the test can fail
        Process sameUid = new ProcessBuilder("setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "sleep", "60").start();
        try {
            // once setpriv has become uid 4242 and exec'd sleep (before, it is root, and the kill fails for that)
            LifecycleIT.awaitCondition(() -> Files.readString(Path.of("/proc/" + sameUid.pid() + "/comm")).trim().equals("sleep"));
            try (IsolatedProcess p = Sandbox.builder().runAs(4242, 4242).build().start("sh", "-c", "kill -9 " + sameUid.pid())) {
                assertThat(Bounded.collect(p).outcome().exitCode()).hasValue(0);
            }
            assertThat(sameUid.waitFor(5, TimeUnit.SECONDS)).isTrue();
        } finally {
            sameUid.destroyForcibly();
        }
    }

    @Test
    @Timeout(120)
    void hostnameSetInsideDoesNotChangeTheHost() throws Exception {
        String hostBefore = Files.readString(Path.of("/proc/sys/kernel/hostname"));
        String out = Probe.run(ALL_ADMIN, "sh", "-c", "hostname; hostname changed-inside; hostname");
        assertThat(out).isEqualTo("box\nchanged-inside\n");
        assertThat(Files.readString(Path.of("/proc/sys/kernel/hostname"))).isEqualTo(hostBefore);
    }

    @Test
    @Timeout(120)
    void sysvIpcObjectsOfTheHostAreInvisible() throws Exception {
        Process mk = new ProcessBuilder("ipcmk", "-M", "4096").start();
        java.util.concurrent.Future<String> made = Bounded.drain(mk.getInputStream());
        assertThat(mk.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(mk.exitValue()).isZero();
        String created = Bounded.get(made, "ipcmk's output").trim();
        String id = created.replaceAll("\\D+", " ").trim().split(" ")[0];
        try {
            assertThat(Probe.run(Sandbox.builder().build(), "ipcs", "-m", "-i", id)).contains("Shared memory Segment shmid=" + id);
            Bounded.Result inside = Bounded.run(ALL, "ipcs", "-m", "-i", id);
            assertThat(inside.out()).doesNotContain("shmid=" + id);
            assertThat(inside.err()).contains("id " + id + " not found");
        } finally {
            new ProcessBuilder("ipcrm", "-m", id).start().waitFor();
        }
    }

    @Test
    @Timeout(120)
    void connectingToTheHostLoopbackFailsFromANetworkNamespace() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String connect = "exec 3<>/dev/tcp/127.0.0.1/" + server.getLocalPort() + " && echo connected";
            Bounded.Result refused = Bounded.run(ALL, "bash", "-c", connect);
            assertThat(refused.outcome().exitCode()).hasValue(1);
            assertThat(refused.err()).contains("Connection refused");
            // without a network namespace the same connection succeeds: the test can fail
            assertThat(Probe.run(Sandbox.builder().pidNs().build(), "bash", "-c", connect)).isEqualTo("connected\n");
            // loopback inside is up and usable
            assertThat(Probe.run(ALL, "sh", "-c", "cat /sys/class/net/lo/operstate; cat /proc/net/dev | grep -c :"))
                    .matches("(?s)(unknown|up)\n1\n");
        }
    }

    @Test
    @Timeout(120)
    void userNamespaceMapsRootToAnUnprivilegedHostId(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Sandbox sandbox = Sandbox.builder().userNs().pidNs().mountNs().build();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "id -u; cat /proc/self/uid_map; touch made-inside");
        pb.directory(dir.toFile());
        Bounded.Result r = Bounded.run(sandbox, pb);
        String out = r.out();
        assertThat(r.outcome().status()).isEqualTo(Outcome.Status.OK);
        assertThat(out.split("\n")[0]).isEqualTo("0");
        String[] map = out.split("\n")[1].trim().split("\\s+");
        assertThat(map[0]).isEqualTo("0");
        long outside = Long.parseLong(map[1]);
        assertThat(map[2]).isEqualTo("1");
        // the sandbox's own id of the range, not a host user's (65534 is the host's nobody)
        assertThat(outside).isBetween(Sandbox.DEFAULT_FIRST_ID, Sandbox.DEFAULT_FIRST_ID + Sandbox.DEFAULT_ID_COUNT - 1);
        assertThat(((Integer) Files.getAttribute(dir.resolve("made-inside"), "unix:uid")).longValue()).isEqualTo(outside);
    }

    @Test
    @Timeout(60)
    void consecutiveRunsNeverShareASandbox() throws Exception {
        // Each run gets a fresh sandbox, set up for it when it starts. The first run stays
        // alive while the second runs, so that their namespace ids can be compared: the kernel reuses the number of a
        // namespace that is gone.
        String ids = "for n in pid mnt uts ipc net; do readlink /proc/self/ns/$n; done; ";
        try (IsolatedProcess first = ALL_ADMIN.start("sh", "-c", ids
                + "hostname changed; mount -t tmpfs left-over /mnt && grep -c left-over /proc/self/mountinfo; read x; exit 0")) {
            BufferedReader firstOut = new BufferedReader(new InputStreamReader(first.getInputStream()));
            List<String> firstLines = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                firstLines.add(Bounded.line(firstOut));
            }
            assertThat(firstLines).as("the first run changed its hostname and mounted").endsWith("1");
            List<String> second = Bounded.ok(ALL_ADMIN, "sh", "-c", ids
                    + "hostname; grep -c left-over /proc/self/mountinfo || true").lines().toList();
            assertThat(second).hasSize(7).endsWith("box", "0");
            for (int i = 0; i < 5; i++) {
                assertThat(firstLines.get(i)).matches("[a-z]+:\\[\\d+\\]");
                assertThat(second.get(i)).as("a namespace of both runs").isNotEqualTo(firstLines.get(i));
            }
            first.getOutputStream().close();
            assertThat(Bounded.get(first.outcome(), "the first run's end").status()).isEqualTo(Outcome.Status.OK);
        }
    }

    @Test
    @Timeout(120)
    void mountsInsideDoNotPropagateToTheHost() throws Exception {
        Path target = Files.createTempDirectory("isolation-mnt-test");
        try {
            // CAP_SYS_ADMIN of the host's user namespace, as the sandbox's own uid (root with it is refused)
            Probe.run(Sandbox.builder().pidNs().mountNs().keepCapability("CAP_SYS_ADMIN").seccomp(SeccompPolicy.none()).build(),
                    "/usr/bin/python3", "-c", "import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                            + "if libc.mount(b'isolation-test', sys.argv[1].encode(), b'tmpfs', 0, None) != 0:\n"
                            + "    sys.exit('mount: ' + os.strerror(ctypes.get_errno()))\n", target.toString());
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(target.toString());
        } finally {
            Files.delete(target);
        }
    }

    @Test
    @Timeout(120)
    void environmentAndWorkingDirectoryComeFromTheProcessBuilder(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "echo $GREETING; pwd");
        pb.environment().clear();
        pb.environment().putAll(Map.of("GREETING", "hi", "PATH", "/usr/bin:/bin"));
        pb.directory(dir.toFile());
        assertThat(Bounded.run(ALL, pb).out()).isEqualTo("hi\n" + dir.toRealPath() + "\n");
    }

    @Test
    @Timeout(120)
    void jvmDescriptorsAreInvisibleToTheProgram() throws Exception {
        Path secret = Files.createTempFile("isolation-fd-test", ".txt");
        try (var open = Files.newInputStream(secret); var raw = new java.io.FileInputStream(secret.toFile())) {
            String out = Probe.run(ALL, "sh", "-c", "ls /proc/self/fd; for f in /proc/self/fd/*; do readlink $f; done; true");
            assertThat(out).doesNotContain(secret.toString());
            assertThat(out.split("\n")).startsWith("0", "1", "2");
            assertThat(out.lines().filter(l -> l.matches("\\d+")).count()).isLessThanOrEqualTo(4); // 0-2 and ls's own
        } finally {
            Files.delete(secret);
        }
    }

}
