package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pool's freshness contract (see {@link SandboxPool}): each run in a reused sandbox sees no
 * trace of the one before (processes, files, IPC, counters), gets the policy's limits, and the
 * pool leaves nothing on the host when closed, when its sandboxes expire, or when its JVM dies.
 */
@KernelTest
class SandboxPoolIT {
    private static final Sandbox JUDGE = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot()
            .memoryLimit(ByteSize.mb(256)).pidsLimit(64).build();
    private static final byte[] NO_INPUT = new byte[0];
    /** How many System V shared memory segments and message queues the run sees. */
    private static final String IPC_OBJECTS = "{ sed 1d /proc/sysvipc/shm; sed 1d /proc/sysvipc/msg; } | grep -c . || true";

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    private static Outcome ok(Outcome o) {
        assertThat(o.status()).as(o + " " + o.setupFailure().map(Throwable::toString).orElse("") + " " + o.stderrText())
                .isEqualTo(Outcome.Status.OK);
        return o;
    }

    @Test
    @Timeout(120)
    void aRunSeesNoProcessFileOrIpcObjectOfThePreviousRun() throws Exception {
        String marker = "600." + System.nanoTime() % 1_000_000_000;
        try (SandboxPool pool = JUDGE.pool(1)) {
            Outcome first = ok(pool.run(sh("setsid sleep " + marker + " </dev/null >/dev/null 2>&1 &"
                    + " echo x > /box/f; echo y > /tmp/f; echo z > /dev/shm/f; ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null;"
                    + " ls /box /tmp /dev/shm; " + IPC_OBJECTS), NO_INPUT));
            assertThat(first.stdoutText()).as("the first run made them").isEqualTo("/box:\nf\n\n/dev/shm:\nf\n\n/tmp:\nf\n2\n");
            assertThat(Probe.processesWith("sleep " + marker)).as("the first run's daemon, once it ended").isEmpty();

            Outcome second = ok(pool.run(sh("for p in /proc/[0-9]*; do cat $p/comm; done; ls -A /box /tmp /dev/shm; " + IPC_OBJECTS),
                    NO_INPUT));
            assertThat(second.stdoutText()).doesNotContain("sleep").contains("/box:\n\n/dev/shm:\n\n/tmp:\n0\n");
            assertThat(pool.stats().created()).as("both runs in one sandbox").isEqualTo(1);
            assertThat(pool.stats().runs()).isEqualTo(2);
        }
    }

    @Test
    @Timeout(120)
    void countersOfARunAreNotCarriedIntoTheNext() throws Exception {
        try (SandboxPool pool = JUDGE.pool(1)) {
            // cgroup v1: the counters are reset before each run; cgroup v2: each run has a fresh cgroup of its own
            Outcome big = ok(pool.run(sh("head -c 104857600 /dev/zero | tail > /dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"),
                    NO_INPUT));
            assertThat(big.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).as(big.toString()).isGreaterThan(100L << 20);
            assertThat(big.cgroupStats().orElseThrow().cpuTotal()).isGreaterThan(Duration.ofMillis(100));
            Outcome tiny = ok(pool.run(sh("true"), NO_INPUT));
            assertThat(tiny.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).as(tiny.toString()).isLessThan(16L << 20);
            assertThat(tiny.cgroupStats().orElseThrow().cpuTotal()).as(tiny.toString()).isLessThan(Duration.ofMillis(100));
            assertThat(tiny.cpuTime()).as("the run's own processes' CPU time").isLessThan(Duration.ofMillis(100));
            assertThat(pool.stats().created()).isEqualTo(1);
        }
    }

    @Test
    @Timeout(120)
    void theMemoryAndPidsLimitsHoldInEveryRun() throws Exception {
        Sandbox limited = JUDGE.toBuilder().memoryLimit(ByteSize.mb(64)).pidsLimit(8).build();
        try (SandboxPool pool = limited.pool(1)) {
            for (int i = 0; i < 2; i++) {
                Outcome oom = pool.run(sh("head -c 104857600 /dev/zero | tail > /dev/null"), NO_INPUT);
                assertThat(oom.status()).as(oom.toString()).isEqualTo(Outcome.Status.MEMORY_LIMIT);
                assertThat(oom.oomKilled()).isTrue();
                Outcome after = ok(pool.run(sh("true"), NO_INPUT));
                assertThat(after.oomKilled()).as("the OOM kill of the run before is not this one's").isFalse();
                // sh and 5 sleeps fit in 8 pids (the init is not counted against the run); 12 do not
                ok(pool.run(sh("for i in 1 2 3 4 5; do sleep 0.2 & done; wait"), NO_INPUT));
                Outcome forks = pool.run(sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 0.2 & done; wait"), NO_INPUT);
                assertThat(forks.stderrText()).as(forks.toString()).containsIgnoringCase("fork");
            }
            assertThat(pool.stats().created()).as("every run in the one sandbox").isEqualTo(1);
        }
    }

    @Test
    @Timeout(120)
    void theTimeLimitsCountFromEachRunsStart() throws Exception {
        Sandbox limited = JUDGE.toBuilder().cpuTimeLimit(Duration.ofMillis(300)).wallTimeLimit(Duration.ofSeconds(2)).build();
        try (SandboxPool pool = limited.pool(1)) {
            for (int i = 0; i < 3; i++) {
                Outcome busy = pool.run(sh("while :; do :; done"), NO_INPUT);
                assertThat(busy.status()).as(busy.toString()).isEqualTo(Outcome.Status.TIME_LIMIT);
                // a run charged with the runs before it would be killed within milliseconds of its start
                assertThat(busy.wallTime()).as("killed once this run used 300 ms itself").isGreaterThanOrEqualTo(Duration.ofMillis(300));
                assertThat(busy.cgroupStats().orElseThrow().cpuTotal()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
                Outcome sleeper = pool.run(sh("sleep 10"), NO_INPUT);
                assertThat(sleeper.status()).as(sleeper.toString()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
                assertThat(sleeper.wallTime()).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
            }
            assertThat(pool.stats().created()).isEqualTo(1);
        }
    }

    @Test
    @Timeout(120)
    void idleSandboxesExpireAndLaterRunsGetNewOnes() throws Exception {
        try (SandboxPool pool = JUDGE.pool(SandboxPool.Options.builder().size(2).idleTimeout(Duration.ofMillis(200)).build())) {
            List<Integer> inits = pool.sandboxes().stream().map(PooledSandbox::initPid).toList();
            assertThat(pool.stats().idle()).isEqualTo(2);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (pool.stats().expired() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(pool.stats()).isEqualTo(new SandboxPool.Stats(0, 0, 2, 2, 0, 0));
            // counted as expired when taken from the idle ones, then closed: its init ends soon after
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (inits.stream().anyMatch(pid -> Files.exists(Path.of("/proc/" + pid))) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            for (int pid : inits) {
                assertThat(Path.of("/proc/" + pid)).as("an expired sandbox's init").doesNotExist();
            }
            assertThat(ok(pool.run(sh("echo again"), NO_INPUT)).stdoutText()).isEqualTo("again\n");
            assertThat(pool.stats().created()).isEqualTo(3);
        }
    }

    @Test
    @Timeout(120)
    void closeEndsTheRunsAndLeavesNoProcessCgroupOrSocket() throws Exception {
        String marker = "600." + System.nanoTime() % 1_000_000_000;
        SandboxPool pool = JUDGE.pool(2);
        List<Integer> inits = pool.sandboxes().stream().map(PooledSandbox::initPid).toList();
        List<Path> cgroups = pool.sandboxes().stream().flatMap(s -> s.cgroup().orElseThrow().directories().stream()).toList();
        assertThat(cgroups).isNotEmpty().allMatch(Files::isDirectory);
        IsolatedProcess running = pool.start(sh("echo up; exec sleep " + marker));
        assertThat(new BufferedReader(new InputStreamReader(running.getInputStream())).readLine()).isEqualTo("up");
        List<ProcessHandle> everything = ProcessHandle.current().descendants().toList();
        pool.close();
        assertThat(running.outcome().get(30, TimeUnit.SECONDS).status()).isEqualTo(Outcome.Status.SIGNALED);
        for (int pid : inits) {
            assertThat(Path.of("/proc/" + pid)).as("a pooled sandbox's init").doesNotExist();
        }
        assertThat(Probe.processesWith("sleep " + marker)).isEmpty();
        assertThat(cgroups.stream().filter(Files::exists)).as("cgroups left").isEmpty();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (everything.stream().anyMatch(Probe::running) && System.nanoTime() < deadline) {
            Thread.sleep(10); // the helpers exit after their report
        }
        assertThat(everything.stream().filter(Probe::running).map(p -> p.pid() + " " + p.info().command().orElse("")))
                .as("processes left").isEmpty();
        assertThat(Files.readString(Path.of("/proc/net/unix"))).doesNotContain(socketName(pool));
        pool.close(); // idempotent
        assertThatThrownBy(() -> pool.run(sh("true"), NO_INPUT)).isInstanceOf(IllegalStateException.class);
    }

    private static String socketName(SandboxPool pool) throws Exception {
        java.lang.reflect.Field f = SandboxPool.class.getDeclaredField("socketPrefix");
        f.setAccessible(true);
        return ((String) f.get(pool)).substring(1);
    }

    @Test
    @Timeout(180)
    void concurrentCallersEachGetASandboxOfTheirOwn() throws Exception {
        try (SandboxPool pool = JUDGE.pool(2)) {
            ExecutorService callers = Executors.newFixedThreadPool(4);
            try {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    String word = "run" + i;
                    results.add(callers.submit(() -> ok(pool.run(sh("ls -A /box /tmp; echo " + word + " > /box/w; cat /box/w"),
                            NO_INPUT)).stdoutText()));
                }
                for (int i = 0; i < results.size(); i++) {
                    assertThat(results.get(i).get(60, TimeUnit.SECONDS)).isEqualTo("/box:\n\n/tmp:\nrun" + i + "\n");
                }
            } finally {
                callers.shutdownNow();
            }
            SandboxPool.Stats stats = pool.stats();
            assertThat(stats.created()).isLessThanOrEqualTo(2);
            assertThat(stats.runs()).isEqualTo(24);
            assertThat(stats.discarded()).isZero();
        }
    }

    @Test
    @Timeout(120)
    void aBoundDirectoryShowsTheHostAsItIsAtEachRun() throws Exception {
        Path dir = Files.createTempDirectory("isolation-pool-it");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")); // the run's own uid reads it
        try (SandboxPool pool = JUDGE.toBuilder().bind(dir, "/submission").build().pool(1)) {
            Files.writeString(dir.resolve("answer"), "first\n");
            assertThat(ok(pool.run(sh("cat /submission/answer"), NO_INPUT)).stdoutText()).isEqualTo("first\n");
            // replaced as a judge replaces a submission: a new file renamed over the old one
            Files.writeString(dir.resolve("next"), "second\n");
            Files.move(dir.resolve("next"), dir.resolve("answer"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            assertThat(ok(pool.run(sh("cat /submission/answer; ls /submission"), NO_INPUT)).stdoutText()).isEqualTo("second\nanswer\n");
            assertThat(pool.run(sh("echo x > /submission/planted"), NO_INPUT).status()).as("read-only").isNotEqualTo(Outcome.Status.OK);
            assertThat(pool.stats().created()).isEqualTo(1);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    @Timeout(120)
    void aBindSourceReplacedOnTheHostIsNeitherFollowedNorShownStale() throws Exception {
        Path base = Files.createTempDirectory("isolation-pool-it");
        Path outside = Files.createTempDirectory("isolation-pool-it-outside");
        try {
            for (Path d : List.of(base, outside)) { // the run's own uid reads them
                Files.setPosixFilePermissions(d, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Path sub = Files.createDirectory(base.resolve("sub"));
            Files.writeString(sub.resolve("answer"), "first\n");
            Files.writeString(outside.resolve("answer"), "host secret\n");
            try (SandboxPool pool = JUDGE.toBuilder().bind(sub, "/submission").build().pool(1)) {
                assertThat(ok(pool.run(sh("cat /submission/answer"), NO_INPUT)).stdoutText()).isEqualTo("first\n");

                // the bound directory itself renamed away and a new one put in its place
                Files.move(sub, base.resolve("sub-1"));
                Files.createDirectory(sub);
                Files.setPosixFilePermissions(sub, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                Files.writeString(sub.resolve("answer"), "second\n");
                assertThat(ok(pool.run(sh("cat /submission/answer"), NO_INPUT)).stdoutText()).as("not the old directory")
                        .isEqualTo("second\n");
                assertThat(pool.stats().discarded()).as("the sandbox that bound the old one").isEqualTo(1);
                assertThat(pool.stats().created()).isEqualTo(2);

                // now a symlink to another host directory
                Files.move(sub, base.resolve("sub-2"));
                Files.createSymbolicLink(sub, outside);
                Outcome third = pool.run(sh("cat /submission/answer"), NO_INPUT);
                assertThat(third.status()).as("refused, not followed, not stale: " + third).isEqualTo(Outcome.Status.SETUP_FAILED);
                assertThat(third.stdoutText()).doesNotContain("secret").doesNotContain("second");
                assertThat(third.setupFailure().map(Throwable::getMessage).orElse("")).contains(sub.toString());
                assertThat(pool.stats().discarded()).isEqualTo(2);
                assertThat(pool.stats().idle() + pool.stats().busy()).as("no sandbox kept").isZero();
            }
            assertThat(Files.readString(outside.resolve("answer"))).isEqualTo("host secret\n");
            try (var left = Files.list(outside)) {
                assertThat(left.toList()).as("nothing made in the symlink's target").containsExactly(outside.resolve("answer"));
            }
        } finally {
            for (Path d : List.of(base, outside)) {
                try (var files = Files.walk(d)) {
                    for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(f);
                    }
                }
            }
        }
    }

    /** This JVM's helpers (monitors and pooled sandboxes' keepers): the memfd binary they run is named isolation-helper. */
    private static long helpers() {
        return ProcessHandle.current().children().filter(h -> h.info().command().orElse("").contains("isolation-helper")).count();
    }

    @Test
    @Timeout(120)
    void aRunWithOtherStreamsThanPipesGetsAMonitorOfItsOwnAndNoMonitorOutlivesThePool() throws Exception {
        long before = helpers();
        Path dir = Files.createTempDirectory("isolation-pool-it");
        Path out = dir.resolve("out");
        try {
            try (SandboxPool pool = JUDGE.pool(1)) {
                assertThat(ok(pool.run(sh("echo one"), NO_INPUT)).stdoutText()).isEqualTo("one\n");
                assertThat(ok(pool.run(sh("echo two; echo err >&2"), NO_INPUT)).stdoutText()).as("a monitor made while it was idle")
                        .isEqualTo("two\n");
                // standard output into a file, standard error into it too: not the pipes the idle sandbox's monitor has
                try (IsolatedProcess p = pool.start(sh("echo three; echo err >&2").redirectOutput(out.toFile()).redirectErrorStream(true))) {
                    assertThat(p.waitFor()).isZero();
                }
                assertThat(Files.readString(out)).isEqualTo("three\nerr\n");
                Outcome four = ok(pool.run(sh("echo four; echo err >&2"), NO_INPUT));
                assertThat(four.stdoutText()).isEqualTo("four\n");
                assertThat(four.stderrText()).isEqualTo("err\n");
                assertThat(pool.stats().created()).isEqualTo(1);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (helpers() > before && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(helpers()).as("no monitor made for a next run is left once the pool is closed").isLessThanOrEqualTo(before);
        } finally {
            Files.deleteIfExists(out);
            Files.delete(dir);
        }
    }

    @Test
    @Timeout(120)
    void aDirectoryOnTheWayToABindSourceReplacedByASymlinkIsNoticed() throws Exception {
        Path base = Files.createTempDirectory("isolation-pool-it");
        Path moved = base.resolveSibling(base.getFileName() + "-moved");
        try {
            Files.setPosixFilePermissions(base, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Path mid = Files.createDirectory(base.resolve("mid"));
            Path sub = Files.createDirectory(mid.resolve("sub"));
            Files.writeString(sub.resolve("answer"), "first\n");
            try (SandboxPool pool = JUDGE.toBuilder().bind(sub, "/submission").build().pool(1)) {
                assertThat(ok(pool.run(sh("cat /submission/answer"), NO_INPUT)).stdoutText()).isEqualTo("first\n");

                // the bound directory is the same inode, but now reached through a symlink on the way
                Files.move(mid, moved);
                Files.createSymbolicLink(mid, moved);
                Outcome second = pool.run(sh("cat /submission/answer"), NO_INPUT);
                assertThat(pool.stats().discarded()).as("the sandbox that bound it before the symlink").isEqualTo(1);
                assertThat(second.status()).as("refused, not followed: " + second).isEqualTo(Outcome.Status.SETUP_FAILED);
                assertThat(second.stdoutText()).doesNotContain("first");
                assertThat(pool.stats().idle() + pool.stats().busy()).as("no sandbox kept").isZero();
            }
        } finally {
            for (Path d : List.of(base, moved)) {
                if (Files.exists(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try (var files = Files.walk(d)) {
                        for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                            Files.delete(f);
                        }
                    }
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void aPoolRefusesWhatWouldNotBeFreshOrLimitedInEachRun() throws Exception {
        Path dir = Files.createTempDirectory("isolation-pool-it");
        Path file = Files.writeString(dir.resolve("f"), "x");
        try {
            assertThatThrownBy(() -> JUDGE.toBuilder().bindWritable(dir, "/data").build().pool(1))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("bindWritable");
            assertThatThrownBy(() -> JUDGE.toBuilder().bind(file, "/data/f").build().pool(1))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("of a file");
            assertThatThrownBy(() -> Sandbox.builder().pidNs().mountNs().build().pool(1))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("root of its own");
            try (SandboxPool pool = JUDGE.toBuilder().outputLimit(ByteSize.kib(4)).build().pool(1)) {
                assertThatThrownBy(() -> pool.start(sh("true").inheritIO())).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("INHERIT");
            }
        } finally {
            Files.delete(file);
            Files.delete(dir);
        }
    }

    @Test
    @Timeout(120)
    void nothingOfThePoolOutlivesItsJvm() throws Exception {
        String marker = "600." + System.nanoTime() % 1_000_000_000;
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), PoolHolder.class.getName(),
                marker)).redirectErrorStream(true).start();
        List<Path> cgroups = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.equals("started")) {
                assertThat(line).as("the child JVM").doesNotContain("Exception");
                cgroups.add(Path.of(line));
            }
            assertThat(line).isEqualTo("started");
            assertThat(cgroups).hasSizeGreaterThanOrEqualTo(2).allMatch(Files::isDirectory);
            assertThat(Probe.processesWith("sleep " + marker)).hasSize(1);
            List<ProcessHandle> everything = jvm.toHandle().descendants().toList();
            jvm.destroyForcibly(); // SIGKILL
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long died = System.nanoTime();
            while ((everything.stream().anyMatch(Probe::running) || cgroups.stream().anyMatch(Files::exists))
                    && System.nanoTime() - died < TimeUnit.SECONDS.toNanos(30)) {
                Thread.sleep(5);
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
            assertThat(everything.stream().filter(Probe::running).map(ProcessHandle::pid)).as("processes left").isEmpty();
            assertThat(cgroups.stream().filter(Files::exists)).as("cgroups left").isEmpty();
            assertThat(ms).as("everything gone %d ms after the JVM's death", ms).isLessThanOrEqualTo(JvmDeathIT.BOUND_MS);
        } finally {
            jvm.destroyForcibly();
            jvm.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The child JVM: a pool of two, one of them running {@code sleep MARKER}. */
    static final class PoolHolder {
        public static void main(String[] args) throws Exception {
            SandboxPool pool = JUDGE.pool(2);
            for (PooledSandbox s : pool.sandboxes()) {
                s.cgroup().orElseThrow().directories().forEach(System.out::println);
            }
            IsolatedProcess p = pool.start(new ProcessBuilder("sh", "-c", "echo up; exec sleep " + args[0]));
            new BufferedReader(new InputStreamReader(p.getInputStream())).readLine();
            System.out.println("started");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
