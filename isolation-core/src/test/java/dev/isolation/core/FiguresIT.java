package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The figures of an outcome are the whole sandbox's, killed or not; compared with its cgroup's own counters. */
@KernelTest
class FiguresIT {
    private static Outcome bounded(Sandbox s, String... command) {
        return CompletableFuture.supplyAsync(() -> s.run(command)).orTimeout(120, TimeUnit.SECONDS).join();
    }

    private static void assertCpuMatchesTheCgroup(Outcome o) {
        Duration cgroup = o.cgroupStats().orElseThrow().cpuTotal();
        assertThat(cgroup).as("%s", o).isGreaterThan(Duration.ofMillis(50));
        // rusage and the cgroup count the same processes: equal but for the init and a tick or two
        Duration rusage = o.userTime().plus(o.systemTime());
        assertThat((double) rusage.toNanos() / cgroup.toNanos()).as("rusage %s vs cgroup %s: %s", rusage, cgroup, o)
                .isBetween(0.9, 1.1);
    }

    @Test
    @Timeout(300)
    void aRunKilledAtItsWallLimitReportsTheCpuOfAllItsProcesses() {
        for (Sandbox s : new Sandbox[] {Sandbox.builder().pidNs().cgroup().wallTimeLimit(Duration.ofSeconds(1)).build(),
            Sandbox.builder().cgroup().wallTimeLimit(Duration.ofSeconds(1)).build()}) {
            // two busy processes, one a setsid daemon: all of them count
            Outcome o = bounded(s, "sh", "-c", "setsid sh -c 'while :; do :; done' & while :; do :; done");
            assertThat(o.status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
            assertCpuMatchesTheCgroup(o);
        }
    }

    /**
     * Spins until its own cgroup has used 300 ms of CPU, then exits 0 at once: between two of the
     * monitor's checks. It finds its cgroup's counter where /proc/self/mountinfo says the hierarchy is.
     */
    private static final String JUST_PAST_THE_LIMIT = String.join("\n",
            "import os",
            "lines = [l.strip().split(':', 2) for l in open('/proc/self/cgroup')]",
            "mounts = [(m.split(' - ')[0].split()[4], m.split(' - ')[1].split()) for m in open('/proc/self/mountinfo')]",
            "def mount(v1controller):",
            "    for point, (fstype, source, options) in mounts:",
            "        if (fstype == 'cgroup' and v1controller in options.split(',')) or (fstype == 'cgroup2' and not v1controller):",
            "            return point",
            "def usage():",
            "    for i, c, p in lines:",
            "        if 'cpuacct' in c.split(','):",
            "            return int(open(mount('cpuacct') + p + '/cpuacct.usage').read())",
            "    for i, c, p in lines:",
            "        if i == '0' and mount(None) and os.path.exists(mount(None) + p + '/cpu.stat'):",
            "            f = open(mount(None) + p + '/cpu.stat').read().split()",
            "            return int(f[f.index('usage_usec') + 1]) * 1000",
            "    raise SystemExit('no cgroup CPU counter')",
            "while usage() < 300_000_000 + 100_000: pass",
            "os._exit(0)",
            "");

    /**
     * End to end, the rule that {@link OutcomeVerdictTest} proves on the verdict alone: a run whose
     * cgroup counted the limit's CPU time is TIME_LIMIT even if it exited before the monitor looked
     * (it polls every 10 ms). On a quiet machine the monitor often catches it first, so this is a
     * regression check of the whole path, not the proof of the rule.
     */
    @Test
    @Timeout(300)
    void aRunThatExitsByItselfJustPastTheCpuLimitIsTimeLimit() {
        Sandbox s = Sandbox.builder().cpuTimeLimit(Duration.ofMillis(300)).build();
        for (int i = 0; i < 5; i++) {
            Outcome o = bounded(s, "/usr/bin/python3", "-c", JUST_PAST_THE_LIMIT);
            assertThat(o.stderrText()).isEmpty();
            assertThat(o.cgroupStats().orElseThrow().cpuTotal()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(o.status()).as("%s", o).isEqualTo(Outcome.Status.TIME_LIMIT);
        }
    }

    @Test
    @Timeout(300)
    void aRunThatEndsByItselfReportsTheCpuOfAllItsProcesses() {
        for (Sandbox s : new Sandbox[] {Sandbox.builder().pidNs().cgroup().build(), Sandbox.builder().cgroup().build()}) {
            // a child that is never waited for: it ends when the run does, its CPU counts all the same
            Outcome o = bounded(s, "sh", "-c", "setsid sh -c 'while :; do :; done' & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done");
            assertThat(o.status()).isEqualTo(Outcome.Status.OK);
            assertCpuMatchesTheCgroup(o);
        }
    }
}
