package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp policies in the real kernel: what the default policy refuses (kernel modules,
 * io_uring, the foreign system call ABIs), what an {@code allow} rule lets through, that the filter
 * is the helper's last step (the setup's own calls are not under it), and what a host without
 * libseccomp says. Each program is harmless even unfiltered: it loads no module (an invalid
 * descriptor), and the directories it would make are in the test's own temporary directory.
 */
@KernelTest
class SeccompKernelIT {
    private static final Sandbox BOX = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();

    /** Calls by number of this architecture, printing the errno name or "ok". */
    private static final String SYSCALLS = "import ctypes, errno, os, platform, sys\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "NR = {'x86_64': {'init_module': 175, 'delete_module': 176, 'finit_module': 313, 'io_uring_setup': 425},\n"
            + "      'aarch64': {'init_module': 105, 'delete_module': 106, 'finit_module': 273, 'io_uring_setup': 425}}"
            + "[platform.machine()]\n"
            + "def sc(name, *a):\n"
            + "    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(x) if isinstance(x, int) else x for x in a])\n"
            + "    print(name, errno.errorcode.get(ctypes.get_errno(), 'ok') if r < 0 else 'ok', flush=True)\n"
            + "params = ctypes.create_string_buffer(120)\n" // struct io_uring_params
            + "calls = {'finit_module': (-1, b'', 0), 'init_module': (0, 0, b''),\n"
            + "         'delete_module': (b'isolation_no_such_module', os.O_NONBLOCK), 'io_uring_setup': (1, params)}\n"
            + "sc(sys.argv[1], *calls[sys.argv[1]])\n";

    private static Bounded.Result python(Sandbox sandbox, String code, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", "-c", code));
        command.addAll(List.of(args));
        return Bounded.run(sandbox, command.toArray(String[]::new));
    }

    @Test
    @Timeout(120)
    void theDefaultPolicyKillsModuleLoadingAndIoUringAndNamesTheCall() throws Exception {
        Sandbox unfiltered = BOX.toBuilder().seccomp(SeccompPolicy.none()).build();
        for (String call : List.of("finit_module", "init_module", "delete_module", "io_uring_setup")) {
            // unfiltered, the call reaches the kernel and returns (EPERM without CAP_SYS_MODULE; io_uring may work)
            Bounded.Result reached = python(unfiltered, SYSCALLS, call);
            assertThat(reached.outcome().status()).as("%s unfiltered: %s", call, reached.err()).isEqualTo(Outcome.Status.OK);
            assertThat(reached.out()).as(call).startsWith(call + " ");
            // the default policy kills the sandbox at the call, which never returns to print
            Bounded.Result killed = python(BOX, SYSCALLS, call);
            assertThat(killed.outcome().status()).as("%s: %s", call, killed.err()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
            assertThat(killed.outcome().forbiddenSyscall()).hasValue(call);
            assertThat(killed.out()).isEmpty();
        }
    }

    /** mkdir(argv[2]) through the i386 ABI (int 0x80, call 39) or the x32 ABI (bit 30, call 83); prints the result. */
    private static final String FOREIGN_ABI = String.join("\n",
            "#include <stdio.h>",
            "#include <string.h>",
            "static char path[4096]; /* in a static -no-pie binary: below 4 GiB, as the i386 ABI needs */",
            "int main(int argc, char **argv) {",
            "    long r;",
            "    strncpy(path, argv[2], sizeof path - 1);",
            "    if (argv[1][0] == 'i')",
            "        __asm__ volatile (\"int $0x80\" : \"=a\"(r) : \"a\"(39L), \"b\"(path), \"c\"(0755L) : \"memory\");",
            "    else",
            "        __asm__ volatile (\"syscall\" : \"=a\"(r) : \"a\"(0x40000000L | 83), \"D\"(path), \"S\"(0755L)",
            "                          : \"rcx\", \"r11\", \"memory\");",
            "    printf(\"%ld\\n\", r);",
            "    return 0;",
            "}",
            "");

    @Test
    @Timeout(120)
    void theForeignSystemCallAbisAreRefused(@TempDir Path dir) throws Exception {
        Skip.unlessArchitecture("amd64", "the i386 and x32 ABIs are x86_64's");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path src = Files.writeString(dir.resolve("abi.c"), FOREIGN_ABI);
        Process cc = new ProcessBuilder("cc", "-O0", "-static", "-no-pie", "-o", dir.resolve("abi").toString(), src.toString())
                .redirectErrorStream(true).start();
        java.util.concurrent.Future<String> ccOut = Bounded.drain(cc.getInputStream());
        assertThat(cc.waitFor(120, TimeUnit.SECONDS)).as("cc ended").isTrue();
        assertThat(cc.exitValue()).as("cc: %s", Bounded.get(ccOut, "cc's output")).isZero();
        Sandbox unfiltered = BOX.toBuilder().bindWritable(dir, "/w").seccomp(SeccompPolicy.none()).build();
        Sandbox filtered = BOX.toBuilder().bindWritable(dir, "/w").build();

        // unfiltered, the i386 call runs: the directory appears (a 64-bit filter that only looked at the number would
        // see getpid, 39 on x86_64)
        Bounded.Result i386 = Bounded.run(unfiltered, "/w/abi", "i", "/w/by-i386");
        Skip.unless(i386.outcome().status() == Outcome.Status.OK && i386.out().equals("0\n"),
                "a kernel with the i386 ABI (CONFIG_IA32_EMULATION, not booted with ia32_emulation=0): " + i386.outcome());
        assertThat(dir.resolve("by-i386")).isDirectory();
        // unfiltered, the x32 call runs too where the kernel has the ABI, else ENOSYS (-38)
        Bounded.Result x32 = Bounded.run(unfiltered, "/w/abi", "x", "/w/by-x32");
        assertThat(x32.out()).as("%s %s", x32.outcome(), x32.err()).isIn("0\n", "-38\n");
        assertThat(Files.isDirectory(dir.resolve("by-x32"))).isEqualTo(x32.out().equals("0\n"));

        // the default and strict policies kill the program at the foreign call, which never returns
        List<Sandbox> policies = List.of(filtered, filtered.toBuilder().seccomp(SeccompPolicy.strict()).build());
        for (int p = 0; p < policies.size(); p++) {
            Sandbox s = policies.get(p);
            for (String abi : List.of("i", "x")) {
                String made = "/w/filtered-" + abi + "-" + p;
                Bounded.Result r = Bounded.run(s, "/w/abi", abi, made);
                // the filter's check of the architecture kills with SIGSYS at once: the monitor is not asked, so no name
                assertThat(r.outcome().status()).as("%s %s: %s", abi, s.seccomp(), r.outcome()).isEqualTo(Outcome.Status.RESTRICTED_SYSCALL);
                assertThat(r.outcome().signal()).hasValue(31);
                assertThat(r.out()).isEmpty();
                assertThat(dir.resolve(made.substring(3))).doesNotExist();
            }
        }
    }

    @Test
    @Timeout(120)
    void anAllowRuleLetsTheKernelRunACallThePolicyDenies() throws Exception {
        // the default policy kills unshare; with allow("unshare") the program makes a user namespace of its own
        String unshare = "unshare -U sh -c 'readlink /proc/self/ns/user'";
        Bounded.Result denied = Bounded.run(BOX, "sh", "-c", unshare);
        assertThat(denied.outcome().forbiddenSyscall()).as(denied.err()).hasValue("unshare");
        String hostUserNs = Files.readSymbolicLink(Path.of("/proc/self/ns/user")).toString();
        Bounded.Result allowed = Bounded.run(BOX.toBuilder().seccomp(SeccompPolicy.defaultPolicy().allow("unshare")).build(),
                "sh", "-c", "readlink /proc/self/ns/user; " + unshare);
        assertThat(allowed.outcome().status()).as("%s %s", allowed.outcome(), allowed.err()).isEqualTo(Outcome.Status.OK);
        List<String> ns = allowed.out().lines().toList();
        assertThat(ns).hasSize(2).allSatisfy(n -> assertThat(n).matches("user:\\[\\d+\\]"));
        assertThat(ns.get(1)).as("the namespace unshare made").isNotEqualTo(ns.get(0)).isNotEqualTo(hostUserNs);
        // strict() refuses every socket with EACCES; allow("socket") gives it back
        String socket = "import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close(); print('socket ok')\n"
                + "except OSError as e:\n    print('socket', e.errno)\n";
        Sandbox strict = BOX.toBuilder().seccomp(SeccompPolicy.strict()).build();
        assertThat(python(strict, socket).out()).isEqualTo("socket 13\n");
        assertThat(python(strict.toBuilder().seccomp(SeccompPolicy.strict().allow("socket")).build(), socket).out())
                .isEqualTo("socket ok\n");
    }

    @Test
    @Timeout(120)
    void theFilterIsTheLastStepBeforeTheProgram(@TempDir Path dir) throws Exception {
        // A policy that kills every call of the helper's own steps in the program's process: loopback (socket),
        // hostname, the identity (setgroups, setresgid, setresuid, capset, prctl for the bounding set and securebits,
        // no_new_privs) and the working directory. Had the filter come before any of them, the start would fail naming
        // it. The mounts and pivot_root are denied by the default policy already.
        List<String> setupCalls = List.of("socket", "sethostname", "setgroups", "setresgid", "setresuid", "capset", "prctl", "chdir");
        SeccompPolicy policy = SeccompPolicy.defaultPolicy();
        for (String call : setupCalls) {
            policy = policy.deny(call);
        }
        Sandbox s = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().hostname("box").minimalRoot()
                .rlimit(Rlimit.NOFILE, 64, 64).seccomp(policy).build();
        ProcessBuilder inTmp = new ProcessBuilder("/bin/true").directory(new File("/tmp"));
        Bounded.Result started = Bounded.run(s, inTmp);
        assertThat(started.outcome().status()).as("%s: %s", started.outcome(), started.outcome().message())
                .isEqualTo(Outcome.Status.OK);
        // and the same calls made by the program itself are killed: the filter is in force for it
        Bounded.Result chdir = python(s, "import os\nos.chdir('/tmp')\nprint('chdir ran')\n");
        assertThat(chdir.outcome().forbiddenSyscall()).as("%s %s", chdir.outcome(), chdir.err()).hasValue("chdir");
        assertThat(chdir.out()).isEmpty();
        Bounded.Result setresuid = python(s, "import os\nos.setresuid(os.getuid(), os.getuid(), os.getuid())\nprint('ran')\n");
        assertThat(setresuid.outcome().forbiddenSyscall()).hasValue("setresuid");
    }

    @Test
    @Timeout(180)
    void withoutLibseccompAFilteredSandboxFailsSayingSoAndAnUnfilteredOneRuns(@TempDir Path dir) throws Exception {
        // A JVM for which libseccomp.so.2 is an empty file (a bind of /dev/null over it, in a mount namespace of its
        // own: the host's library is untouched).
        assertThat(dev.isolation.core.internal.seccomp.BpfCompiler.isAvailable()).as("libseccomp on this host").isTrue();
        List<String> libraries = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.contains("libseccomp.so")).map(l -> l.substring(l.indexOf('/'))).distinct().toList();
        assertThat(libraries).as("libseccomp mapped in this JVM").isNotEmpty();
        StringBuilder hide = new StringBuilder();
        for (String lib : libraries) {
            hide.append("mount --bind /dev/null '").append(lib).append("' && ");
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                hide + "exec \"$0\" " + JavaCommand.shellFlags() + " -cp \"$1\" \"$2\"", java, System.getProperty("java.class.path"), WithoutLibseccomp.class.getName())
                .redirectErrorStream(true).start();
        java.util.concurrent.Future<String> output = Bounded.drain(jvm.getInputStream());
        assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).as("the JVM without libseccomp ended").isTrue();
        List<String> out = Bounded.get(output, "its output").lines().toList();
        assertThat(out).as(String.join("\n", out)).hasSize(2);
        assertThat(out.get(0)).startsWith("refused UnsupportedHostException: ").contains("libseccomp.so.2")
                .contains("apt-get install libseccomp2");
        assertThat(out.get(1)).isEqualTo("unfiltered OK hello");
        assertThat(Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains("libseccomp.so"))).isNotEmpty();
    }

    /** The JVM of {@link #withoutLibseccompAFilteredSandboxFailsSayingSoAndAnUnfilteredOneRuns}. */
    static final class WithoutLibseccomp {
        public static void main(String[] args) throws Exception {
            Sandbox s = Sandbox.builder().pidNs().mountNs().minimalRoot().build();
            try (IsolatedProcess p = s.start("echo", "hello")) {
                System.out.println("ran anyway " + p.outcome().get(30, TimeUnit.SECONDS));
            } catch (SandboxException | RuntimeException e) {
                System.out.println("refused " + e.getClass().getSimpleName() + ": " + e.getMessage().replace('\n', ' '));
            }
            Outcome o = s.toBuilder().seccomp(SeccompPolicy.none()).build().run("echo", "hello");
            System.out.println("unfiltered " + o.status() + " " + o.stdoutText().trim());
        }
    }
}
