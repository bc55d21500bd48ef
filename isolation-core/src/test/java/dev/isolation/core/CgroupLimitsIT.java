package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.CgroupUnits;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * cgroup limits applied through {@link Sandbox} are enforced by the kernel. Runs on this host's
 * layout, and in CI also in pure cgroup v1 and v2 guests (.ci/vm-tests.sh).
 */
@KernelTest
class CgroupLimitsIT {
    /** Java runs ~10x slower in the emulated guest: fewer repetitions there. */
    private static final boolean IN_GUEST = System.getenv("RVM_GUEST") != null;
    private static final Sandbox BASE = Sandbox.builder().pidNs().mountNs().build();

    @AfterEach
    void noCgroupOfThisJvmIsLeft() throws IOException {
        assertThat(leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    @Timeout(300)
    void memoryLimitKillsAnAllocationPastTheLimit() throws Exception {
        String allocate200M = "head -c 209715200 /dev/zero | tail > /dev/null";
        Outcome unlimited = run(BASE, allocate200M);
        assertThat(unlimited.status()).as("the allocation itself works").isEqualTo(Outcome.Status.OK);

        Outcome limited = run(BASE.toBuilder().memoryLimit(ByteSize.mb(64)).build(), allocate200M);
        assertThat(limited.exitValue()).isEqualTo(137); // tail was SIGKILLed
        assertThat(limited.oomKilled()).isTrue();
        assertThat(limited.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes()).isLessThanOrEqualTo(64L << 20);
        assertThat(limited.appliedLimits()).anySatisfy(l -> {
            assertThat(l.limit()).isEqualTo("memoryLimit");
            assertThat(l.file().getFileName().toString()).isIn("memory.limit_in_bytes", "memory.max");
        });
        assertThat(limited.appliedLimits()).anySatisfy(l -> assertThat(l.limit()).isEqualTo("swapLimit"));
    }

    @Test
    @Timeout(300)
    void pidsLimitMakesTheSeventeenthForkFail() throws Exception {
        // init, sh and the subshell are 3 of the 16; the subshell prints how many background sleeps it started until a
        // fork fails (which ends it), and sh waits for EOF meanwhile
        String forks = "(n=0; for i in $(seq 30); do sleep 50 & n=$((n+1)); echo $n; done) 2>&1; echo done; read x";
        try (IsolatedProcess p = BASE.toBuilder().pidsLimit(16).build().start("sh", "-c", forks)) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            List<String> lines = new ArrayList<>();
            for (String l = Bounded.line(out); l != null && !l.equals("done"); l = Bounded.line(out)) {
                lines.add(l);
            }
            assertThat(lines.stream().filter(l -> l.matches("\\d+"))).last().isEqualTo("13");
            assertThat(lines).anyMatch(l -> l.contains("Cannot fork"));
            // pids.peak is there from Linux 6.1 (v2; v1 later): reported exactly where the kernel has it
            boolean kernelHasPeak = Files.exists(CgroupPaths.directoryOf(p.pid(), "pids").resolve("pids.peak"));
            p.getOutputStream().close();
            Outcome o = Bounded.get(p.outcome(), "the program's end");
            assertThat(o.cgroupStats().orElseThrow().pidsPeak().isPresent()).as("pids.peak reported iff the kernel has it")
                    .isEqualTo(kernelHasPeak);
            if (kernelHasPeak) {
                assertThat(o.cgroupStats().orElseThrow().pidsPeak().getAsLong()).isEqualTo(16);
            }
        }
    }

    /** Two busy processes: the sandbox would use every CPU it can get. */
    private static final String TWO_BUSY_LOOPS = "sh -c 'while :; do :; done' & while :; do :; done";

    @Test
    @Timeout(180)
    void cpuQuotaCapsTheSandboxAtItsShareOfEveryPeriod() throws Exception {
        // A ceiling, which a busy host can only lower: 20 ms of CPU in every 100 ms period, however much it wants.
        long start = System.nanoTime();
        try (IsolatedProcess p = BASE.toBuilder().cpuQuota(0.2).build().start("sh", "-c", TWO_BUSY_LOOPS)) {
            awaitStats(p, s -> s.cpuTotal().compareTo(Duration.ofMillis(300)) >= 0 && s.cpuThrottledCount() > 0,
                    "300 ms of CPU, throttled at least once");
            CgroupStats s = p.stats();
            double wall = System.nanoTime() - start;
            Path cpuDir = CgroupPaths.directoryOf(p.pid(), "cpu");
            long periods = cpuStat(cpuDir, "nr_periods");
            // Per the kernel's own count of the periods the sandbox ran in, and per second since it was started: the
            // quota, plus the kernel's slack (it throttles at the next tick, 4 ms at most, on each CPU). Without the
            // quota the two loops would take several times that, even on a host whose CPUs were all busy.
            long perPeriodMs = 20 + 4L * Runtime.getRuntime().availableProcessors();
            assertThat(s.cpuTotal()).as("CPU in %d periods of 100 ms", periods).isLessThanOrEqualTo(Duration.ofMillis(perPeriodMs * (periods + 1)));
            assertThat(s.cpuTotal().toNanos() / wall).as("CPU seconds per second").isLessThanOrEqualTo(perPeriodMs / 100.0);
            // the figure the library reports is the kernel's (read again just after, it can only have grown)
            assertThat(s.cpuThrottledCount()).isPositive().isLessThanOrEqualTo(cpuStat(cpuDir, "nr_throttled"));
            p.destroyForcibly();
        }
    }

    /** A field of a cgroup's cpu.stat (v1 and v2 both have nr_periods and nr_throttled). */
    private static long cpuStat(Path cgroup, String field) throws IOException {
        return Files.readAllLines(cgroup.resolve("cpu.stat")).stream().map(l -> l.split(" ")).filter(f -> f[0].equals(field))
                .mapToLong(f -> Long.parseLong(f[1])).findFirst().orElseThrow();
    }

    @Test
    @Timeout(300)
    void cpuSharesSplitOneCpuOneToTwo() throws Exception {
        // Both always runnable on one CPU: whatever else runs there, the kernel divides what the two get by their
        // shares. The CPU each used is compared over the same interval, read while both still run.
        Sandbox low = BASE.toBuilder().cpuset("0").cpuShares(512).build();
        Sandbox high = BASE.toBuilder().cpuset("0").cpuShares(1024).build();
        try (IsolatedProcess a = low.start("sh", "-c", "while :; do :; done");
             IsolatedProcess b = high.start("sh", "-c", "while :; do :; done")) {
            // 1:2 on v1 (cpu.shares 512, 1024); on v2 the OCI formula writes cpu.weight 59 and 100
            double expected = written(b, "cpu.weight", "cpu.shares") / written(a, "cpu.weight", "cpu.shares");
            assertThat(expected).isIn(2.0, 100.0 / 59);
            assertThat(splitOfOneCpu(a, b)).isCloseTo(expected, within(expected * 0.25));
        }
    }

    @Test
    @Timeout(300)
    void cpuWeightSplitsOneCpuAsItsWeightsSay() throws Exception {
        // v2's own knob (1..10000, default 100); v1 gets cpu.shares converted back from it
        Sandbox low = BASE.toBuilder().cpuset("0").cpuWeight(100).build();
        Sandbox high = BASE.toBuilder().cpuset("0").cpuWeight(300).build();
        try (IsolatedProcess a = low.start("sh", "-c", "while :; do :; done");
             IsolatedProcess b = high.start("sh", "-c", "while :; do :; done")) {
            boolean v2 = Files.exists(CgroupPaths.directoryOf(a.pid(), "cpu").resolve("cpu.weight"));
            assertThat(written(a, "cpu.weight", "cpu.shares")).isEqualTo(v2 ? 100 : CgroupUnits.weightToShares(100));
            assertThat(written(b, "cpu.weight", "cpu.shares")).isEqualTo(v2 ? 300 : CgroupUnits.weightToShares(300));
            double expected = written(b, "cpu.weight", "cpu.shares") / written(a, "cpu.weight", "cpu.shares");
            assertThat(splitOfOneCpu(a, b)).isCloseTo(expected, within(expected * 0.25));
        }
    }

    /**
     * How many times the CPU {@code low} used {@code high} used, over the same interval, both busy on
     * one CPU: from when both ran until {@code low} used 500 ms more.
     */
    private static double splitOfOneCpu(IsolatedProcess low, IsolatedProcess high) throws Exception {
        awaitStats(low, s -> s.cpuTotal().toMillis() >= 50, "50 ms of CPU");
        awaitStats(high, s -> s.cpuTotal().toMillis() >= 50, "50 ms of CPU");
        long lowStart = low.stats().cpuTotal().toNanos();
        long highStart = high.stats().cpuTotal().toNanos();
        awaitStats(low, s -> s.cpuTotal().toNanos() - lowStart >= 500_000_000L, "500 ms more CPU");
        long highUsed = high.stats().cpuTotal().toNanos() - highStart;
        long lowUsed = low.stats().cpuTotal().toNanos() - lowStart;
        return (double) highUsed / lowUsed;
    }

    /** The number in the kernel's file of this name (cpu.weight on v2, cpu.shares on v1) in the sandbox's cgroup. */
    private static double written(IsolatedProcess p, String... files) throws IOException {
        Path dir = CgroupPaths.directoryOf(p.pid(), "cpu");
        for (String f : files) {
            if (Files.exists(dir.resolve(f))) {
                return Double.parseDouble(Files.readString(dir.resolve(f)).trim());
            }
        }
        throw new AssertionError("none of " + List.of(files) + " in " + dir);
    }

    /** Waits (at most 120 s: a busy host makes it slower, never wrong) until the sandbox's cgroup figures satisfy {@code until}. */
    static void awaitStats(IsolatedProcess p, java.util.function.Predicate<CgroupStats> until, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        CgroupStats s;
        while (!until.test(s = p.stats())) {
            assertThat(System.nanoTime()).as("waited 120 s for %s; now %s", what, s).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    @Timeout(300)
    void aPausedSandboxMakesNoProgressAndResumes() throws Exception {
        try (IsolatedProcess p = BASE.toBuilder().cgroup().build().start("sh", "-c", "while :; do :; done")) {
            awaitStats(p, s -> s.cpuTotal().toMillis() >= 20, "20 ms of CPU before the pause"); // it runs
            p.pause(); // returns once the kernel reports the cgroup frozen
            Duration frozen = p.stats().cpuTotal();
            Thread.sleep(IN_GUEST ? 1000 : 300);
            // a busy loop left running would gain a large part of the sleep; v2's cpu.stat may still add the last
            // microseconds of the slice it was frozen in (seen in the v2 guest: 73 us), which is no progress
            assertThat(p.stats().cpuTotal().minus(frozen)).as("CPU while frozen").isLessThan(Duration.ofMillis(5));
            p.resume();
            awaitStats(p, s -> s.cpuTotal().minus(frozen).toMillis() >= 50, "50 ms of CPU after resume()");
            p.destroyForcibly();
        }
    }

    @Test
    @Timeout(300)
    void reportedPeakMemoryAndCpuMatchWhatTheProgramUsed() throws Exception {
        // tail keeps all of its input (no newline) in memory: it touches 100 MiB
        Outcome mem = run(BASE.toBuilder().cgroup().build(), "head -c 104857600 /dev/zero | tail > /dev/null");
        long peak = mem.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes();
        assertThat(mem.maxRss().bytes()).isGreaterThanOrEqualTo(100L << 20);
        assertThat((double) peak).isCloseTo(mem.maxRss().bytes(), within(mem.maxRss().bytes() * 0.05));

        // the program burns 500 ms of CPU by its own count: a busy host only makes it slower
        Bounded.Result burn = Bounded.run(BASE.toBuilder().cgroup().build(),
                "python3", "-c", "import time\nwhile time.process_time() < 0.5: pass");
        Outcome cpu = burn.outcome();
        assertThat(cpu.status()).as(burn.err()).isEqualTo(Outcome.Status.OK);
        double cgroupCpu = cpu.cgroupStats().orElseThrow().cpuTotal().toNanos();
        double rusageCpu = cpu.cpuTime().toNanos();
        assertThat(rusageCpu).isGreaterThanOrEqualTo(0.5e9);
        assertThat(cgroupCpu).isCloseTo(rusageCpu, within(rusageCpu * 0.1));
    }

    @Test
    @Timeout(300)
    void theProgramIsInsideItsCgroupsFromItsFirstInstruction() throws Exception {
        try (IsolatedProcess p = BASE.toBuilder().memoryLimit(ByteSize.mb(256)).pidsLimit(64).build()
                .start("cat", "/proc/self/cgroup", "/proc/1/cgroup")) {
            Bounded.Result r = Bounded.collect(p);
            List<String> lines = r.out().lines().toList();
            assertThat(r.outcome().status()).isEqualTo(Outcome.Status.OK);
            // cat itself and the sandbox's init: every hierarchy that carries a limit, and v2
            String name = "isolation-" + ProcessHandle.current().pid() + "-";
            assertThat(lines.stream().filter(l -> l.matches("\\d+:([^:]*(memory|pids)[^:]*)?:.*") && !l.contains("name=")))
                    .isNotEmpty()
                    .allSatisfy(l -> assertThat(l).contains(name));
        }
    }

    @Test
    @Timeout(60)
    void aDaemonIsKilledWithTheSandboxEvenWithoutAPidNamespace() throws Exception {
        String daemon = "sleep " + (800 + Math.abs(UUID.randomUUID().getLeastSignificantBits() % 99)) + ".5";
        try (IsolatedProcess p = Sandbox.builder().cgroup().build()
                .start("sh", "-c", "setsid sh -c '" + daemon + "' </dev/null >/dev/null 2>&1 & echo started; read x; exit 0")) {
            assertThat(Bounded.line(new BufferedReader(new InputStreamReader(p.getInputStream())))).isEqualTo("started");
            LifecycleIT.awaitCondition(() -> LifecycleIT.running(daemon).size() == 1);
            // it runs, and in a session of its own: out of reach of the program's process group and session
            long pid = LifecycleIT.running(daemon).get(0).pid();
            assertThat(session(pid)).isNotEqualTo(session(p.pid())).isNotEqualTo(session(ProcessHandle.current().pid()));
            p.getOutputStream().close(); // the program reads EOF and exits
            assertThat(Bounded.get(p.outcome(), "the program's end").status()).isEqualTo(Outcome.Status.OK);
        }
        assertThat(LifecycleIT.running(daemon)).as("the outcome completes once everything in the sandbox ended").isEmpty();
    }

    /** The session id of a host process (field 6 of /proc/PID/stat). */
    private static long session(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
    }

    @Test
    @Timeout(300)
    void noCgroupIsLeftAfterManyRunsOrAFailedSetup(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Sandbox limited = BASE.toBuilder().memoryLimit(ByteSize.mb(64)).pidsLimit(32).cpuShares(512).build();
        for (int i = 0; i < (IN_GUEST ? 20 : 1000); i++) {
            try (IsolatedProcess p = limited.start("true")) {
                assertThat(p.waitFor()).isZero();
            }
        }
        assertThatThrownBy(() -> limited.start("/nonexistent")).isInstanceOf(SandboxSetupException.class);
        assertThatThrownBy(() -> BASE.toBuilder().cpuset("999").build().start("true"))
                .isInstanceOf(SandboxException.class)
                .hasMessageContaining("cpusetCpus \"999\"").hasMessageContaining("use a subset of");
        assertThat(leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    @Timeout(300)
    void aJvmKilledWithSigkillLeavesNoCgroup() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), Holder.class.getName()))
                .redirectErrorStream(true).start();
        try {
            assertThat(Bounded.line(new BufferedReader(new InputStreamReader(jvm.getInputStream())))).isEqualTo("started");
            assertThat(leftovers(jvm.pid())).isNotEmpty();
            jvm.destroyForcibly();
            jvm.waitFor();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(IN_GUEST ? 10 : 2);
            while (!leftovers(jvm.pid()).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(leftovers(jvm.pid())).isEmpty();
        } finally {
            jvm.destroyForcibly();
        }
    }

    /** The child JVM of {@link #aJvmKilledWithSigkillLeavesNoCgroup}. */
    static final class Holder {
        public static void main(String[] args) throws Exception {
            IsolatedProcess p = BASE.toBuilder().memoryLimit(ByteSize.mb(64)).build().start("sleep", "1000");
            System.out.println("started");
            System.out.flush();
            p.waitFor();
        }
    }

    private static Outcome run(Sandbox sandbox, String script) throws Exception {
        return Bounded.run(sandbox, "sh", "-c", script).outcome();
    }

    /** Cgroup directories created for sandboxes of the JVM with this pid. */
    static List<Path> leftovers(long pid) throws IOException {
        for (int attempt = 0;; attempt++) {
            List<Path> found = new ArrayList<>();
            try (Stream<Path> all = Files.find(Path.of("/sys/fs/cgroup"), 6,
                    (p, a) -> a.isDirectory() && p.getFileName().toString().startsWith("isolation-" + pid + "-"))) {
                all.forEach(found::add);
                return found;
            } catch (java.io.UncheckedIOException e) {
                if (attempt > 20) {
                    throw e;
                }
                // a directory vanished while we walked: it was being removed; look again
            }
        }
    }
}
