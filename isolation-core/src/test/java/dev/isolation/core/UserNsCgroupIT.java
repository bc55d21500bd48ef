package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * cgroup limits of a root JVM's sandbox with a user namespace: its first process is born in the
 * namespace, where it is no longer the host's root and may not write the host's cgroup.procs files
 * (EACCES on v1), so the monitor places it in its cgroups. The limits are the kernel's, and nothing
 * is left behind. Runs on this host's layout, and in CI in the pure cgroup v1 and v2 guests
 * (.ci/vm-tests.sh runs every {@code *Cgroup*IT}).
 */
@KernelTest
class UserNsCgroupIT {
    private static final Sandbox BASE = Sandbox.builder().userNs().pidNs().mountNs().build();

    @AfterEach
    void noCgroupOfThisJvmIsLeft() throws IOException {
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    @Timeout(300)
    void memoryLimitInAUserNamespaceKillsAnAllocationPastTheLimit() throws Exception {
        Outcome o = Bounded.run(BASE.toBuilder().memoryLimit(ByteSize.mb(64)).build(),
                "sh", "-c", "head -c 209715200 /dev/zero | tail > /dev/null").outcome();
        assertThat(o.status()).as("%s", o).isEqualTo(Outcome.Status.MEMORY_LIMIT);
        assertThat(o.oomKilled()).isTrue();
        assertThat(o.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).isLessThanOrEqualTo(64L << 20);
        assertThat(o.appliedLimits()).anySatisfy(l -> assertThat(l.limit()).isEqualTo("memoryLimit"));
    }

    @Test
    @Timeout(300)
    void pidsLimitInAUserNamespaceMakesTheSeventeenthForkFail() throws Exception {
        // init, sh and the subshell are 3 of the 16 (as in CgroupLimitsIT)
        String forks = "read x; (n=0; for i in $(seq 30); do sleep 50 & n=$((n+1)); echo $n; done) 2>&1; echo done; read x";
        List<Path> dirs = new ArrayList<>();
        try (IsolatedProcess p = BASE.toBuilder().pidsLimit(16).memoryLimit(ByteSize.mb(256)).build().start("sh", "-c", forks)) {
            // the program is in a user namespace of its own, and in the sandbox's cgroup in every hierarchy
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/user")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/user")));
            for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/cgroup"))) {
                String[] f = line.split(":", 3);
                List<String> controllers = List.of(f[1].split(","));
                // the limits' hierarchies (v1 or v2), and cgroup2, which tracks, freezes and kills on hybrid hosts
                if (controllers.contains("memory") || controllers.contains("pids") || line.startsWith("0::")) {
                    assertThat(f[2]).as("the program's cgroup in %s", line)
                            .matches(".*/isolation-" + ProcessHandle.current().pid() + "-\\d+");
                    dirs.add(CgroupPaths.directoryOf(line));
                }
            }
            assertThat(dirs).allSatisfy(d -> assertThat(d).isDirectory());
            p.getOutputStream().write('\n');
            p.getOutputStream().flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            List<String> lines = new ArrayList<>();
            for (String l = Bounded.line(out); l != null && !l.equals("done"); l = Bounded.line(out)) {
                lines.add(l);
            }
            assertThat(lines.stream().filter(l -> l.matches("\\d+"))).as("%s", lines).last().isEqualTo("13");
            assertThat(lines).anyMatch(l -> l.contains("Cannot fork"));
            p.getOutputStream().close();
            Outcome o = Bounded.get(p.outcome(), "the program's end");
            assertThat(o.appliedLimits()).anySatisfy(l -> assertThat(l.limit()).isEqualTo("pidsLimit"));
        }
        assertThat(dirs).as("the sandbox's cgroups, once it is closed").isNotEmpty().allSatisfy(d -> assertThat(d).doesNotExist());
    }

    /** The monitor places the child before its first step, so the cgroup namespace it then makes is rooted at the sandbox's cgroup. */
    @Test
    @Timeout(300)
    void aCgroupNamespaceIsRootedAtTheCgroupTheMonitorPlacedTheSandboxIn() throws Exception {
        Bounded.Result r = Bounded.run(BASE.toBuilder().cgroupNs().memoryLimit(ByteSize.mb(64)).pidsLimit(16).build(),
                "cat", "/proc/self/cgroup");
        assertThat(r.outcome().status()).as("%s %s", r.outcome(), r.err()).isEqualTo(Outcome.Status.OK);
        List<String> lines = r.out().lines().toList();
        assertThat(lines).as("the limits' hierarchies").anyMatch(l -> l.matches("\\d+:([^:]*,)?(memory|pids)(,[^:]*)?:/")
                || l.equals("0::/"));
        assertThat(lines).filteredOn(l -> l.matches("\\d+:([^:]*,)?(memory|pids)(,[^:]*)?:.*") || l.startsWith("0::"))
                .as("the sandbox's cgroup is the namespace's root").allMatch(l -> l.endsWith(":/"));
    }

    /** A session's PID 1 is placed by its monitor; each run joins its own cgroup before it enters the session's namespaces. */
    @Test
    @Timeout(300)
    void aSessionWithAUserNamespaceEnforcesEachRunsMemoryLimit() throws Exception {
        Sandbox policy = BASE.toBuilder().minimalRoot().memoryLimit(ByteSize.mb(64)).build();
        try (SandboxSession session = policy.open()) {
            Outcome small = session.run(new ProcessBuilder("sh", "-c", "head -c 10485760 /dev/zero | tail > /dev/null; echo ok"), new byte[0]);
            assertThat(small.status()).as("%s", small).isEqualTo(Outcome.Status.OK);
            assertThat(small.stdoutText()).isEqualTo("ok\n");
            Outcome large = session.run(new ProcessBuilder("sh", "-c", "head -c 209715200 /dev/zero | tail > /dev/null"), new byte[0]);
            assertThat(large.status()).as("%s", large).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            assertThat(large.oomKilled()).isTrue();
        }
    }
}
