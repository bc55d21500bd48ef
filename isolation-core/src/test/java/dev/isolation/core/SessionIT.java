package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A persistent sandbox: set up once, many runs, each with its own limits and fresh counters. */
@KernelTest
class SessionIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(64)).build();

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    @Test
    @Timeout(120)
    void filesPersistBetweenRunsInAPersistentWorkDirectory() throws Exception {
        try (SandboxSession session = JUDGE.open(SandboxSession.Options.builder().persistentWorkDir().build())) {
            assertThat(session.run(sh("pwd; echo compiled > prog.out"), new byte[0]).stdoutText()).isEqualTo("/box\n");
            for (int i = 0; i < 3; i++) {
                assertThat(session.run(sh("cat /box/prog.out"), new byte[0]).stdoutText()).isEqualTo("compiled\n");
            }
        }
    }

    @Test
    @Timeout(120)
    void limitsAndCountersAreResetBetweenRuns() throws Exception {
        String allocate100M = "head -c 104857600 /dev/zero | tail > /dev/null";
        String busy = "while :; do :; done";
        // the session's memory limit bounds every run's: room for the large one
        try (SandboxSession session = JUDGE.open(SandboxSession.Options.builder().memoryLimit(ByteSize.mb(256)).build())) {
            Outcome small = session.run(sh(allocate100M), new byte[0]);
            assertThat(small.status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            // a later run with a larger limit really gets it (isolate's issue 195: a reused box kept the old one)
            Outcome large = session.run(JUDGE.runLimits().toBuilder().memoryLimit(ByteSize.mb(256)).build(), sh(allocate100M), new byte[0]);
            assertThat(large.status()).isEqualTo(Outcome.Status.OK);
            assertThat(large.oomKilled()).isFalse();
            Outcome again = session.run(sh(allocate100M), new byte[0]);
            assertThat(again.status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            // a run that uses 500 ms of CPU, then runs whose counters must not start from it
            Outcome spent = session.run(JUDGE.runLimits().toBuilder().cpuTimeLimit(Duration.ofMillis(500)).build(), sh(busy), new byte[0]);
            assertThat(spent.status()).isEqualTo(Outcome.Status.TIME_LIMIT);
            assertThat(cgroupCpu(spent)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
            // the peak and the CPU time of one run are not the next one's
            Outcome tiny = session.run(sh("true"), new byte[0]);
            assertThat(tiny.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).isLessThan(16L << 20);
            assertThat(cgroupCpu(tiny)).as("CPU time of `true` after a run that used 500 ms").isLessThan(Duration.ofMillis(250));
            // A limit of 300 ms is this run's own: it is killed once it has used 300 ms itself, so it ran for a good
            // part of that (wall time: a witness no carried-over counter can inflate; the cgroup's CPU time also counts
            // the run's setup before its clock starts, so not all 300 ms); a run charged with the earlier runs' 500 ms
            // of CPU would be killed within milliseconds of its start.
            Outcome limited = session.run(JUDGE.runLimits().toBuilder().cpuTimeLimit(Duration.ofMillis(300)).build(), sh(busy), new byte[0]);
            assertThat(limited.status()).isEqualTo(Outcome.Status.TIME_LIMIT);
            assertThat(limited.wallTime()).as(limited.toString()).isGreaterThanOrEqualTo(Duration.ofMillis(200));
            assertThat(cgroupCpu(limited)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        }
    }

    /**
     * A run's own limits hold where the session's policy would allow more: its memory, pids and wall
     * limits kill or refuse what the session's own runs do unharmed, and none of the policy's limits
     * carry into it (its runs' 64 MiB is no limit of a run with RunLimits of 200 MiB).
     */
    @Test
    @Timeout(180)
    void aRunsOwnLimitsHoldWhereTheSessionsAllowMore() throws Exception {
        String allocate100M = "head -c 104857600 /dev/zero | tail > /dev/null";
        String eightSleeps = "n=0; for i in 1 2 3 4 5 6 7 8; do sleep 2 & n=$((n+1)); done; wait; echo started $n";
        Sandbox policy = JUDGE.toBuilder().memoryLimit(ByteSize.mb(256)).build();
        try (SandboxSession session = policy.open()) {
            Outcome own = session.run(sh(allocate100M), new byte[0]);
            assertThat(own.status()).as(own + " " + own.stderrText()).isEqualTo(Outcome.Status.OK);
            Outcome small = session.run(RunLimits.builder().memoryLimit(ByteSize.mb(32)).build(), sh(allocate100M), new byte[0]);
            assertThat(small.status()).as(small.toString()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            assertThat(small.oomKilled()).isTrue();

            Outcome forks = session.run(sh(eightSleeps), new byte[0]);
            assertThat(forks.stdoutText()).as(forks + " " + forks.stderrText()).isEqualTo("started 8\n");
            Outcome fewPids = session.run(RunLimits.builder().pidsLimit(4).build(), sh(eightSleeps), new byte[0]);
            // sh, the run's init and at most two sleeps: every further fork fails with EAGAIN
            assertThat(fewPids.stderrText()).as(fewPids + " " + fewPids.stderrText()).containsIgnoringCase("fork");
            assertThat(fewPids.stdoutText()).isNotEqualTo("started 8\n");

            Outcome sleeps = session.run(sh("sleep 1; echo woke"), new byte[0]);
            assertThat(sleeps.stdoutText()).isEqualTo("woke\n");
            Outcome wall = session.run(RunLimits.builder().wallTimeLimit(Duration.ofMillis(300)).build(), sh("sleep 5; echo woke"),
                    new byte[0]);
            assertThat(wall.status()).as(wall.toString()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
            assertThat(wall.stdoutText()).isEmpty();
        }
        try (SandboxSession session = JUDGE.open(SandboxSession.Options.builder().memoryLimit(ByteSize.mb(256)).build())) {
            assertThat(session.run(sh(allocate100M), new byte[0]).status()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            Outcome larger = session.run(RunLimits.builder().memoryLimit(ByteSize.mb(200)).build(), sh(allocate100M), new byte[0]);
            assertThat(larger.status()).as(larger + " " + larger.stderrText()).isEqualTo(Outcome.Status.OK);
        }
    }

    /**
     * Whatever its limits, a run has the session's namespaces and file system: the same pid, network,
     * UTS and IPC namespaces as the session's own runs, its hostname, its PID 1, its minimal root and
     * the files of its persistent work directory.
     */
    @Test
    @Timeout(120)
    void aRunWithItsOwnLimitsHasTheSessionsNamespacesAndFileSystem() throws Exception {
        String look = "for n in pid net uts ipc user; do readlink /proc/self/ns/$n; done; hostname; cat /proc/1/comm;"
                + " ls -d /home /root /etc/shadow 2>/dev/null | wc -l; ls / | sort | tr '\\n' ' '; echo; cat /box/mark";
        Sandbox policy = JUDGE.toBuilder().hostname("judgebox").build();
        try (SandboxSession session = policy.open(SandboxSession.Options.builder().persistentWorkDir().build())) {
            assertThat(session.run(sh("echo from-the-session > /box/mark"), new byte[0]).status()).isEqualTo(Outcome.Status.OK);
            Outcome own = session.run(sh(look), new byte[0]);
            RunLimits different = RunLimits.builder().memoryLimit(ByteSize.mb(32)).pidsLimit(8).cpuTimeLimit(Duration.ofSeconds(5))
                    .wallTimeLimit(Duration.ofSeconds(20)).outputLimit(ByteSize.kb(64)).seccomp(SeccompPolicy.strict())
                    .rlimit(Rlimit.NOFILE, 32).inheritEnvironment().build();
            Outcome limited = session.run(different, sh(look), new byte[0]);
            assertThat(own.status()).as(own + " " + own.stderrText()).isEqualTo(Outcome.Status.OK);
            assertThat(limited.status()).as(limited + " " + limited.stderrText()).isEqualTo(Outcome.Status.OK);
            assertThat(limited.stdoutText()).isEqualTo(own.stdoutText());
            List<String> lines = limited.stdoutText().lines().toList();
            for (String ns : List.of("pid", "net", "uts", "ipc")) {
                String host = Files.readSymbolicLink(Path.of("/proc/self/ns/" + ns)).toString();
                assertThat(lines).as("the %s namespace is the session's, not the host's", ns).doesNotContain(host)
                        .anyMatch(l -> l.startsWith(ns + ":["));
            }
            assertThat(lines.subList(5, lines.size())).startsWith("judgebox", "isolation-init", "0")
                    .endsWith("from-the-session");
        }
    }

    private static Duration cgroupCpu(Outcome o) {
        return o.cgroupStats().orElseThrow().cpuTotal();
    }

    @Test
    @Timeout(120)
    void aRunCanJoinARunningSandboxLikeDockerExec() throws Exception {
        try (SandboxSession session = JUDGE.open(); IsolatedProcess server = session.start(sh("echo up; exec sleep 30"))) {
            assertThat(new BufferedReader(new InputStreamReader(server.getInputStream())).readLine()).isEqualTo("up");
            String ps = session.run(sh("for p in /proc/[0-9]*; do cat $p/comm; done"), new byte[0]).stdoutText();
            assertThat(ps).contains("sleep").contains("isolation-init");
            server.destroyForcibly();
            assertThat(server.outcome().join().killed()).isTrue();
        }
    }

    /** A policy's time limits are each run's: the session outlives them (its PID 1 used to be killed at the wall limit). */
    @Test
    @Timeout(60)
    void theSessionOutlivesItsPolicysTimeLimits() throws Exception {
        Sandbox limited = JUDGE.toBuilder().wallTimeLimit(Duration.ofMillis(500)).cpuTimeLimit(Duration.ofMillis(200)).build();
        try (SandboxSession session = limited.open()) {
            assertThat(session.run(sh("echo first"), new byte[0]).stdoutText()).isEqualTo("first\n");
            Thread.sleep(1500);
            Outcome later = session.run(sh("echo later"), new byte[0]);
            assertThat(later.status()).as(later + " " + later.message()).isEqualTo(Outcome.Status.OK);
            assertThat(later.stdoutText()).isEqualTo("later\n");
            // and each run still has them
            assertThat(session.run(sh("sleep 5"), new byte[0]).status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
        }
    }

    /**
     * A run joins the session's PID 1 by its pid: a process that got the pid after it (a reused pid,
     * made here by changing the start time the session knows its PID 1 by) is never joined; the run
     * fails setup naming it, and nothing runs.
     */
    @Test
    @Timeout(60)
    void aRunNeverJoinsAProcessThatIsNotTheSessionsPid1() throws Exception {
        try (SandboxSession session = JUDGE.open()) {
            assertThat(session.run(sh("echo joined"), new byte[0]).stdoutText()).isEqualTo("joined\n");
            java.lang.reflect.Field start = SandboxSession.class.getDeclaredField("keeperStart");
            start.setAccessible(true);
            long real = start.getLong(session);
            start.setLong(session, real - 1); // what a new process with the same pid would differ by
            Outcome refused = session.run(sh("echo joined"), new byte[0]);
            assertThat(refused.status()).as(refused.toString()).isEqualTo(Outcome.Status.SETUP_FAILED);
            assertThat(refused.setupFailure().orElseThrow().getMessage()).contains("join").contains("PID 1");
            assertThat(refused.stdout()).isEmpty();
            start.setLong(session, real);
            assertThat(session.run(sh("echo joined"), new byte[0]).stdoutText()).isEqualTo("joined\n");
        }
    }

    @Test
    @Timeout(60)
    void closingTheSessionKillsEverythingAndLeavesNothing() throws Exception {
        String marker = "sleep 977." + System.nanoTime() % 1000;
        SandboxSession session = JUDGE.open();
        IsolatedProcess background = session.start(sh(marker + " & " + marker + "; true"));
        // sh -c '...' and the two sleeps, once both have executed sleep (a fork of sh not yet executed has the same command line)
        LifecycleIT.awaitCondition(() -> Probe.processesWith(marker).stream().filter(SessionIT::isSleep).count() == 2);
        // Everything in the session's pid namespace, found from the marked processes: the session's init (its
        // PID 1, named isolation-init; its command line is the helper's), the run's init, sh and the sleeps.
        String pidNs = Files.readSymbolicLink(Path.of("/proc/" + Probe.processesWith(marker).get(0) + "/ns/pid")).toString();
        List<ProcessHandle> inSandbox = inPidNamespace(pidNs);
        assertThat(inSandbox.stream().map(SessionIT::describe))
                .contains("1 isolation-init")
                .filteredOn(d -> d.endsWith(" sleep")).hasSize(2);
        session.close();
        Outcome ended = Bounded.get(background.outcome(), "the outcome of the run in the closed session");
        // killed with the session, not a program that ended by itself
        assertThat(ended.status()).as(ended.toString()).isEqualTo(Outcome.Status.SIGNALED);
        assertThat(ended.signal()).hasValue(9);
        background.close();
        assertThat(Probe.processesWith(marker)).isEmpty();
        assertThat(inSandbox).as("processes of the closed session").noneMatch(ProcessHandle::isAlive);
        assertThat(inPidNamespace(pidNs)).isEmpty();
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).isEmpty();
        assertThatThrownBy(() -> session.start(sh("true"))).isInstanceOf(IllegalStateException.class);
    }

    /** Host processes in this pid namespace ({@code pid:[inode]}). */
    private static List<ProcessHandle> inPidNamespace(String pidNs) {
        return ProcessHandle.allProcesses().filter(p -> {
            try {
                return Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/pid")).toString().equals(pidNs);
            } catch (IOException gone) {
                return false;
            }
        }).toList();
    }

    private static boolean isSleep(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip().equals("sleep");
        } catch (IOException gone) {
            return false;
        }
    }

    /** "PID-INSIDE COMM" of a host process, e.g. "1 isolation-init"; empty once it is gone. */
    private static String describe(ProcessHandle p) {
        try {
            String nsPid = Files.readAllLines(Path.of("/proc/" + p.pid() + "/status")).stream()
                    .filter(l -> l.startsWith("NSpid:")).findFirst().orElseThrow().replaceAll(".*\\s", "");
            return nsPid + " " + Files.readString(Path.of("/proc/" + p.pid() + "/comm")).strip();
        } catch (IOException gone) {
            return "";
        }
    }
}
