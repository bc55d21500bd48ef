package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a sandboxed program keeps of privilege, seen by the kernel: locked securebits, no core
 * dumps unless asked, device nodes that do not open through any mount of the sandbox, and the
 * ranges of a user namespace's id maps on the host's files.
 */
@KernelTest
class PrivilegeIT {
    private static final Sandbox BOX = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();

    /** prctl(PR_GET_SECUREBITS), then an attempt to clear them all with PR_SET_SECUREBITS: "bits N", then "ok" or an errno name. */
    private static final String SECUREBITS = "import ctypes, errno\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "print('bits', libc.prctl(27, 0, 0, 0, 0))\n"
            + "r = libc.prctl(28, 0, 0, 0, 0)\n"
            + "print(errno.errorcode[ctypes.get_errno()] if r < 0 else 'ok')\n";

    @Test
    @Timeout(120)
    void theSecurebitsAreLockedEvenForRootWithCapSetpcap() throws Exception {
        // SECBIT_NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP_LOCKED | KEEP_CAPS_LOCKED | NO_CAP_AMBIENT_RAISE(_LOCKED)
        Bounded.Result plain = Bounded.run(BOX, "/usr/bin/python3", "-c", SECUREBITS);
        assertThat(plain.out().lines().toList()).as(plain.err()).containsExactly("bits " + (1 | 2 | 8 | 32 | 64 | 128), "EPERM");
        // With a capability kept, KEEP_CAPS is set instead (the kernel clears it at exec) and the rest still locked.
        // Root holding CAP_SETPCAP may change unlocked securebits: its EPERM is the lock's.
        Sandbox setpcap = BOX.toBuilder().runAs(0, 0).keepCapability("CAP_SETPCAP").build();
        Bounded.Result root = Bounded.run(setpcap, "/usr/bin/python3", "-c", SECUREBITS);
        assertThat(root.out().lines().toList()).as(root.err()).containsExactly("bits " + (1 | 2 | 8), "EPERM");
        // the same program as root on the host, where nothing is locked: it may clear them
        Process host = new ProcessBuilder("/usr/bin/python3", "-c", SECUREBITS).redirectErrorStream(true).start();
        java.util.concurrent.Future<String> out = Bounded.drain(host.getInputStream());
        assertThat(host.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Bounded.get(out, "the host's answer").lines().toList()).containsExactly("bits 0", "ok");
    }

    /** The soft and hard core size limits of the program, from its /proc/self/limits. */
    private static List<String> coreLimits(Sandbox s) throws Exception {
        String line = Bounded.ok(s, "sh", "-c", "grep 'Max core file size' /proc/self/limits").trim();
        String[] f = line.split("\\s{2,}");
        return List.of(f[1], f[2]);
    }

    @Test
    @Timeout(120)
    void noCoreDumpsUnlessTheRlimitIsSet() throws Exception {
        // the JVM's own hard limit is not 0 here: a sandbox that inherited it could raise its soft limit and dump core
        String jvm = Files.readAllLines(Path.of("/proc/self/limits")).stream().filter(l -> l.startsWith("Max core file size"))
                .findFirst().orElseThrow();
        Skip.unless(!jvm.split("\\s{2,}")[2].equals("0"), "a JVM whose hard core size limit is not 0 (" + jvm + ")");
        assertThat(coreLimits(BOX)).containsExactly("0", "0");
        assertThat(coreLimits(Sandbox.builder().pidNs().build())).containsExactly("0", "0");
        assertThat(coreLimits(BOX.toBuilder().rlimit(Rlimit.CORE, 4096, 8192).build())).containsExactly("4096", "8192");
    }

    @Test
    @Timeout(120)
    void aDeviceNodeOpensThroughNoMountOfTheSandbox(@TempDir Path tmp) throws Exception {
        // A character device node with the numbers of /dev/null, mode 666, in a directory of the test's own, and one
        // in a directory of a rootfs: the host opens them; through a bind, a writable bind or a rootfs the kernel refuses
        // (nodev), even to root in the sandbox.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path devices = Files.createDirectory(tmp.resolve("devices"));
        Path rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        Files.createDirectory(rootfs.resolve("opt"));
        for (Path node : List.of(devices.resolve("null"), rootfs.resolve("opt/null"))) {
            Process mknod = new ProcessBuilder("mknod", "-m", "666", node.toString(), "c", "1", "3").inheritIO().start();
            assertThat(mknod.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(mknod.exitValue()).as("mknod %s", node).isZero();
            try (var in = Files.newInputStream(node)) {
                assertThat(in.read()).as("the host reads %s", node).isEqualTo(-1);
            }
        }
        for (String l : new String[] {"bin", "lib", "lib64", "sbin"}) {
            Files.createSymbolicLink(rootfs.resolve(l), Path.of("usr/" + l));
        }
        Files.createDirectory(rootfs.resolve("usr"));
        Files.setPosixFilePermissions(devices, PosixFilePermissions.fromString("rwxrwxrwx"));
        String open = "ls -l %s | cut -c1; cat %s && echo opened || echo refused";
        Sandbox root = BOX.toBuilder().runAs(0, 0).seccomp(SeccompPolicy.none()).build();
        record Through(String mount, Sandbox sandbox, String node) {}
        for (Through t : List.of(new Through("bind", root.toBuilder().bind(devices, "/d").build(), "/d/null"),
                new Through("bindWritable", root.toBuilder().bindWritable(devices, "/d").build(), "/d/null"),
                new Through("rootfs", root.toBuilder().rootfs(rootfs).bind(Path.of("/usr"), "/usr").build(), "/opt/null"))) {
            Bounded.Result r = Bounded.run(t.sandbox(), "sh", "-c", String.format(open, t.node(), t.node()));
            assertThat(r.out().lines().toList()).as("through %s: %s %s", t.mount(), r.outcome(), r.err()).containsExactly("c", "refused");
            assertThat(r.err()).contains("Permission denied");
        }
        // the same nodes without a mount namespace: opened by the same program, so the refusal is the mounts' nodev
        Bounded.Result hostView = Bounded.run(Sandbox.builder().pidNs().build(), "sh", "-c",
                String.format(open, devices.resolve("null"), devices.resolve("null")));
        assertThat(hostView.out().lines().toList()).as(hostView.err()).containsExactly("c", "opened");
    }

    @Test
    @Timeout(120)
    void uidAndGidMapRangesMapEveryIdOfTheRangeOnTheHost(@TempDir Path dir) throws Exception {
        // 1000 ids from 3500000000 (far above the default id range and any host user): root inside is 3500000000,
        // uid 5 is 3500000005 on the host's files, and an id outside the range cannot be given to a file.
        long base = 3_500_000_000L;
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Sandbox mapped = Sandbox.builder().pidNs().mountNs().uidMap(0, base, 1000).gidMap(0, base, 1000)
                .keepCapability("CAP_CHOWN").build(); // over its own user namespace
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; "
                + "touch root-file five-file; chown 5:7 five-file && echo chowned; chown 1000 root-file 2>/dev/null || echo unmapped")
                .directory(dir.toFile());
        Bounded.Result r = Bounded.run(mapped, pb);
        List<String> lines = r.out().lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList();
        assertThat(lines).as(r.err()).containsExactly("0", "0 " + base + " 1000", "0 " + base + " 1000", "chowned", "unmapped");
        assertThat(uid(dir.resolve("root-file"))).isEqualTo(base);
        assertThat(gid(dir.resolve("root-file"))).isEqualTo(base);
        assertThat(uid(dir.resolve("five-file"))).isEqualTo(base + 5);
        assertThat(gid(dir.resolve("five-file"))).isEqualTo(base + 7);
    }

    private static long uid(Path f) throws Exception {
        return Integer.toUnsignedLong((Integer) Files.getAttribute(f, "unix:uid"));
    }

    private static long gid(Path f) throws Exception {
        return Integer.toUnsignedLong((Integer) Files.getAttribute(f, "unix:gid"));
    }
}
