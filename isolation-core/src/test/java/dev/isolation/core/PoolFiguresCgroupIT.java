package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLayout;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.SandboxCgroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pooled run's cgroup figures are its own (issue 11's freshness contract): on cgroup v2 each
 * run has a fresh cgroup of its own, a child of the pooled sandbox's, removed after the run; on
 * cgroup v1 the sandbox's counters are reset before each run. Either way the second run in the
 * same sandbox (pool size 1) reports a peak memory, CPU time and OOM kills that are its own, not
 * the first run's. Runs on every cgroup layout (the name makes .ci/vm-tests.sh run it in the v1
 * and v2 guests too).
 */
@KernelTest
class PoolFiguresCgroupIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(256)).pidsLimit(16).build();
    private static final byte[] NO_INPUT = new byte[0];
    /**
     * Runs 6 sleeps beside a pipe that holds about 64 MiB (tail keeps the one line it has not
     * ended), then spins until the shell itself used 600 ms of CPU.
     */
    private static final String BIG = "for i in 1 2 3 4 5 6; do sleep 0.2 & done; head -c 67108864 /dev/zero | tail > /dev/null; wait;"
            + " while read -r p c s pp g ss t tg f mi cm ma cma u st rest < /proc/$$/stat; [ $((u + st)) -lt 60 ]; do :; done";
    private static final String WHERE = "cat /proc/self/cgroup";

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    private static Outcome ok(Outcome o) {
        assertThat(o.status()).as(o + " " + o.setupFailure().map(Throwable::toString).orElse("") + " " + o.stderrText())
                .isEqualTo(Outcome.Status.OK);
        return o;
    }

    private static boolean unified() throws IOException {
        return CgroupHost.detect().layout() == CgroupLayout.UNIFIED;
    }

    /** The directory of the run's memory cgroup (cgroup v2: its one cgroup) on the host, from the {@code /proc/self/cgroup} it printed. */
    private static Path runCgroup(Outcome o) {
        List<String> lines = o.stdoutText().lines().filter(l -> !l.isBlank()).toList();
        String line = lines.stream().filter(l -> Arrays.asList(l.split(":", 3)[1].split(",")).contains("memory")).findFirst()
                .or(() -> lines.stream().filter(l -> l.startsWith("0::")).findFirst())
                .orElseThrow(() -> new AssertionError("no memory cgroup in " + lines));
        return CgroupPaths.directoryOf(line);
    }

    /** Every directory named {@code isolation-<this JVM's pid>-...} at or below {@code dirs}. */
    private static Set<Path> ours(List<Path> dirs) {
        String prefix = "isolation-" + ProcessHandle.current().pid() + "-";
        Set<Path> out = new TreeSet<>();
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> walk = Files.walk(d)) {
                walk.filter(Files::isDirectory).filter(p -> p.getFileName().toString().startsWith(prefix)).forEach(out::add);
            } catch (UncheckedIOException | IOException e) {
                // a directory removed while walked: not left behind
            }
        }
        return out;
    }

    @Test
    @Timeout(300)
    void aRunsPeakMemoryAndCpuTimeAreNotTheRunBeforesAndItsOwnCgroupIsGoneAfterIt() throws Exception {
        SandboxPool pool = JUDGE.pool(1);
        List<Path> sandboxDirs;
        List<Path> parents;
        Set<Path> before;
        try {
            PooledSandbox sandbox = pool.sandboxes().get(0);
            sandboxDirs = sandbox.cgroup().orElseThrow().directories();
            parents = sandboxDirs.stream().map(Path::getParent).distinct().toList();
            before = ours(parents);
            before.removeIf(p -> sandboxDirs.stream().anyMatch(p::startsWith));
            boolean fresh = unified();
            assertThat(sandbox.initCgroup().isPresent()).as("a leaf for the init, runs in cgroups of their own, on cgroup v2 alone")
                    .isEqualTo(fresh);

            Outcome big = ok(pool.run(sh(WHERE + "; " + BIG), NO_INPUT));
            Outcome tiny = ok(pool.run(sh(WHERE), NO_INPUT));
            CgroupStats b = big.cgroupStats().orElseThrow();
            CgroupStats t = tiny.cgroupStats().orElseThrow();

            assertThat(b.memoryPeak()).as("the first run's peak memory: " + big).isPresent();
            assertThat(b.memoryPeak().get().bytes()).as(big.toString()).isGreaterThan(64L << 20);
            assertThat(t.memoryPeak()).as("the second run's peak memory: " + tiny).isPresent();
            assertThat(t.memoryPeak().get().bytes()).as("the second run's own peak, not the first's " + b.memoryPeak().get())
                    .isLessThan(b.memoryPeak().get().bytes() / 4);

            assertThat(b.cpuTotal()).as("the first run's shell alone spun 600 ms: " + big).isGreaterThanOrEqualTo(Duration.ofMillis(600));
            assertThat(t.cpuTotal()).as("the second run's own CPU time, not the first's " + b.cpuTotal())
                    .isLessThan(b.cpuTotal().dividedBy(3));

            // pids.peak (cgroup v2, Linux 6.1+): the run's own processes, never the init nor the run before
            assertThat(t.pidsPeak().isPresent()).as("a peak of pids in both runs or neither").isEqualTo(b.pidsPeak().isPresent());
            if (b.pidsPeak().isPresent()) {
                assertThat(b.pidsPeak().getAsLong()).as("sh, 6 sleeps, head and tail: " + b).isGreaterThanOrEqualTo(9);
                assertThat(t.pidsPeak().getAsLong()).as("sh and cat, not the run before's: " + t).isLessThanOrEqualTo(2);
            }

            Path first = runCgroup(big);
            Path second = runCgroup(tiny);
            if (fresh) {
                Path sandboxDir = sandbox.cgroup().get().unifiedDirectory().orElseThrow();
                Path initLeaf = sandbox.initCgroup().get().unifiedDirectory().orElseThrow();
                assertThat(CgroupPaths.directoryOf(sandbox.initPid(), "memory")).as("the init, in its leaf").isEqualTo(initLeaf);
                for (Path run : List.of(first, second)) {
                    assertThat(run.getParent()).as("a run's own cgroup, in the sandbox's").isEqualTo(sandboxDir);
                    assertThat(run).as("a cgroup of the run's own").isNotEqualTo(initLeaf);
                    assertThat(run.getFileName().toString()).startsWith("isolation-");
                    assertThat(run).as("a run's cgroup, once it ended").doesNotExist();
                }
                assertThat(first).as("each run's cgroup is new").isNotEqualTo(second);
                assertThat(runCgroupsLeft(sandboxDir, initLeaf)).as("the sandbox's cgroups after the runs").doesNotContain(first, second);
            } else {
                Path memoryDir = sandboxDirs.stream().filter(d -> d.equals(first)).findFirst().orElse(null);
                assertThat(memoryDir).as("a run on cgroup v1 in the sandbox's cgroup " + sandboxDirs).isNotNull();
                assertThat(second).isEqualTo(first);
            }
        } finally {
            pool.close();
        }
        assertThat(sandboxDirs.stream().filter(Files::exists)).as("the pooled sandbox's cgroups after close").isEmpty();
        Set<Path> after = ours(parents);
        after.removeAll(before);
        assertThat(after).as("cgroups of this JVM left beside the pool's after close").isEmpty();
    }

    @Test
    @Timeout(300)
    void anOomKillInOneRunIsNotReportedForTheNext() throws Exception {
        Sandbox limited = JUDGE.toBuilder().memoryLimit(ByteSize.mb(64)).build();
        try (SandboxPool pool = limited.pool(1)) {
            Outcome oom = pool.run(sh("head -c 104857600 /dev/zero | tail > /dev/null"), NO_INPUT);
            assertThat(oom.status()).as(oom.toString()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            assertThat(oom.cgroupStats().orElseThrow().oomKills().orElseThrow()).as(oom.toString()).isGreaterThanOrEqualTo(1);
            Outcome after = ok(pool.run(sh("true"), NO_INPUT));
            assertThat(after.cgroupStats().orElseThrow().oomKills()).as("the OOM kill of the run before is not this one's: " + after)
                    .hasValue(0);
            assertThat(after.oomKilled()).isFalse();
            assertThat(pool.stats().created()).as("both runs in the one sandbox").isEqualTo(1);
        }
    }

    /**
     * The cgroups in {@code sandboxDir} besides the init's leaf: none of an ended run; at most the
     * next run's, made with its monitor when the sandbox went idle (SandboxPool's prepared monitor),
     * in which nothing has run yet.
     */
    private static List<Path> runCgroupsLeft(Path sandboxDir, Path initLeaf) throws IOException {
        List<Path> left;
        try (Stream<Path> dirs = Files.list(sandboxDir)) {
            left = dirs.filter(Files::isDirectory).filter(d -> !d.equals(initLeaf)).toList();
        }
        assertThat(Files.exists(initLeaf)).as("the init's leaf").isTrue();
        assertThat(left).as("besides the init's leaf, at most the next run's cgroup").hasSizeLessThanOrEqualTo(1);
        for (Path next : left) {
            assertThat(next.getFileName().toString()).startsWith("isolation-");
            assertThat(Files.readString(next.resolve("cgroup.procs")).strip()).as("the next run's cgroup, before its run").isEmpty();
            assertThat(Files.readString(next.resolve("memory.peak")).strip()).as("nothing ever ran in it").isEqualTo("0");
        }
        return left;
    }

    @Test
    @Timeout(300)
    void aRunThatCannotStartLeavesNoCgroupAndTheSandboxServesTheNext() throws Exception {
        try (SandboxPool pool = JUDGE.pool(1)) {
            PooledSandbox sandbox = pool.sandboxes().get(0);
            assertThatThrownBy(() -> pool.start(new ProcessBuilder("/no/such/isolation-program")))
                    .isInstanceOf(SandboxException.class);
            if (sandbox.initCgroup().isPresent()) {
                Path initLeaf = sandbox.initCgroup().get().unifiedDirectory().orElseThrow();
                assertThat(runCgroupsLeft(sandbox.cgroup().orElseThrow().unifiedDirectory().orElseThrow(), initLeaf))
                        .as("the sandbox's cgroups after a run that failed to start").hasSizeLessThanOrEqualTo(1);
            }
            assertThat(ok(pool.run(sh("echo next"), NO_INPUT)).stdoutText()).isEqualTo("next\n");
            assertThat(pool.stats().created()).as("the same sandbox serves the next run").isEqualTo(1);
        }
    }

    @Test
    @Timeout(300)
    void aPoolWhoseSetupFailsHalfwayLeavesNoCgroup() throws Exception {
        // where this policy's sandbox cgroups go: beside a cgroup of the same limits
        List<Path> parents;
        try (SandboxCgroup probe = CgroupHost.detect().create(JUDGE.cgroupLimits().orElseThrow())) {
            parents = probe.directories().stream().map(Path::getParent).distinct().toList();
        }
        Set<Path> before = ours(parents);
        Path root = Files.createTempDirectory("isolation-pool-root");
        Sandbox gone = JUDGE.toBuilder().rootfs(root).build();
        Files.delete(root); // the keeper's setup fails mounting it, once the cgroups exist
        assertThatThrownBy(() -> gone.pool(1)).isInstanceOf(SandboxException.class).hasMessageContaining(root.toString());
        Set<Path> after = ours(parents);
        after.removeAll(before);
        assertThat(after).as("cgroups of this JVM left by the failed setup").isEmpty();
    }

    @Test
    @Timeout(300)
    void withACgroupNamespaceARunRunsInTheSandboxsCgroupAsOnV1() throws Exception {
        // the init's cgroup namespace, rooted at its cgroup, would hide a run's cgroup beside it
        try (SandboxPool pool = JUDGE.toBuilder().cgroupNs().build().pool(1)) {
            assertThat(pool.sandboxes().get(0).initCgroup()).as("no leaf: the init is in the sandbox's cgroup").isEmpty();
            for (int run = 0; run < 2; run++) {
                Outcome o = ok(pool.run(sh(WHERE), NO_INPUT));
                assertThat(o.stdoutText().lines().filter(l -> !l.isBlank()))
                        .as("the run is at the root of the sandbox's cgroup namespace, not in a cgroup of its own")
                        .allMatch(l -> l.endsWith(":/"));
                // cgroup v2's memory.peak cannot be reset: none rather than the runs' before
                assertThat(o.cgroupStats().orElseThrow().memoryPeak().isPresent()).as(o.toString()).isEqualTo(!unified());
            }
        }
    }
}
