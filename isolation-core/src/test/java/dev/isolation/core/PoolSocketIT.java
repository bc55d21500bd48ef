package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pooled sandbox's init serves only the JVM's own monitors. For an ordinary user every
 * sandbox's user namespace maps its root to the JVM's user, so a sandboxed program that shares the
 * host's network namespace connects to the pool's abstract socket (its name is in
 * {@code /proc/net/unix}) as "the JVM's user, outside the pooled sandbox's pid namespace": the
 * socket's peer credentials alone cannot tell it from a run's monitor. The init must not fork
 * anything for it.
 */
@KernelTest
class PoolSocketIT {
    /**
     * Connects to every socket of the pool named by its argument (a prefix: the test's own pool, no
     * other) that it finds in /proc/net/unix, asks for a run, prints what each init answered.
     */
    static final String ATTACK = String.join("\n",
            "import socket, sys",
            "names = set()",
            "for line in open('/proc/net/unix').read().splitlines()[1:]:",
            "    f = line.split()",
            "    if len(f) >= 8 and f[7].startswith(sys.argv[1]):",
            "        names.add(f[7])",
            "print('sockets', len(names), flush=True)",
            "for name in sorted(names):",
            "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "    s.settimeout(20)",
            "    try:",
            "        s.connect('\\0' + name[1:])",
            "        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)",
            "        # a request: plan lengths 0 and 0, stdin/stdout/stderr and a report socket; then 32 bytes of guessing",
            "        socket.send_fds(s, [bytes(8)], [0, 1, 2, b.fileno()])",
            "        s.sendall(b'0' * 32)",
            "        got = b''",
            "        while True:",
            "            d = s.recv(64)",
            "            if not d: break",
            "            got += d",
            "        print('answer', len(got), flush=True)",
            "    except Exception as e:",
            "        print('error', type(e).__name__, e, flush=True)",
            "    s.close()",
            "");

    @Test
    @Timeout(300)
    void aSandboxedProgramOfTheSameUserCannotAskAPooledSandboxForARun() throws Exception {
        Path dir = Files.createTempDirectory("isolation-pool-socket");
        try {
            List<String> classpath = NobodyClassPath.copyInto(dir);
            Process p = new ProcessBuilder(
                    JavaCommand.after(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                        "-Duser.home=" + dir, "-cp", String.join(File.pathSeparator, classpath), Probe.class.getName()))
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            java.util.concurrent.Future<String> output = Bounded.drain(p.getInputStream());
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the probe JVM ended").isTrue();
            String out = Bounded.get(output, "the probe's output");
            assertThat(out).as(out).contains("PASS the attacker found the pool's socket").contains("PASS no init served the attacker")
                    .contains("PASS the pool still serves its own runs").doesNotContain("FAIL");
            assertThat(p.exitValue()).isZero();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs as nobody; prints PASS or FAIL per check. */
    static final class Probe {
        public static void main(String[] args) throws Exception {
            // no netNs(): the runs and the attacker share the host's network namespace, where the pool's socket is
            Sandbox policy = Sandbox.builder().userNs().pidNs().mountNs().ipcNs().minimalRoot().build();
            try (SandboxPool pool = policy.pool(1)) {
                Outcome first = pool.run("echo", "ok");
                Outcome attack = policy.toBuilder().seccomp(SeccompPolicy.none()).build()
                        .run(new ProcessBuilder("/usr/bin/python3", "-c", ATTACK, socketPrefix(pool)), new byte[0]);
                String said = attack.stdoutText() + attack.stderrText();
                System.out.println((said.contains("sockets 1") ? "PASS" : "FAIL") + " the attacker found the pool's socket: " + attack + " " + said);
                boolean served = said.lines().anyMatch(l -> l.startsWith("answer ") && !l.equals("answer 0"));
                System.out.println((!served && said.contains("answer 0") ? "PASS" : "FAIL") + " no init served the attacker: " + said);
                Outcome after = pool.run("echo", "ok");
                System.out.println((first.stdoutText().equals("ok\n") && after.stdoutText().equals("ok\n") ? "PASS" : "FAIL")
                        + " the pool still serves its own runs: " + first + " " + after + " " + after.message());
            }
        }

        static String socketPrefix(SandboxPool pool) throws ReflectiveOperationException {
            java.lang.reflect.Field f = SandboxPool.class.getDeclaredField("socketPrefix");
            f.setAccessible(true);
            return (String) f.get(pool);
        }
    }
}
