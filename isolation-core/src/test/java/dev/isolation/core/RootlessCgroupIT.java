package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLayout;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * cgroup limits for an ordinary user, on a cgroup v2 host that delegates a subtree to it (as
 * systemd's {@code Delegate=yes} does): the JVM runs as nobody inside the delegated subtree, and
 * the library creates its sandboxes there. Runs where the host is pure cgroup v2 (the CI's v2
 * guest); elsewhere it is skipped: a hybrid or v1 host has no delegation of this kind.
 */
@KernelTest
@RequiresLayout(CgroupLayout.UNIFIED)
class RootlessCgroupIT {
    @Test
    @Timeout(600)
    void aDelegatedSubtreeGivesNobodyEnforcedLimits() throws Exception {
        Path delegated = Path.of("/sys/fs/cgroup/isolation-delegated-" + ProcessHandle.current().pid());
        Path dir = Files.createTempDirectory("isolation-rootless-cg");
        Files.createDirectory(delegated);
        try {
            Files.writeString(delegated.resolve("cgroup.subtree_control"), "+memory +pids +cpu");
            Files.createDirectory(delegated.resolve("jvm"));
            chownNobody(delegated);
            List<String> classpath = copyClasspath(dir);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String launch = "echo $$ > " + delegated.resolve("jvm/cgroup.procs") + " && exec setpriv --reuid=65534 --regid=65534"
                    + " --clear-groups --inh-caps=-all " + java + " " + JavaCommand.shellFlags() + " -XX:TieredStopAtLevel=1 -Duser.home=" + dir
                    + " -cp " + String.join(File.pathSeparator, classpath) + " '" + Probe.class.getName() + "'"; // a $ inside
            Process p = new ProcessBuilder("sh", "-c", launch).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("PASS memory").contains("PASS pids").doesNotContain("FAIL");
        } finally {
            removeTree(delegated);
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs as nobody inside the delegated subtree. */
    static final class Probe {
        public static void main(String[] args) {
            Sandbox limited = Sandbox.builder().userNs().pidNs().mountNs().minimalRoot()
                    .memoryLimit(ByteSize.mb(64)).pidsLimit(16).build();
            Outcome mem = limited.run("sh", "-c", "head -c 209715200 /dev/zero | tail > /dev/null");
            System.out.println((mem.status() == Outcome.Status.MEMORY_LIMIT ? "PASS" : "FAIL") + " memory: " + mem
                    + " " + mem.message());
            Outcome pids = limited.run("sh", "-c", "n=0; for i in $(seq 30); do sleep 5 & n=$((n+1)); echo $n; done");
            String last = pids.stdoutText().lines().reduce((a, b) -> b).orElse("");
            System.out.println((last.equals("14") && pids.stderrText().contains("Cannot fork") ? "PASS" : "FAIL") + " pids: "
                    + last + " " + pids.stderrText().trim());
        }
    }

    private static void chownNobody(Path delegated) throws Exception {
        Process chown = new ProcessBuilder("chown", "-R", "65534:65534", delegated.toString()).inheritIO().start();
        assertThat(chown.waitFor()).isZero();
    }

    private static List<String> copyClasspath(Path dir) throws Exception {
        List<String> classpath = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(entry);
            Path copy = dir.resolve(i++ + "-" + src.getFileName());
            Process cp = new ProcessBuilder("cp", "-r", src.toString(), copy.toString()).start();
            if (cp.waitFor() == 0) {
                classpath.add(copy.toString());
            }
        }
        new ProcessBuilder("chmod", "-R", "a+rX", dir.toString()).start().waitFor();
        return classpath;
    }

    /** Removes the delegated subtree, children first (cgroup directories go with rmdir only). */
    private static void removeTree(Path root) throws Exception {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> dirs;
        try (Stream<Path> all = Files.walk(root)) {
            dirs = all.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
        }
        for (Path d : dirs) {
            for (int attempt = 0; attempt < 100 && Files.exists(d); attempt++) {
                if (!d.toFile().delete()) {
                    Thread.sleep(10);
                }
            }
        }
    }
}
