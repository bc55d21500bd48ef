package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
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
        Launcher.discardPrewarmed(); // their cgroups exist until they are used or dropped
        assertThat(leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
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
    void pidsLimitMakesTheSeventeenthForkFail() throws Exception {
        // init and sh are 2 of the 16; the loop prints how many background sleeps it started
        String forks = "n=0; for i in $(seq 30); do sleep 5 & n=$((n+1)); echo $n; done";
        try (IsolatedProcess p = BASE.toBuilder().pidsLimit(16).build().start("sh", "-c", forks)) {
            List<String> out = new String(p.getInputStream().readAllBytes()).lines().toList();
            String err = new String(p.getErrorStream().readAllBytes());
            Outcome o = p.outcome().join();
            assertThat(out).last().isEqualTo("14");
            assertThat(err).contains("Cannot fork");
            o.cgroupStats().orElseThrow().pidsPeak().ifPresent(peak -> assertThat(peak).isEqualTo(16));
        }
    }

    @Test
    void cpuQuotaOfHalfACoreGivesHalfACpuSecondPerSecond() throws Exception {
        Outcome o = run(BASE.toBuilder().cpuQuota(0.5).build(), "timeout 2 sh -c 'while :; do :; done'; true");
        CgroupStats s = o.cgroupStats().orElseThrow();
        double perSecond = s.cpuTotal().toNanos() / (double) o.wallTime().toNanos();
        assertThat(perSecond).isCloseTo(0.5, within(0.1));
        assertThat(s.cpuThrottledCount()).isPositive();
    }

    @Test
    void cpuSharesSplitOneCpuOneToTwo() throws Exception {
        // both wait for a common start: starting one sandbox must not give it a head start
        String busy = "read go; timeout 3 sh -c 'while :; do :; done'; true";
        Sandbox low = BASE.toBuilder().cpuset("0").cpuShares(512).build();
        Sandbox high = BASE.toBuilder().cpuset("0").cpuShares(1024).build();
        try (IsolatedProcess a = low.start("sh", "-c", busy); IsolatedProcess b = high.start("sh", "-c", busy)) {
            a.getOutputStream().write('\n');
            b.getOutputStream().write('\n');
            a.getOutputStream().flush();
            b.getOutputStream().flush();
            Outcome lowOutcome = a.outcome().join();
            Outcome highOutcome = b.outcome().join();
            double lowCpu = lowOutcome.cgroupStats().orElseThrow().cpuTotal().toNanos();
            double highCpu = highOutcome.cgroupStats().orElseThrow().cpuTotal().toNanos();
            // 1:2 on v1 (cpu.shares 512, 1024); on v2 the OCI formula writes cpu.weight 59 and 100
            double expected = written(highOutcome, "cpuShares") / written(lowOutcome, "cpuShares");
            assertThat(expected).isIn(2.0, 100.0 / 59);
            assertThat(highCpu / lowCpu).isCloseTo(expected, within(expected * 0.25));
        }
    }

    private static double written(Outcome o, String limit) {
        return o.appliedLimits().stream().filter(l -> l.limit().equals(limit)).findFirst()
                .map(l -> Double.parseDouble(l.value().trim())).orElseThrow();
    }

    @Test
    void aPausedSandboxMakesNoProgressAndResumes() throws Exception {
        try (IsolatedProcess p = BASE.toBuilder().cgroup().build().start("sh", "-c", "while :; do :; done")) {
            Thread.sleep(200);
            p.pause();
            Duration frozen = p.stats().cpuTotal();
            Thread.sleep(IN_GUEST ? 1000 : 300);
            assertThat(p.stats().cpuTotal()).isEqualTo(frozen);
            p.resume();
            Thread.sleep(IN_GUEST ? 1000 : 300);
            assertThat(p.stats().cpuTotal().minus(frozen)).isGreaterThan(Duration.ofMillis(50));
            p.destroyForcibly();
        }
    }

    @Test
    void reportedPeakMemoryAndCpuMatchWhatTheProgramUsed() throws Exception {
        // tail keeps all of its input (no newline) in memory: it touches 100 MiB
        Outcome mem = run(BASE.toBuilder().cgroup().build(), "head -c 104857600 /dev/zero | tail > /dev/null");
        long peak = mem.cgroupStats().orElseThrow().memoryPeak().orElseThrow().bytes();
        assertThat(mem.maxRss().bytes()).isGreaterThanOrEqualTo(100L << 20);
        assertThat((double) peak).isCloseTo(mem.maxRss().bytes(), within(mem.maxRss().bytes() * 0.05));

        Outcome cpu = run(BASE.toBuilder().cgroup().build(), "timeout 1 sh -c 'while :; do :; done'; true");
        double cgroupCpu = cpu.cgroupStats().orElseThrow().cpuTotal().toNanos();
        double rusageCpu = cpu.cpuTime().toNanos();
        assertThat(rusageCpu).isGreaterThan(0.5e9);
        assertThat(cgroupCpu).isCloseTo(rusageCpu, within(rusageCpu * 0.1));
    }

    @Test
    void theProgramIsInsideItsCgroupsFromItsFirstInstruction() throws Exception {
        try (IsolatedProcess p = BASE.toBuilder().memoryLimit(ByteSize.mb(256)).pidsLimit(64).build()
                .start("cat", "/proc/self/cgroup", "/proc/1/cgroup")) {
            List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
            assertThat(p.outcome().join().status()).isEqualTo(Outcome.Status.OK);
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
                .hasMessageContaining("cpuset.cpus");
        Launcher.discardPrewarmed();
        assertThat(leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    void aJvmKilledWithSigkillLeavesNoCgroup() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName())
                .redirectErrorStream(true).start();
        try {
            assertThat(new BufferedReader(new InputStreamReader(jvm.getInputStream())).readLine()).isEqualTo("started");
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
        try (IsolatedProcess p = sandbox.start("sh", "-c", script)) {
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.outcome().get(60, TimeUnit.SECONDS);
        }
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
