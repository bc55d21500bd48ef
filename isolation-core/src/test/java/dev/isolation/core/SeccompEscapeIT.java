package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile programs go around the seccomp policies: through socket families that a network
 * namespace does not isolate (AF_VSOCK shares the host's port space), and by installing seccomp
 * filters of their own, whose ERRNO outranks the sandbox's notification, or whose own listener
 * would answer "continue" for a call the sandbox denies. Each attack is real and harmless to the
 * host even unsandboxed: it binds a random high vsock port and listens (never connects), makes
 * a FIFO in a temporary directory, or creates a user namespace.
 */
@KernelTest
class SeccompEscapeIT {
    private static final Sandbox NET = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();

    /** Errno names, syscall numbers, and a four-instruction seccomp filter of the program's own. */
    private static final String PRELUDE = "import ctypes, errno, os, platform, socket, struct, sys\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "NR = {'x86_64': {'socket': 41, 'seccomp': 317, 'unshare': 272, 'mknodat': 259, 'ptrace': 101},\n"
            + "      'aarch64': {'socket': 198, 'seccomp': 277, 'unshare': 97, 'mknodat': 33, 'ptrace': 117}}[platform.machine()]\n"
            + "def err():\n"
            + "    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))\n"
            + "def sc(name, *a):\n"
            + "    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(x) for x in a])\n"
            + "    return 'ok' if r >= 0 else err()\n"
            + "def say(*words):\n"
            + "    print(*words, flush=True)\n"
            + "class Insn(ctypes.Structure):\n"
            + "    _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte), ('k', ctypes.c_uint)]\n"
            + "class Prog(ctypes.Structure):\n"
            + "    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(Insn))]\n"
            + "def only(name, action):\n"
            + "    # ld [nr]; jeq NR, 0, 1; ret action; ret ALLOW\n"
            + "    insns = (Insn * 4)((0x20, 0, 0, 0), (0x15, 0, 1, NR[name]), (0x06, 0, 0, action), (0x06, 0, 0, 0x7fff0000))\n"
            + "    return Prog(4, insns)\n"
            + "ERRNO_EPERM, USER_NOTIF = 0x00050001, 0x7fc00000\n"
            + "PR_SET_NAME, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 15, 22, 2\n"
            + "SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, CLONE_NEWUSER = 1, 8, 0x10000000\n";

    record Result(Outcome outcome, List<String> out, String err) {}

    /**
     * Runs a python3 program, handing each line it prints to {@code onLine} (which may look at the
     * host and write to the program's stdin), and closes stdin at the end of its output.
     */
    static Result python(Sandbox sandbox, String code, OnLine onLine, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", "-c", PRELUDE + code));
        command.addAll(List.of(args));
        try (IsolatedProcess p = sandbox.start(command.toArray(String[]::new))) {
            List<String> lines = new ArrayList<>();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            try (OutputStream stdin = p.getOutputStream()) {
                for (String line; (line = out.readLine()) != null; ) {
                    lines.add(line);
                    onLine.accept(line, p, stdin);
                }
            }
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(p.outcome().get(30, TimeUnit.SECONDS), lines, err);
        }
    }

    static Result python(Sandbox sandbox, String code, String... args) throws Exception {
        return python(sandbox, code, (line, p, stdin) -> { }, args);
    }

    @FunctionalInterface
    interface OnLine {
        void accept(String line, IsolatedProcess p, OutputStream stdin) throws Exception;
    }

    // ---------------------------------------------------------------- socket families (item 3)

    /**
     * Binds the vsock port on the host itself and closes it at once: "free", "EADDRINUSE", or
     * "absent" where this kernel has no AF_VSOCK. Never connects.
     */
    static String hostVsockBind(int port) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import socket, errno, sys\n"
                + "try:\n"
                + "    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\n"
                + "except OSError:\n"
                + "    print('absent'); sys.exit(0)\n"
                + "try:\n"
                + "    s.bind((socket.VMADDR_CID_ANY, int(sys.argv[1]))); print('free')\n"
                + "except OSError as e:\n"
                + "    print(errno.errorcode[e.errno])\n"
                + "s.close()\n", Integer.toString(port)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** Makes an AF_VSOCK stream socket, binds the port on any CID and listens, then waits for a line on stdin. */
    private static final String VSOCK_SQUAT = "try:\n"
            + "    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\n"
            + "except OSError as e:\n"
            + "    say('socket', errno.errorcode[e.errno]); sys.exit(0)\n"
            + "s.bind((socket.VMADDR_CID_ANY, int(sys.argv[1]))); s.listen(1)\n"
            + "say('listening')\n"
            + "sys.stdin.readline()\n"
            + "s.close()\n";

    /** A random high port that the host can bind right now (no one else uses it). */
    static int freeVsockPort() throws Exception {
        for (int i = 0; i < 10; i++) {
            int port = 40000 + ThreadLocalRandom.current().nextInt(20000);
            if (!hostVsockBind(port).equals("EADDRINUSE")) {
                return port;
            }
        }
        throw new AssertionError("no free vsock port found");
    }

    @Test
    @Timeout(120)
    void withoutAFilterAVsockListenerInANetworkNamespaceSquatsTheHostsPort() throws Exception {
        int port = freeVsockPort();
        Skip.unless(!hostVsockBind(port).equals("absent"), "this kernel has no AF_VSOCK, so the attack cannot be shown"
                + " here; socketFamiliesThatNetworkNamespacesDoNotIsolateAreRefused still proves the filter");
        List<String> hostSaw = new ArrayList<>();
        Result r = python(NET.toBuilder().seccomp(SeccompPolicy.none()).build(), VSOCK_SQUAT, (line, p, stdin) -> {
            if (line.equals("listening")) {
                hostSaw.add(hostVsockBind(port)); // while the sandbox listens
                stdin.write('\n');
                stdin.flush();
            }
        }, Integer.toString(port));
        // the attack this class is about: a network namespace does not isolate vsock ports
        assertThat(r.out()).as(r.err()).containsExactly("listening");
        assertThat(hostSaw).containsExactly("EADDRINUSE");
        assertThat(hostVsockBind(port)).isEqualTo("free");
    }

    @Test
    @Timeout(120)
    void theDefaultAndStrictPoliciesRefuseVsockAndNothingSquatsTheHostsPort() throws Exception {
        int port = freeVsockPort();
        String[][] cases = {{"default", "EAFNOSUPPORT"}, {"strict", "EACCES"}, {"default+userNs", "EAFNOSUPPORT"}};
        for (String[] c : cases) {
            Sandbox.Builder b = NET.toBuilder();
            if (c[0].startsWith("strict")) {
                b.seccomp(SeccompPolicy.strict());
            }
            if (c[0].endsWith("userNs")) {
                b.userNs(); // root inside its own user namespace: still no vsock
            }
            Result r = python(b.build(), VSOCK_SQUAT, (line, p, stdin) -> {
                if (line.equals("listening")) { // let a failing test end
                    stdin.write('\n');
                    stdin.flush();
                }
            }, Integer.toString(port));
            assertThat(r.out()).as("%s: %s", c[0], r.err()).containsExactly("socket " + c[1]);
            assertThat(r.outcome().status()).as(c[0]).isEqualTo(Outcome.Status.OK);
            // the host can bind the port itself: nothing in the sandbox held it
            assertThat(hostVsockBind(port)).as(c[0]).isIn("free", "absent");
        }
    }

    @Test
    @Timeout(120)
    void socketFamiliesThatNetworkNamespacesDoNotIsolateAreRefused() throws Exception {
        // An invalid socket type (0x63) makes the kernel fail with EINVAL before it even looks the
        // family up, so the errno shows who refused, whether or not this kernel has the family.
        String probe = "for fam in sys.argv[1:]:\n"
                + "    r = libc.socket(int(fam), 0x63, 0)\n"
                + "    say(fam, 'ok' if r >= 0 else err())\n";
        String[] families = {"40", "21", "24", "34", "42", "2"}; // VSOCK, RDS, PPPOX, ISDN, QIPCRTR; INET as control
        Result none = python(NET.toBuilder().seccomp(SeccompPolicy.none()).build(), probe, families);
        assertThat(none.out()).as(none.err()).containsExactly("40 EINVAL", "21 EINVAL", "24 EINVAL", "34 EINVAL", "42 EINVAL", "2 EINVAL");
        Result dflt = python(NET, probe, families);
        assertThat(dflt.out()).as(dflt.err()).containsExactly(
                "40 EAFNOSUPPORT", "21 EAFNOSUPPORT", "24 EAFNOSUPPORT", "34 EAFNOSUPPORT", "42 EAFNOSUPPORT", "2 EINVAL");
        // the kernel ignores the upper half of the int argument; so does the filter
        Result wide = python(NET, "say(sc('socket', (1 << 32) | 40, 0x63, 0))\n");
        assertThat(wide.out()).as(wide.err()).containsExactly("EAFNOSUPPORT");
        Result strict = python(NET.toBuilder().seccomp(SeccompPolicy.strict()).build(), probe, families);
        assertThat(strict.out()).as(strict.err()).containsExactly(
                "40 EACCES", "21 EACCES", "24 EACCES", "34 EACCES", "42 EACCES", "2 EACCES");
    }

    // ---------------------------------------------------------------- the program's own filters (item 8b)

    @Test
    @Timeout(120)
    void underStrictAProgramCannotInstallAFilterThatHidesADeniedCall(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Sandbox strict = NET.toBuilder().bindWritable(dir, "/data").seccomp(SeccompPolicy.strict()).build();
        // its own filter makes mknodat fail with EPERM, which outranks the monitor's notification:
        // without the rule the FIFO is refused and the verdict says OK
        String viaPrctl = "say('name', 'ok' if libc.prctl(PR_SET_NAME, b'judged', 0, 0, 0) == 0 else err())\n"
                + "prog = only('mknodat', ERRNO_EPERM)\n"
                + "say('filter', 'ok' if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0 else err())\n"
                + "try:\n"
                + "    os.mkfifo('/data/fifo'); say('mkfifo ok')\n"
                + "except OSError as e:\n"
                + "    say('mkfifo', errno.errorcode[e.errno])\n";
        Result r = python(strict, viaPrctl);
        assertThat(r.outcome().status()).as("%s %s", r.out(), r.err()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(r.outcome().forbiddenSyscall()).hasValue("prctl");
        assertThat(r.out()).containsExactly("name ok"); // other prctl options still work
        String viaSeccomp = "prog = only('mknodat', ERRNO_EPERM)\n"
                + "say('filter', sc('seccomp', SECCOMP_SET_MODE_FILTER, 0, ctypes.addressof(prog)))\n"
                + "os.mkfifo('/data/fifo')\n";
        Result s = python(strict, viaSeccomp);
        assertThat(s.outcome().status()).as("%s %s", s.out(), s.err()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(s.outcome().forbiddenSyscall()).hasValue("seccomp");
        assertThat(s.out()).isEmpty();
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty(); // no FIFO on the host
        }
    }

    @Test
    @Timeout(120)
    void underTheDefaultPolicyAProgramsOwnListenerCannotLetADeniedCallRun() throws Exception {
        // Its own filter would send unshare to its own listener, and a child would answer CONTINUE:
        // the kernel would then run unshare(CLONE_NEWUSER), which the default policy denies. The
        // default policy allows seccomp because this cannot happen: while the monitor listens the
        // kernel refuses a second listener (EBUSY), and where the policy kills instead (no sendmsg,
        // so no monitor) the kill outranks the program's notification.
        String code = "prog = only('unshare', USER_NOTIF)\n"
                + "fd = libc.syscall(ctypes.c_long(NR['seccomp']), ctypes.c_long(SECCOMP_SET_MODE_FILTER),"
                + " ctypes.c_long(SECCOMP_FILTER_FLAG_NEW_LISTENER), ctypes.byref(prog))\n"
                + "if fd < 0:\n"
                + "    say('listener', err())\n"
                + "else:\n"
                + "    say('listener ok')\n"
                + "    if os.fork() == 0:\n"
                + "        notif = ctypes.create_string_buffer(80)\n" // struct seccomp_notif
                + "        if libc.ioctl(fd, ctypes.c_ulong(0xc0502100), notif) == 0:\n" // SECCOMP_IOCTL_NOTIF_RECV
                + "            resp = struct.pack('=QqiI', struct.unpack_from('=Q', notif)[0], 0, 0, 1)\n" // FLAG_CONTINUE
                + "            libc.ioctl(fd, ctypes.c_ulong(0xc0182101), ctypes.create_string_buffer(resp, 24))\n" // SEND
                + "        os._exit(0)\n"
                + "say('unshare', sc('unshare', CLONE_NEWUSER))\n"
                + "sys.stdin.readline()\n";
        String hostUserNs = Files.readSymbolicLink(Path.of("/proc/self/ns/user")).toString();
        OnLine whereIsIt = (line, p, stdin) -> {
            if (line.startsWith("unshare")) { // still alive: seen from the host, did unshare run?
                String ns = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/user")).toString();
                stdin.write('\n');
                stdin.flush();
                assertThat(ns).as("the program's user namespace after a denied unshare").isEqualTo(hostUserNs);
            }
        };
        Result monitored = python(NET, code, whereIsIt);
        assertThat(monitored.out()).as(monitored.err()).containsExactly("listener EBUSY");
        assertThat(monitored.outcome().status()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(monitored.outcome().forbiddenSyscall()).hasValue("unshare");
        Sandbox killing = NET.toBuilder().seccomp(SeccompPolicy.defaultPolicy().deny("sendmsg")).build();
        Result killed = python(killing, code, whereIsIt);
        assertThat(killed.out()).as(killed.err()).containsExactly("listener ok");
        assertThat(killed.outcome().status()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
    }

    @Test
    @Timeout(120)
    void underTheDefaultPolicyAProgramsOwnErrnoFilterOnlyMakesCallsFail() throws Exception {
        // allowed: a program may sandbox itself further (Chromium, systemd services do); a call its
        // own filter refuses fails with the program's errno and does not run, and every other call
        // the policy denies is still seen and named by the monitor
        String code = "prog = only('unshare', ERRNO_EPERM)\n"
                + "say('filter', 'ok' if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0 else err())\n"
                + "say('unshare', sc('unshare', CLONE_NEWUSER))\n"
                + "sys.stdin.readline()\n"
                + "say('ptrace', sc('ptrace', 0, 0, 0, 0))\n"; // PTRACE_TRACEME
        String hostUserNs = Files.readSymbolicLink(Path.of("/proc/self/ns/user")).toString();
        List<String> programUserNs = new ArrayList<>();
        Result r = python(NET, code, (line, p, stdin) -> {
            if (line.startsWith("unshare")) {
                programUserNs.add(Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/user")).toString());
                stdin.write('\n');
                stdin.flush();
            }
        });
        assertThat(r.out()).as(r.err()).containsExactly("filter ok", "unshare EPERM");
        assertThat(programUserNs).containsExactly(hostUserNs); // the unshare did not run
        assertThat(r.outcome().status()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
        assertThat(r.outcome().forbiddenSyscall()).hasValue("ptrace");
    }
}
