package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
        Bounded.Result r = Bounded.run(sandbox, "sh", "-c", script);
        return new Result(r.outcome(), r.out(), r.err());
    }

    /** Runs a python3 snippet that prints the errno name of a failing call, or "ok". */
    static Result python(Sandbox sandbox, String code) throws Exception {
        Bounded.Result r = Bounded.run(sandbox, "/usr/bin/python3", "-c", code);
        return new Result(r.outcome(), r.out(), r.err());
    }

    private static final String SYSCALL = "import ctypes, errno, os\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "def sc(nr, *a):\n"
            + "    r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])\n"
            + "    print(errno.errorcode.get(ctypes.get_errno(), 'ok') if r < 0 else 'ok', flush=True)\n";

    @Test
    @Timeout(120)
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
    @Timeout(120)
    void hostFilesThatWereNotBoundCannotBeRead() throws Exception {
        Result r = run(HARD, "cat /etc/shadow; ls /root; ls /home; cat /proc/1/root/etc/shadow; ls /sys; ls /var; echo done");
        assertThat(r.out()).isEqualTo("done\n");
        assertThat(r.err()).contains("/etc/shadow").contains("/root").contains("/home").contains("/sys").contains("/var");
        assertThat(Files.exists(Path.of("/etc/shadow"))).isTrue(); // the host has them
    }

    @Test
    @Timeout(120)
    void hostProcessesAreInvisible() throws Exception {
        try (Probe.HostProcess host = Probe.HostProcess.start()) { // a host process of the test's own, outside the sandbox
            Result r = run(HARD, "ls /proc | grep -c '^[0-9]'; cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -c "
                    + host.pattern() + " || true");
            assertThat(r.out().lines().toList()).as(r.err()).hasSize(2);
            assertThat(Integer.parseInt(r.out().lines().toList().get(0))).isLessThanOrEqualTo(4);
            assertThat(r.out().lines().toList().get(1)).as("the host process seen inside").isEqualTo("0");
            assertThat(Probe.processesWith(host.marker())).as("the host process, from the host").isNotEmpty();
        }
    }

    @Test
    @Timeout(60)
    void mountingUnmountingAndRemountingFail(@TempDir Path dir) throws Exception {
        // The targets are the test's own directory, bound read-only at /data: harmless even unsandboxed
        // (no /data there). Make it writable, write through it, mount over it, take it away.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.createDirectory(dir.resolve("sub"));
        String attempts = "mount -o remount,bind,rw /data; echo $?; touch /data/evil; echo $?; "
                + "mount -t tmpfs isolation-escape /data/sub; echo $?; umount -l /data; echo $?";
        // the host's mounts at, above and below the directory, and any mount of the attempts' source
        List<Path> around = List.of(dir, Path.of("/data"));
        List<String> sources = List.of("isolation-escape");
        List<String> hostMounts = Probe.hostMountsAround(around, sources);
        assertThat(hostMounts).as("the host's mounts at and above %s", dir).isNotEmpty().noneMatch(l -> l.contains("isolation-escape"));
        Sandbox root = HARD.toBuilder().bind(dir, "/data").runAs(0, 0).build();

        // the default seccomp policy kills the sandbox at the first mount(2), before it did anything
        Result killed = run(root, attempts);
        assertThat(killed.outcome().status()).as("%s %s", killed.outcome(), killed.err()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(killed.outcome().forbiddenSyscall()).get() // mount(8) of util-linux 2.39+ uses the new mount API
                .isIn("mount", "mount_setattr", "open_tree", "fsopen", "fspick", "fsconfig", "fsmount", "move_mount");
        assertThat(killed.out()).isEmpty();
        // without seccomp the kernel refuses each of the four: root without capabilities
        Result refused = run(root.toBuilder().seccomp(SeccompPolicy.none()).build(), attempts);
        assertThat(refused.out().lines().toList()).as("%s: %s", refused.out(), refused.err())
                .hasSize(4).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
        assertThat(dir.resolve("evil")).doesNotExist();
        assertThat(Probe.hostMountsAround(around, sources)).isEqualTo(hostMounts);

        // the same four succeed with CAP_SYS_ADMIN (over a mount namespace of a user namespace of its own): the attempts
        // are real, and only the privilege was missing
        Result allowed = run(root.toBuilder().userNs().seccomp(SeccompPolicy.none()).keepCapability("CAP_SYS_ADMIN").build(), attempts);
        assertThat(allowed.out().lines().toList()).as(allowed.err()).containsExactly("0", "0", "0", "0");
        assertThat(dir.resolve("evil")).exists();
        assertThat(Probe.hostMountsAround(around, sources)).isEqualTo(hostMounts);
    }

    @Test
    @Timeout(120)
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
    @Timeout(120)
    void aSetuidRootBinaryDoesNotGiveRoot(@TempDir Path dir) throws Exception {
        Path src = Files.writeString(dir.resolve("euid.c"),
                "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"%d %d\\n\", (int)getuid(), (int)geteuid());return 0;}\n");
        Path bin = dir.resolve("euid");
        host("cc", "-o", bin.toString(), src.toString());
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(host("chmod", "4755", bin.toString())).isEmpty(); // setuid root
        assertThat(Files.getAttribute(bin, "unix:uid")).isEqualTo(0);
        assertThat((int) Files.getAttribute(bin, "unix:mode") & 07777).isEqualTo(04755);
        // the precondition, from an unprivileged caller on the host: the binary really makes nobody root
        assertThat(host("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin.toString()))
                .as("uid and euid of the setuid binary run by nobody on the host").isEqualTo("65534 0\n");
        for (Sandbox s : new Sandbox[] {HARD.toBuilder().bind(dir, "/suid").build(),
            // without the minimal root's nosuid binds, no_new_privs alone must still hold
            Sandbox.builder().pidNs().build()}) {
            String path = s.namespaces().contains(Sandbox.Namespace.MOUNT) ? "/suid/euid" : bin.toString();
            // the sandbox sees the same setuid-root file, runs it, and it stays the unprivileged user it is
            Result r = run(s, "stat -c '%a %u' " + path + "; " + path);
            List<String> lines = r.out().lines().toList();
            assertThat(lines).as("%s: %s", s.namespaces(), r.err()).hasSize(2).first().isEqualTo("4755 0");
            String[] ids = lines.get(1).split(" ");
            assertThat(Long.parseLong(ids[0])).as("the program's uid: the sandbox's own")
                    .isBetween(Sandbox.DEFAULT_FIRST_ID, Sandbox.DEFAULT_FIRST_ID + Sandbox.DEFAULT_ID_COUNT - 1);
            assertThat(ids[1]).as("its euid after exec of the setuid-root binary").isEqualTo(ids[0]);
        }
    }

    /** Runs a command on the host, as the test's own user unless it says otherwise; returns its output, fails on a non-zero status. */
    private static String host(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        java.util.concurrent.Future<String> out = Bounded.drain(p.getInputStream());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ended", List.of(command)).isTrue();
        String output = Bounded.get(out, "the output of " + command[0]);
        assertThat(p.exitValue()).as("status of %s: %s", List.of(command), output).isZero();
        return output;
    }

    @Test
    @Timeout(60)
    void ptraceOfInitAndOfTheMonitorFails() throws Exception {
        // The processes around the program run as root: init (its parent in a pid namespace) and, without a pid
        // namespace, the helper's monitor on the host (then its parent). The program, nobody, tries to trace its parent.
        String attachToParent = SYSCALL + "ppid = os.getppid()\n"
                + "print(ppid, open('/proc/%d/comm' % ppid).read().strip(), open('/proc/%d/status' % ppid).read().split('Uid:')[1].split()[0])\n"
                + "sc(101, 0x4206, ppid, 0, 0)\n"; // PTRACE_SEIZE: the attach checks without stopping the tracee
        Result init = python(NO_SECCOMP, attachToParent);
        assertThat(init.out().lines().toList()).as(init.err()).containsExactly("1 isolation-init 0", "EPERM");
        // root with CAP_SYS_PTRACE may: the EPERM is the missing privilege, not a malformed call
        Result allowed = python(NO_SECCOMP.toBuilder().runAs(0, 0).keepCapability("CAP_SYS_PTRACE").build(), attachToParent);
        assertThat(allowed.out().lines().toList()).as(allowed.err()).containsExactly("1 isolation-init 0", "ok");
        Result monitor = python(Sandbox.builder().seccomp(SeccompPolicy.none()).build(), attachToParent);
        assertThat(monitor.out().lines().toList()).as(monitor.err()).hasSize(2).last().isEqualTo("EPERM");
        assertThat(monitor.out().lines().findFirst().orElseThrow()).endsWith(" isolation-mon 0");
        Result killed = python(HARD, attachToParent); // the default seccomp policy kills the sandbox and names the call
        assertThat(killed.outcome().status()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(killed.outcome().forbiddenSyscall()).hasValue("ptrace");
    }

    @Test
    @Timeout(120)
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
    @Timeout(60)
    void settingTheClockOrTheHostnameFailsEvenInTheHostsUtsNamespace() throws Exception {
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname"));
        long before = System.currentTimeMillis();
        // Harmless even if it worked: the clock is set to what it reads and the hostname to what it is.
        String attempts = "import os, socket, time\nprint(os.geteuid())\n"
                + "try: time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME)); print('clock set')\n"
                + "except OSError as e: print(e.errno)\n"
                + "try: socket.sethostname(socket.gethostname()); print('hostname set')\nexcept OSError as e: print(e.errno)\n";
        // root without capabilities or seccomp, in the host's UTS namespace: only the dropped capabilities stand in the way
        Sandbox hostUts = Sandbox.builder().pidNs().mountNs().minimalRoot().runAs(0, 0).seccomp(SeccompPolicy.none()).build();
        assertThat(hostUts.namespaces()).doesNotContain(Sandbox.Namespace.UTS);
        Result r = python(hostUts, attempts);
        assertThat(r.out().lines().toList()).as(r.err()).containsExactly("0", "1", "1"); // euid 0; EPERM, EPERM
        // with CAP_SYS_ADMIN over a UTS namespace of its own (in a user namespace of its own), the same program does set
        // the hostname: the attempt is real
        Result own = python(hostUts.toBuilder().userNs().utsNs().hostname("box").keepCapability("CAP_SYS_ADMIN").build(), attempts);
        assertThat(own.out().lines().toList()).as(own.err()).containsExactly("0", "1", "hostname set");
        // and the default seccomp policy kills at the clock
        Result killed = python(HARD.toBuilder().runAs(0, 0).build(), attempts);
        assertThat(killed.outcome().forbiddenSyscall()).as(killed.outcome().toString()).hasValue("clock_settime");
        assertThat(System.currentTimeMillis() - before).isBetween(0L, 60_000L);
        assertThat(Files.readString(Path.of("/proc/sys/kernel/hostname"))).isEqualTo(hostname);
    }

    @Test
    @Timeout(120)
    void blockAndMemoryDevicesCannotBeOpenedOrMade() throws Exception {
        // Read-only opens only: a block device of the host may be its root disk. It is one that the host's root may
        // open and other users may not.
        Optional<Path> found = Probe.protectedBlockDevice();
        Skip.unless(found.isPresent(), "a block device in /dev that only its owner and group may open");
        Path disk = found.get();
        try (var in = Files.newInputStream(disk)) {
            in.read(); // the host's root can open it
        }
        Result r = run(HARD.toBuilder().runAs(0, 0).build(),
                "for d in " + disk + " /dev/mem /dev/kvm; do cat $d > /dev/null 2>&1 < /dev/null; echo $?; done; "
                        + "mknod /tmp/blk b 254 0; echo $?; echo devices: $(find /dev -type b)");
        assertThat(r.out().lines().limit(4).toList()).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
        assertThat(r.out().lines()).contains("devices:"); // the minimal root's /dev has no block device at all
        // without the minimal root the host's /dev is there, and an unprivileged program still cannot open it
        Result host = run(Sandbox.builder().pidNs().build(), "ls -l " + disk + " | cut -c1; head -c 1 " + disk + " > /dev/null; echo $?");
        assertThat(host.out().lines().toList()).as(host.err()).hasSize(2).first().isEqualTo("b");
        assertThat(host.out().lines().toList().get(1)).isNotEqualTo("0");
        assertThat(host.err()).contains("Permission denied");
    }

    @Test
    @Timeout(120)
    void joiningAnAncestorCgroupFails() throws Exception {
        // The root cgroup of every hierarchy, and the JVM's own cgroup in each (an ancestor of the sandbox's on v1 and
        // hybrid hosts), wherever this host mounts them: the program tries to write its pid into each.
        List<Path> targets = new java.util.ArrayList<>();
        CgroupPaths.mountPoints().forEach(m -> targets.add(m.resolve("cgroup.procs")));
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            Path own = CgroupPaths.directoryOf(line).resolve("cgroup.procs");
            if (!targets.contains(own)) {
                targets.add(own);
            }
        }
        assertThat(targets).isNotEmpty().allSatisfy(f -> assertThat(f).exists());
        Sandbox limited = Sandbox.builder().pidNs().pidsLimit(64).build(); // host file system visible
        StringBuilder script = new StringBuilder();
        for (Path f : targets) {
            script.append("echo $$ > ").append(f).append("; echo $?; ");
        }
        Result r = run(limited, script + "cat /proc/self/cgroup");
        List<String> lines = r.out().lines().toList();
        assertThat(lines.subList(0, targets.size())).as("%s: %s", targets, r.err()).allSatisfy(code -> assertThat(code).isNotEqualTo("0"));
        assertThat(r.err().lines().filter(l -> !l.isBlank())).hasSize(targets.size()).allSatisfy(l -> assertThat(l).contains("Permission denied"));
        // and it is still in its own cgroup of every hierarchy that carries its limit
        assertThat(lines.subList(targets.size(), lines.size()).stream().filter(l -> l.matches("0::.*|\\d+:[^:]*pids[^:]*:.*")))
                .isNotEmpty().allSatisfy(l -> assertThat(l).contains("/isolation-"));
    }

    @Test
    @Timeout(60)
    void anInnerUserNamespaceGainsNothingOnTheHost(@TempDir Path dir) throws Exception {
        // the host's mounts where the attempts mount (/tmp, /mnt), and any of their sources
        List<Path> around = List.of(dir, Path.of("/tmp"), Path.of("/mnt"));
        List<String> sources = List.of("isolation-inner", "x");
        List<String> hostMounts = Probe.hostMountsAround(around, sources);
        assertThat(hostMounts).as("the host's mounts at and above %s", dir).isNotEmpty().noneMatch(l -> l.contains("isolation-inner"));
        Result killed = run(HARD, "unshare -Urm sh -c 'mount -t tmpfs x /tmp && echo mounted'");
        assertThat(killed.out()).doesNotContain("mounted");
        assertThat(killed.outcome().forbiddenSyscall()).hasValue("unshare");
        // Without seccomp, nobody makes a user namespace of its own and is root there: it can mount in its own
        // mount namespace, and that is all. The host's files (here a root-owned 0755 directory of the test and
        // /etc/shadow) treat it as the nobody it is, and the mount is seen neither by the sandbox nor by the host.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result inner = run(Sandbox.builder().pidNs().mountNs().seccomp(SeccompPolicy.none()).build(),
                "unshare -Urm sh -c 'id -u; mount -t tmpfs isolation-inner /mnt && grep -c isolation-inner /proc/self/mountinfo; "
                        + "touch " + dir + "/inner-root-was-here 2>/dev/null || echo no-write; "
                        + "head -c 1 /etc/shadow >/dev/null 2>&1 || echo no-read'; "
                        + "grep -c isolation-inner /proc/self/mountinfo");
        assertThat(inner.out().lines().toList()).as(inner.err()).containsExactly("0", "1", "no-write", "no-read", "0");
        assertThat(dir.resolve("inner-root-was-here")).doesNotExist();
        assertThat(Probe.hostMountsAround(around, sources)).isEqualTo(hostMounts);
    }

    @Test
    @Timeout(120)
    void rlimitsCannotBeRaisedAboveTheHardLimit() throws Exception {
        Result r = run(HARD.toBuilder().rlimit(Rlimit.NOFILE, 64, 128).build(),
                "ulimit -n; ulimit -H -n; ulimit -n 256; echo $?; ulimit -n 128; echo $?");
        assertThat(r.out().lines().toList()).containsExactly("64", "128", "2", "0");
    }
}
