package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who a sandboxed program is on the host, and what it can reach from there: each live sandbox of a
 * root JVM runs as an id of its own (not the host's nobody), so no host user and no other sandbox
 * shares its per-user kernel counts or may read or signal it (item 5); no program can signal, stop
 * or ptrace its monitor or the JVM (item 6); no program can write to a cgroup file outside its own
 * subtree (item 7), as uid 0 or as the default identity. Every attack is made for real and the host
 * is checked afterwards.
 */
@KernelTest
class IdentityIT {
    /** The default id range, spelled out (the test does not trust the library's constants). */
    private static final long FIRST = 2130706432L;
    private static final long LAST = FIRST + 65536 - 1;
    private static final long NOBODY = 65534;

    // ---- item 5: a sandbox is nobody else ------------------------------------------------------

    @Test
    @Timeout(60)
    void concurrentSandboxesRunAsDistinctIdsOfTheRangeAndNotAsNobody() throws Exception {
        Sandbox sandbox = Sandbox.builder().pidNs().build();
        try (IsolatedProcess a = sandbox.start("sh", "-c", "id -u; id -g; exec cat");
                IsolatedProcess b = sandbox.start("sh", "-c", "id -u; id -g; exec cat")) {
            BufferedReader ra = reader(a), rb = reader(b);
            long ua = Long.parseLong(ra.readLine()), ga = Long.parseLong(ra.readLine());
            long ub = Long.parseLong(rb.readLine()), gb = Long.parseLong(rb.readLine());
            assertThat(ua).isNotEqualTo(ub).isNotEqualTo(NOBODY).isBetween(FIRST, LAST);
            assertThat(ub).isNotEqualTo(NOBODY).isBetween(FIRST, LAST);
            assertThat(ga).isEqualTo(ua);
            assertThat(gb).isEqualTo(ub);
            // the host sees the same: real, effective, saved and file system ids
            assertThat(hostIds(a.pid(), "Uid:")).containsOnly(ua);
            assertThat(hostIds(a.pid(), "Gid:")).containsOnly(ua);
            assertThat(hostIds(b.pid(), "Uid:")).containsOnly(ub);
        }
    }

    @Test
    @Timeout(60)
    void theMinimalRootsPasswdAndAUserNamespaceMapShowTheSandboxsOwnId() throws Exception {
        String out = Probe.run(Sandbox.builder().pidNs().mountNs().minimalRoot().build(), "sh", "-c",
                "id -u; id -un; grep '^sandbox:' /etc/passwd");
        List<String> lines = out.lines().toList();
        long uid = Long.parseLong(lines.get(0));
        assertThat(uid).isBetween(FIRST, LAST);
        assertThat(lines.get(1)).isEqualTo("sandbox");
        assertThat(lines.get(2)).startsWith("sandbox:x:" + uid + ":" + uid + ":");

        String map = Probe.run(Sandbox.builder().userNs().pidNs().mountNs().build(), "cat", "/proc/self/uid_map");
        String[] fields = map.trim().split("\\s+");
        assertThat(fields[0]).isEqualTo("0");
        assertThat(Long.parseLong(fields[1])).isBetween(FIRST, LAST);
        assertThat(fields[2]).isEqualTo("1");
    }

    @Test
    @Timeout(60)
    void aHostProcessRunningAsNobodyCannotReadTheEnvironmentOfOrSignalASandboxedProgram() throws Exception {
        String secret = "isolation-secret-" + UUID.randomUUID();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "echo started; exec cat");
        pb.environment().put("ISOLATION_SECRET", secret);
        try (IsolatedProcess p = Sandbox.builder().pidNs().build().start(pb)) {
            assertThat(reader(p).readLine()).isEqualTo("started");
            // root can read it: the secret is there to be found (once sh's exec of cat is through: mid-exec it reads empty)
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (!Files.readString(Path.of("/proc/" + p.pid() + "/environ"), StandardCharsets.ISO_8859_1).contains(secret)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(Files.readString(Path.of("/proc/" + p.pid() + "/environ"), StandardCharsets.ISO_8859_1)).contains(secret);
            String out = asNobody("cat /proc/" + p.pid() + "/environ; echo read=$?; kill -0 " + p.pid() + "; echo signal=$?");
            assertThat(out).contains("read=", "signal=").doesNotContain(secret).doesNotContain("read=0").doesNotContain("signal=0");
            assertThat(p.isAlive()).isTrue();
        }
    }

    @Test
    @Timeout(60)
    void aSandboxWithoutAPidNamespaceCannotSignalTheHostsNobody() throws Exception {
        Process nobody = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60").start();
        try {
            // kill -0: the permission check alone, nothing is delivered
            String out = Probe.run(Sandbox.builder().build(), "sh", "-c", "kill -0 " + nobody.pid() + " 2>/dev/null; echo $?");
            assertThat(out.trim()).isNotEqualTo("0");
            assertThat(nobody.isAlive()).isTrue();
        } finally {
            nobody.destroyForcibly();
        }
    }

    @Test
    @Timeout(60)
    void aSandboxKeepingItsProcessLimitFullDoesNotMakeAnothersForkFail() throws Exception {
        int n = 16;
        Sandbox limited = Sandbox.builder().pidNs().rlimit(Rlimit.NPROC, n).build();
        // sh and n - 1 sleeps: n processes of its uid, the limit
        try (IsolatedProcess a = limited.start("sh", "-c",
                "i=1; while [ $i -lt " + n + " ]; do sleep 60 & i=$((i+1)); done; echo ready; exec cat")) {
            assertThat(reader(a).readLine()).isEqualTo("ready");
            Outcome b = limited.run("sh", "-c", "sleep 0 & wait $! && echo forked");
            assertThat(b.status()).as("%s %s", b, b.stderrText()).isEqualTo(Outcome.Status.OK);
            assertThat(b.stdoutText()).isEqualTo("forked\n");
        }
    }

    @Test
    @Timeout(60)
    void aSandboxHoldingEveryInotifyInstanceLeavesAnotherItsOwn() throws Exception {
        // read line-wise: a /proc/sys file read from offset 1 is at its end (Files.readString sees "1")
        int max = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/fs/inotify/max_user_instances")).get(0).trim());
        assertThat(max).as("fs.inotify.max_user_instances, which one sandbox fills").isBetween(1, 65536);
        String hold = "import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\nn = 0\n"
                + "while libc.inotify_init1(0) >= 0:\n    n += 1\n"
                + "print(n, os.strerror(ctypes.get_errno()), flush=True)\nsys.stdin.read()\n";
        String one = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                + "print('ok' if libc.inotify_init1(0) >= 0 else os.strerror(ctypes.get_errno()))\n";
        Sandbox sandbox = Sandbox.builder().pidNs().rlimit(Rlimit.NOFILE, max + 64).build();
        try (IsolatedProcess a = sandbox.start("/usr/bin/python3", "-c", hold)) {
            String held = reader(a).readLine();
            assertThat(held).as("every instance of its uid, then the per-user limit").isEqualTo(max + " Too many open files");
            Outcome b = sandbox.run("/usr/bin/python3", "-c", one);
            assertThat(b.stdoutText()).as("%s %s", b, b.stderrText()).isEqualTo("ok\n");
        }
    }

    @Test
    @Timeout(60)
    void aPersistentSandboxsRunsShareItsIdAndTwoSessionsDiffer() throws Exception {
        Sandbox judge = Sandbox.builder().pidNs().mountNs().minimalRoot().build();
        try (SandboxSession one = judge.open(); SandboxSession two = judge.open()) {
            long first = uid(one.run(new ProcessBuilder("id", "-u"), new byte[0]));
            long again = uid(one.run(new ProcessBuilder("id", "-u"), new byte[0]));
            long other = uid(two.run(new ProcessBuilder("id", "-u"), new byte[0]));
            assertThat(first).isEqualTo(again).isNotEqualTo(other).isBetween(FIRST, LAST);
            assertThat(other).isBetween(FIRST, LAST);
            assertThat(flockNonBlocking(Path.of("/run/isolation/ids/" + first))).as("the session's id, between runs").isEqualTo(1);
        }
    }

    @Test
    @Timeout(60)
    void anotherProcessCannotTakeASandboxsIdUntilTheSandboxIsGone() throws Exception {
        long uid;
        Path lock;
        try (IsolatedProcess p = Sandbox.builder().pidNs().build().start("sh", "-c", "id -u; exec cat")) {
            uid = Long.parseLong(reader(p).readLine());
            lock = Path.of("/run/isolation/ids/" + uid);
            assertThat(flockNonBlocking(lock)).as("flock -n %s while the sandbox lives", lock).isEqualTo(1);
        }
        assertThat(flockNonBlocking(lock)).as("flock -n %s once it is gone", lock).isZero();
        assertThat(Files.getAttribute(lock.getParent(), "unix:mode")).as("a root-only directory").isEqualTo(040700);
    }

    @Test
    @Timeout(120)
    void whenTheJvmIsKilledItsSandboxDiesAndTheIdIsFreeAgain() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), HoldingJvm.class.getName()))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String[] started = new BufferedReader(new InputStreamReader(jvm.getInputStream())).readLine().split(" ");
            long uid = Long.parseLong(started[0]);
            long program = Long.parseLong(started[1]);
            Path lock = Path.of("/run/isolation/ids/" + uid);
            assertThat(flockNonBlocking(lock)).as("held while the JVM and its sandbox live").isEqualTo(1);
            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(10, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((ProcessHandle.of(program).isPresent() || flockNonBlocking(lock) != 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(ProcessHandle.of(program)).as("the sandbox's program").isEmpty();
            assertThat(flockNonBlocking(lock)).as("the id, once the monitor is gone").isZero();
        } finally {
            jvm.destroyForcibly();
        }
    }

    /** Started by the test as a JVM of its own: one sandbox, then waits to be killed. */
    static final class HoldingJvm {
        public static void main(String[] args) throws Exception {
            IsolatedProcess p = Sandbox.builder().pidNs().build().start("sh", "-c", "id -u; exec sleep 600");
            String uid = new BufferedReader(new InputStreamReader(p.getInputStream())).readLine();
            System.out.println(uid + " " + p.pid());
            System.out.flush();
            Thread.sleep(600_000);
        }
    }

    /**
     * An id whose last holder ended cleanly is marked so, and its next holder skips the sweep; a
     * holder whose monitor is killed must leave the id to be swept even so. The leftover here is a
     * grandchild of the monitor (the program's child), which the monitor's death does not take down.
     * The JVM that started it is stopped before the monitor is killed and then killed itself, so
     * that its own sweep of the id ({@code HelperDeathIT}) cannot run: the next lease must do it.
     */
    @Test
    @Timeout(120)
    void aLeftoverOfAKilledMonitorIsKilledAtTheNextLeaseAlsoAfterACleanEnd() throws Exception {
        long id = 2131000050L; // a range of one id of this test's own
        Sandbox one = Sandbox.builder().idRange(id, 1).build(); // no pid namespace
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), LeavingJvm.class.getName(),
                Long.toString(id))).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long leftover;
        try {
            String[] started = new BufferedReader(new InputStreamReader(jvm.getInputStream())).readLine().split(" ");
            assertThat(started[0]).as("a clean end first").isEqualTo(Long.toString(id));
            leftover = Long.parseLong(started[1]);
            long monitor = Long.parseLong(started[2]);
            assertThat(new ProcessBuilder("kill", "-STOP", Long.toString(jvm.pid())).start().waitFor()).isZero();
            assertThat(new ProcessBuilder("kill", "-9", Long.toString(monitor)).start().waitFor()).isZero();
            jvm.destroyForcibly();
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(200); // the program dies with its monitor (PR_SET_PDEATHSIG); its child does not
            assertThat(running(leftover)).as("the program's child, its monitor and JVM killed").isTrue();
            assertThat(hostIds(leftover, "Uid:")).containsOnly(id);
        } finally {
            jvm.destroyForcibly();
        }
        assertThat(Probe.run(one, "id", "-u").trim()).isEqualTo(Long.toString(id));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running(leftover) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(running(leftover)).as("the leftover of the id's earlier holder").isFalse();
    }

    /** Started by the test as a JVM of its own: a clean run of the id, then one that leaves a child; prints "id leftover monitor". */
    static final class LeavingJvm {
        public static void main(String[] args) throws Exception {
            Sandbox one = Sandbox.builder().idRange(Long.parseLong(args[0]), 1).build();
            String clean = one.run("id", "-u").stdoutText().trim();
            IsolatedProcess p = one.start("sh", "-c", "sleep 60 & echo $!; wait");
            String leftover = new BufferedReader(new InputStreamReader(p.getInputStream())).readLine().trim();
            long monitor = ProcessHandle.of(p.pid()).flatMap(ProcessHandle::parent).orElseThrow().pid();
            System.out.println(clean + " " + leftover + " " + monitor);
            System.out.flush();
            Thread.sleep(600_000);
        }
    }

    @Test
    @Timeout(60)
    void aRangeWhoseIdsAreAllInUseRefusesAnotherSandboxSayingSo() throws Exception {
        Sandbox one = Sandbox.builder().pidNs().idRange(2131000100L, 1).build();
        try (IsolatedProcess a = one.start("cat")) {
            assertThatThrownBy(() -> one.start("true")).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("all 1 sandbox ids 2131000100..2131000100 are in use").hasMessageContaining("idRange");
            assertThat(a.isAlive()).isTrue();
        }
        assertThat(Probe.run(one, "id", "-u").trim()).isEqualTo("2131000100");
    }

    // ---- item 6: the program cannot reach its own monitor ----------------------------------------

    @Test
    @Timeout(30)
    void aProgramThatCouldSignalItsMonitorOrTheJvmIsRefusedWithoutAPidNamespace() {
        List<Sandbox.Builder> reachers = List.of(Sandbox.builder().mountNs().runAs(0, 0),
                Sandbox.builder().mountNs().uidMap(0, 0, 1).gidMap(0, 0, 1),
                Sandbox.builder().mountNs().keepCapability("CAP_KILL"),
                Sandbox.builder().mountNs().keepCapability("CAP_SYS_PTRACE"),
                Sandbox.builder().mountNs().runAs(1000, 1000).keepCapability("CAP_SETUID"));
        for (Sandbox.Builder b : reachers) {
            assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("could signal, stop or ptrace its monitor and the JVM").hasMessageContaining("add pidNs()");
        }
        assertThatThrownBy(() -> Sandbox.builder().pidNs().keepCapability("CAP_SYS_PTRACE").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("/proc").hasMessageContaining("add mountNs()");
    }

    @Test
    @Timeout(60)
    void asRootWithAPidNamespaceTheProgramCannotStopSignalOrPtraceItsMonitorOrTheJvm() throws Exception {
        Sandbox root = Sandbox.builder().pidNs().mountNs().runAs(0, 0).seccomp(SeccompPolicy.none()).build();
        String attack = "import ctypes, os, signal, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                + "monitor, jvm = int(sys.stdin.readline()), int(sys.stdin.readline())\n"
                + "def attempt(name, f):\n"
                + "    try:\n        f(); print(name, 'ok', flush=True)\n"
                + "    except OSError as e:\n        print(name, e.errno, flush=True)\n"
                + "def ptrace(pid):\n"
                + "    if libc.ptrace(16, pid, 0, 0) != 0: raise OSError(ctypes.get_errno(), 'ptrace')\n"
                + "attempt('stop-monitor', lambda: os.kill(monitor, signal.SIGSTOP))\n"
                + "attempt('signal-jvm', lambda: os.kill(jvm, 0))\n"
                + "attempt('ptrace-monitor', lambda: ptrace(monitor))\n"
                + "attempt('ptrace-jvm', lambda: ptrace(jvm))\n";
        try (IsolatedProcess p = root.start("/usr/bin/python3", "-c", attack)) {
            long init = ProcessHandle.of(p.pid()).flatMap(ProcessHandle::parent).orElseThrow().pid();
            long monitor = ProcessHandle.of(init).flatMap(ProcessHandle::parent).orElseThrow().pid();
            assertThat(Files.readString(Path.of("/proc/" + monitor + "/comm")).trim()).isEqualTo("isolation-mon");
            try (OutputStream in = p.getOutputStream()) {
                in.write((monitor + "\n" + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).as(out).isEqualTo(Outcome.Status.OK);
            // ESRCH (3): the host's processes have no pid in the sandbox's namespace
            assertThat(out.lines().toList()).containsExactly("stop-monitor 3", "signal-jvm 3", "ptrace-monitor 3", "ptrace-jvm 3");
        }
    }

    @Test
    @Timeout(60)
    void theDefaultIdentityWithoutAPidNamespaceCannotStopItsMonitor() throws Exception {
        try (IsolatedProcess p = Sandbox.builder().build().start("sh", "-c", "echo $PPID; kill -STOP $PPID; echo stop=$?; read x; true")) {
            BufferedReader r = reader(p);
            long monitor = Long.parseLong(r.readLine());
            assertThat(Files.readString(Path.of("/proc/" + monitor + "/comm")).trim()).isEqualTo("isolation-mon");
            assertThat(r.readLine()).isEqualTo("stop=1");
            String stat = Files.readString(Path.of("/proc/" + monitor + "/stat"));
            assertThat(stat.substring(stat.lastIndexOf(')') + 2)).as("the monitor's state").doesNotStartWith("T");
            p.getOutputStream().close();
            assertThat(p.outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.OK);
        }
    }

    @Test
    @Timeout(180)
    void rootlessTheProgramCannotReachItsMonitorOrTheJvm() throws Exception {
        List<String> out = runAsNobody(RootlessProbe.class);
        assertThat(out).as(String.join("\n", out)).noneMatch(l -> l.startsWith("FAIL"));
        assertThat(out.stream().filter(l -> l.startsWith("PASS")).count()).as(String.join("\n", out)).isEqualTo(RootlessProbe.CHECKS);
    }

    /** Runs as nobody (an ordinary JVM); prints PASS or FAIL per check. */
    static final class RootlessProbe {
        static final long CHECKS = 4;

        public static void main(String[] args) throws Exception {
            // the attack of the issue: --user --mount --net without --pid, the monitor stopped past --wall-time 1
            Sandbox.Builder noPid = Sandbox.builder().userNs().mountNs().netNs().wallTimeLimit(Duration.ofSeconds(1));
            try {
                Sandbox s = noPid.build();
                Outcome o = s.run("sh", "-c", "kill -STOP $PPID && s=0 || s=1; sleep 2; kill -CONT $PPID; echo stopped=$s");
                System.out.println("FAIL without pidNs() the sandbox was accepted: " + o + " " + o.stdoutText());
            } catch (IllegalStateException e) {
                System.out.println((e.getMessage().contains("add pidNs()") ? "PASS" : "FAIL")
                        + " without pidNs() an ordinary JVM's sandbox is refused: " + e.getMessage());
            }
            try {
                Sandbox.builder().build();
                System.out.println("FAIL a sandbox of no namespaces was accepted");
            } catch (IllegalStateException e) {
                System.out.println((e.getMessage().contains("add pidNs() and userNs()") ? "PASS" : "FAIL")
                        + " a sandbox of no namespaces is refused: " + e.getMessage());
            }
            try {
                Sandbox.builder().userNs().pidNs().memoryLimit(ByteSize.mb(64)).build();
                System.out.println("FAIL a cgroup without mountNs() was accepted");
            } catch (IllegalStateException e) {
                System.out.println((e.getMessage().contains("add mountNs()") ? "PASS" : "FAIL")
                        + " a cgroup of the JVM's own user without mountNs() is refused: " + e.getMessage());
            }
            Sandbox withPid = Sandbox.builder().userNs().pidNs().mountNs().netNs().seccomp(SeccompPolicy.none()).build();
            try (IsolatedProcess p = withPid.start("sh", "-c",
                    "read m; read j; kill -STOP $m; echo stop=$?; kill -0 $j; echo jvm=$?; kill -CONT $m; true")) {
                long init = ProcessHandle.of(p.pid()).flatMap(ProcessHandle::parent).orElseThrow().pid();
                long monitor = ProcessHandle.of(init).flatMap(ProcessHandle::parent).orElseThrow().pid();
                try (OutputStream in = p.getOutputStream()) {
                    in.write((monitor + "\n" + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8));
                }
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
                boolean ok = out.contains("stop=1") && out.contains("jvm=1") && o.status() == Outcome.Status.OK;
                System.out.println((ok ? "PASS" : "FAIL") + " with pidNs() the program cannot stop its monitor or signal the JVM: "
                        + out.replace('\n', ' ') + o);
            }
        }
    }

    // ---- item 7: a program cannot leave its cgroup -----------------------------------------------

    @Test
    @Timeout(30)
    void rootWithoutAMountNamespaceIsRefusedForTheCgroupFiles() {
        for (Sandbox.Builder b : List.of(Sandbox.builder().pidNs().runAs(0, 0).pidsLimit(64), Sandbox.builder().pidNs().runAs(0, 0),
                Sandbox.builder().pidNs().keepCapability("CAP_DAC_OVERRIDE").pidsLimit(64))) {
            assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cgroup file system").hasMessageContaining("add mountNs()");
        }
        assertThatThrownBy(() -> Sandbox.builder().pidNs().mountNs().runAs(0, 0).keepCapability("CAP_SYS_ADMIN").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("CAP_SYS_ADMIN");
    }

    @Test
    @Timeout(30)
    void aBindOrRootfsShowingTheHostsCgroupFileSystemIsRefused() {
        List<Path> mounts = hostCgroupMounts();
        assertThat(mounts).as("this host's cgroup mounts").isNotEmpty();
        for (Sandbox.Builder base : List.of(Sandbox.builder().pidNs().mountNs(), Sandbox.builder().pidNs().mountNs().runAs(0, 0))) {
            for (Sandbox.Builder b : List.of(copy(base).bind(mounts.get(0), "/cg"),
                    copy(base).bindWritable(mounts.get(0), "/cg"), copy(base).bind(mounts.get(0).getParent(), "/cg"),
                    copy(base).bind(Path.of("/sys"), "/hostsys"), copy(base).rootfs(Path.of("/")))) {
                assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("would show the host's cgroup file system").hasMessageContaining("leave its cgroup");
            }
        }
    }

    private static Sandbox.Builder copy(Sandbox.Builder b) {
        return b.build().toBuilder();
    }

    @Test
    @Timeout(120)
    void asRootOrAsTheDefaultIdentityTheProgramCannotMoveItselfToAnotherCgroup() throws Exception {
        List<Sandbox> accepted = new ArrayList<>();
        for (boolean root : new boolean[] {false, true}) {
            Sandbox base = (root ? Sandbox.builder().runAs(0, 0) : Sandbox.builder()).pidNs().mountNs().pidsLimit(64).build();
            accepted.add(base); // the host's files, its cgroup file systems hidden
            accepted.add(base.toBuilder().minimalRoot().build()); // no /sys at all
        }
        accepted.add(Sandbox.builder().pidNs().pidsLimit(64).build()); // the default identity may see them: it cannot write
        for (Sandbox sandbox : accepted) {
            tryToLeaveTheCgroup(sandbox, false);
        }
        // CAP_SYS_ADMIN could unmount what hides them: the default identity still cannot write there
        tryToLeaveTheCgroup(Sandbox.builder().pidNs().mountNs().pidsLimit(64).keepCapability("CAP_SYS_ADMIN")
                .seccomp(SeccompPolicy.none()).build(), true);
    }

    /**
     * The program writes its pid into the root {@code cgroup.procs} (and v1 {@code tasks}) of every
     * cgroup hierarchy of the host; the host checks from outside that it stayed where it was. If a
     * write ever succeeded, the program ends at once (it is never left running in a root cgroup).
     */
    private static void tryToLeaveTheCgroup(Sandbox sandbox, boolean unmountFirst) throws Exception {
        StringBuilder attack = new StringBuilder("echo ready; read go; ");
        if (unmountFirst) { // MNT_DETACH whatever covers /sys/fs/cgroup
            attack.append("python3 -c \"import ctypes, sys; sys.exit(ctypes.CDLL(None).umount2(b'/sys/fs/cgroup', 2))\"; echo umount=$?; ");
        }
        for (Path m : hostCgroupMounts()) {
            for (String f : new String[] {"cgroup.procs", "tasks"}) {
                if (Files.exists(m.resolve(f))) {
                    attack.append("(echo $$ > ").append(m.resolve(f)).append(") 2>/dev/null; echo ").append(m.resolve(f)).append("=$?; ");
                }
            }
        }
        attack.append("echo done; exec cat");
        try (IsolatedProcess p = sandbox.start("sh", "-c", attack.toString())) {
            BufferedReader r = reader(p);
            assertThat(r.readLine()).isEqualTo("ready");
            Path cgroupFile = Path.of("/proc/" + p.pid() + "/cgroup");
            String before = Files.readString(cgroupFile);
            OutputStream in = p.getOutputStream();
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            List<String> statuses = new ArrayList<>();
            for (String line = r.readLine(); line != null && !line.equals("done"); line = r.readLine()) {
                statuses.add(line);
            }
            String after = Files.readString(cgroupFile);
            in.close(); // the program ends now, wherever it is
            p.outcome().get(30, TimeUnit.SECONDS);
            if (unmountFirst) {
                assertThat(statuses.remove(0)).as("what hid the cgroup file system is gone").isEqualTo("umount=0");
            }
            assertThat(statuses).as("%s: one status per cgroup file", sandbox.namespaces()).isNotEmpty()
                    .allSatisfy(s -> assertThat(s).as("%s %s", sandbox.namespaces(), s).doesNotEndWith("=0"));
            assertThat(after).as("%s: its cgroups, seen from the host", sandbox.namespaces()).isEqualTo(before);
            assertThat(after.lines().filter(l -> l.contains(":pids:") || l.startsWith("0::")))
                    .as("its own cgroup").anySatisfy(l -> assertThat(l).contains("isolation-"));
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** The cgroup and cgroup2 mount points of /proc/self/mountinfo, parsed here (not by the library). */
    private static List<Path> hostCgroupMounts() {
        try {
            List<Path> out = new ArrayList<>();
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                int sep = List.of(f).indexOf("-");
                if (sep > 0 && (f[sep + 1].equals("cgroup") || f[sep + 1].equals("cgroup2"))) {
                    out.add(Path.of(f[4]));
                }
            }
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Whether {@code pid} exists and is not a zombie. */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    private static BufferedReader reader(IsolatedProcess p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    private static long uid(Outcome o) {
        assertThat(o.status()).as("%s %s", o, o.stderrText()).isEqualTo(Outcome.Status.OK);
        return Long.parseLong(o.stdoutText().trim());
    }

    /** The four ids (real, effective, saved, file system) of a {@code Uid:} or {@code Gid:} line of /proc/PID/status. */
    private static List<Long> hostIds(long pid, String line) throws Exception {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith(line)).findFirst()
                .map(l -> Stream.of(l.substring(line.length()).trim().split("\\s+")).map(Long::parseLong).toList()).orElseThrow();
    }

    private static String asNobody(String script) throws Exception {
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** {@code flock -n FILE true}: 0 if the lock could be taken at once, 1 if another process holds it. */
    private static int flockNonBlocking(Path file) throws Exception {
        Process p = new ProcessBuilder("flock", "-n", file.toString(), "true").redirectErrorStream(true).start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    /** Runs {@code main} of {@code probe} in a JVM as nobody (a copy of the class path it can read); its output lines. */
    private static List<String> runAsNobody(Class<?> probe) throws Exception {
        Path dir = Files.createTempDirectory("isolation-identity");
        try {
            List<String> classpath = NobodyClassPath.copyInto(dir);
            Process p = new ProcessBuilder(
                    JavaCommand.after(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                        "-Duser.home=" + dir, "-cp", String.join(File.pathSeparator, classpath), probe.getName())).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(out).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            return out.lines().toList();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
