package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile programs try to break out of a hardened sandbox; each attempt must fail to do harm, and
 * the test checks the host afterwards. The sandbox: every namespace but user, the minimal root, the
 * program as nobody without capabilities, no_new_privs, the default seccomp policy.
 */
@KernelTest
class EscapeIT {
    static final Sandbox HARD = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();
    /** The same without seccomp: what the kernel refuses on its own. */
    static final Sandbox NO_SECCOMP = HARD.toBuilder().seccomp(SeccompPolicy.none()).build();

    record Result(Outcome outcome, String out, String err) {}

    static Result run(Sandbox sandbox, String script) throws Exception {
        try (IsolatedProcess p = sandbox.start("sh", "-c", script)) {
            String out = new String(p.getInputStream().readAllBytes());
            String err = new String(p.getErrorStream().readAllBytes());
            return new Result(p.outcome().get(30, TimeUnit.SECONDS), out, err);
        }
    }

    /** Runs a python3 snippet that prints the errno name of a failing call, or "ok". */
    static Result python(Sandbox sandbox, String code) throws Exception {
        try (IsolatedProcess p = sandbox.start("/usr/bin/python3", "-c", code)) {
            String out = new String(p.getInputStream().readAllBytes());
            String err = new String(p.getErrorStream().readAllBytes());
            return new Result(p.outcome().get(30, TimeUnit.SECONDS), out, err);
        }
    }

    private static final String SYSCALL = "import ctypes, errno, os\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "def sc(nr, *a):\n"
            + "    r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])\n"
            + "    print(errno.errorcode.get(ctypes.get_errno(), 'ok') if r < 0 else 'ok', flush=True)\n";

    @Test
    void writingToAReadOnlyBindFailsAndTheHostFileIsUnchanged(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("data.txt"), "original");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
        Result r = run(HARD.toBuilder().bind(dir, "/data").runAs(0, 0).build(),
                "echo hacked > /data/data.txt; rm -f /data/data.txt; cat /data/data.txt");
        assertThat(r.err()).contains("Read-only file system");
        assertThat(r.out()).isEqualTo("original");
        assertThat(Files.readString(file)).isEqualTo("original");
    }

    @Test
    void hostFilesThatWereNotBoundCannotBeRead() throws Exception {
        Result r = run(HARD, "cat /etc/shadow; ls /root; ls /home; cat /proc/1/root/etc/shadow; ls /sys; ls /var; echo done");
        assertThat(r.out()).isEqualTo("done\n");
        assertThat(r.err()).contains("/etc/shadow").contains("/root").contains("/home").contains("/sys").contains("/var");
        assertThat(Files.exists(Path.of("/etc/shadow"))).isTrue(); // the host has them
    }

    @Test
    void hostProcessesAreInvisible() throws Exception {
        Result r = run(HARD, "ls /proc | grep -c '^[0-9]'");
        assertThat(Integer.parseInt(r.out().trim())).isLessThanOrEqualTo(4);
        assertThat(Probe.processesWith("")).hasSizeGreaterThan(10);
    }

    @Test
    void mountingUnmountingAndRemountingFail() throws Exception {
        String hostMounts = Files.readString(Path.of("/proc/self/mountinfo"));
        for (Sandbox s : new Sandbox[] {HARD, NO_SECCOMP}) {
            Result r = run(s.toBuilder().runAs(0, 0).build(),
                    "mount -t tmpfs x /tmp; echo $?; umount /proc; echo $?; mount -o remount,rw /; echo $?; touch /evil; echo $?");
            assertThat(r.out().lines().toList()).as("%s: %s", r.out(), r.err()).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
        }
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).isEqualTo(hostMounts);
    }

    @Test
    void theDoubleChrootEscapeFails() throws Exception {
        // the classic: chroot into a subdirectory while keeping a cwd outside it, then chdir .. up and out
        String escape = "import os\n"
                + "try:\n"
                + "    os.makedirs('/tmp/jail', exist_ok=True); os.chroot('/tmp/jail')\n"
                + "    for _ in range(64): os.chdir('..')\n"
                + "    os.chroot('.'); print(open('/etc/shadow').read()[:4])\n"
                + "except OSError as e: print(type(e).__name__, e.errno)\n";
        Result r = python(NO_SECCOMP.toBuilder().runAs(0, 0).build(), escape);
        assertThat(r.out()).startsWith("PermissionError 1"); // EPERM: no CAP_SYS_CHROOT
    }

    @Test
    void aSetuidRootBinaryDoesNotGiveRoot(@TempDir Path dir) throws Exception {
        Path src = Files.writeString(dir.resolve("euid.c"),
                "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"%d\\n\", (int)geteuid());return 0;}\n");
        Path bin = dir.resolve("euid");
        Process cc = new ProcessBuilder("cc", "-o", bin.toString(), src.toString()).inheritIO().start();
        assertThat(cc.waitFor()).isZero();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        new ProcessBuilder("chmod", "4755", bin.toString()).start().waitFor(); // setuid root
        assertThat(new String(new ProcessBuilder(bin.toString()).start().getInputStream().readAllBytes()).trim()).isEqualTo("0");
        for (Sandbox s : new Sandbox[] {HARD.toBuilder().bind(dir, "/suid").build(),
            // without the minimal root's nosuid binds, no_new_privs alone must still hold
            Sandbox.builder().pidNs().build()}) {
            String path = s.namespaces().contains(Sandbox.Namespace.MOUNT) ? "/suid/euid" : bin.toString();
            Result r = run(s, path);
            assertThat(Long.parseLong(r.out().trim())).as(r.err()).isBetween(Sandbox.DEFAULT_FIRST_ID, Sandbox.DEFAULT_FIRST_ID + Sandbox.DEFAULT_ID_COUNT - 1);
        }
    }

    @Test
    void ptraceOfInitAndOfTheParentFails() throws Exception {
        String code = SYSCALL + "sc(101, 16, 1, 0, 0)\nsc(101, 16, os.getppid(), 0, 0)\n"; // PTRACE_ATTACH
        Result r = python(NO_SECCOMP, code);
        assertThat(r.out().lines().toList()).containsExactly("EPERM", "EPERM");
        Result killed = python(HARD, code); // the default seccomp policy kills the sandbox and names the call
        assertThat(killed.outcome().status()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(killed.outcome().forbiddenSyscall()).hasValue("ptrace");
    }

    @Test
    void dangerousSystemCallsFail() throws Exception {
        // without seccomp the kernel itself refuses the privileged ones: bpf(BPF_PROG_LOAD), reboot
        Result r = python(NO_SECCOMP, SYSCALL + "sc(321, 5, 0, 0)\nsc(169, 0xfee1dead, 672274793, 0x4321fedc, 0)\n");
        assertThat(r.out().lines().toList()).as(r.err()).containsExactly("EPERM", "EPERM");
        // the default policy kills on keyctl, bpf, perf_event_open, reboot, open_by_handle_at
        String[][] calls = {{"250, 1, 0, 0, 0", "keyctl"}, {"321, 5, 0, 0", "bpf"}, {"298, 0, 0, -1, -1, 0", "perf_event_open"},
            {"169, 0, 0, 0, 0", "reboot"}, {"304, 0, 0, 0", "open_by_handle_at"}};
        for (String[] call : calls) {
            Outcome k = python(HARD, SYSCALL + "sc(" + call[0] + ")\n").outcome();
            assertThat(k.status()).as(call[1]).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
            assertThat(k.forbiddenSyscall()).hasValue(call[1]);
        }
    }

    @Test
    void settingTheClockOrTheHostnameFailsAndTheHostIsUnchanged() throws Exception {
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname"));
        long before = System.currentTimeMillis();
        Result r = python(NO_SECCOMP.toBuilder().runAs(0, 0).build(), "import time, socket\n"
                + "try: time.clock_settime(time.CLOCK_REALTIME, 0)\nexcept OSError as e: print(e.errno)\n"
                + "try: socket.sethostname('evil')\nexcept OSError as e: print(e.errno)\n");
        assertThat(r.out().lines().toList()).containsExactly("1", "1"); // EPERM, EPERM
        assertThat(System.currentTimeMillis() - before).isBetween(0L, 60_000L);
        assertThat(Files.readString(Path.of("/proc/sys/kernel/hostname"))).isEqualTo(hostname);
    }

    @Test
    void blockAndMemoryDevicesCannotBeOpenedOrMade() throws Exception {
        // read-only opens only: on this machine /dev/vda is the root disk
        Result r = run(HARD.toBuilder().runAs(0, 0).build(),
                "for d in /dev/vda /dev/mem /dev/kvm; do cat $d > /dev/null 2>&1 < /dev/null; echo $?; done; "
                        + "mknod /tmp/blk b 254 0; echo $?; ls /dev");
        assertThat(r.out().lines().limit(4).toList()).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
        assertThat(r.out()).doesNotContain("vda").doesNotContain("mem\n").doesNotContain("kvm");
        // without the minimal root the host's /dev is there, and an unprivileged program still cannot open it
        Result host = run(Sandbox.builder().pidNs().build(), "head -c 1 /dev/vda > /dev/null; echo $?");
        assertThat(host.out().trim()).isNotEqualTo("0");
        assertThat(host.err()).contains("Permission denied");
    }

    @Test
    void joiningAnAncestorCgroupFails() throws Exception {
        Sandbox limited = Sandbox.builder().pidNs().pidsLimit(64).build(); // host file system visible
        Result r = run(limited, "for f in /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do "
                + "echo $$ > $f; echo $?; done; cat /proc/self/cgroup | grep pids");
        assertThat(r.out()).contains("isolation-");
        assertThat(r.out().lines().limit(2).toList()).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
    }

    @Test
    void anInnerUserNamespaceGainsNothingOnTheHost() throws Exception {
        String hostMounts = Files.readString(Path.of("/proc/self/mountinfo"));
        Result killed = run(HARD, "unshare -Urm sh -c 'mount -t tmpfs x /tmp && echo mounted'");
        assertThat(killed.out()).doesNotContain("mounted");
        assertThat(killed.outcome().forbiddenSyscall()).hasValue("unshare");
        Result inner = run(Sandbox.builder().pidNs().mountNs().seccomp(SeccompPolicy.none()).build(),
                "unshare -Urm sh -c 'mount -t tmpfs isolation-inner /mnt && echo mounted-inside'; grep -c isolation-inner /proc/self/mountinfo");
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).isEqualTo(hostMounts).doesNotContain("isolation-inner");
        assertThat(inner.out()).endsWith("0\n");
    }

    @Test
    void rlimitsCannotBeRaisedAboveTheHardLimit() throws Exception {
        Result r = run(HARD.toBuilder().rlimit(Rlimit.NOFILE, 64, 128).build(),
                "ulimit -n; ulimit -H -n; ulimit -n 256; echo $?; ulimit -n 128; echo $?");
        assertThat(r.out().lines().toList()).containsExactly("64", "128", "2", "0");
    }
}
