package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.SandboxCgroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a persistent sandbox's runs write to its tmpfs mounts is the session's: charged to a cgroup
 * of the session's own (never to the JVM's), limited by the session's memory limit, and, unless the
 * caller asks for a persistent work directory, gone when the run ends. Real files of 100 MiB in
 * real sessions, checked in the host's cgroup files; runs on this host and in the v1 and v2 guests
 * (the accounting differs between the layouts).
 */
@KernelTest
class SessionStorageCgroupIT {
    private static final long MIB = 1L << 20;
    private static final Sandbox POLICY = Sandbox.builder().pidNs().mountNs().minimalRoot().memoryLimit(ByteSize.mb(256)).build();
    private static final String WRITE_100M = "head -c 104857600 /dev/zero > /box/data && echo written";
    private static final SandboxSession.Options PERSISTENT = SandboxSession.Options.builder().persistentWorkDir().build();

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("sh", "-c", script);
    }

    private static String describe(Outcome o) {
        return o + " " + o.message() + " stdout: " + o.stdoutText() + " stderr: " + o.stderrText();
    }

    @Test
    @Timeout(300)
    void filesLeftInAPersistentWorkDirAreChargedToTheSessionNotToTheJvm() throws Exception {
        Optional<Path> jvm = jvmMemoryCgroup().filter(d -> Files.exists(d.resolve("memory.stat")));
        try (SandboxSession session = POLICY.open(PERSISTENT)) {
            Path memory = memoryDirectory(session);
            Path parent = memory.getParent();
            long parentBefore = shmemOutsideChildren(parent);
            long jvmBefore = jvm.map(SessionStorageCgroupIT::shmemOutsideChildren).orElse(0L);

            Outcome o = session.run(sh(WRITE_100M), new byte[0]);
            assertThat(o.status()).as(describe(o)).isEqualTo(Outcome.Status.OK);

            // the run and its cgroup are gone, the file is not: it is the session's
            awaitAbove(memory, 96 * MIB);
            assertThat(usage(memory)).as("the session's memory usage").isGreaterThan(96 * MIB).isLessThanOrEqualTo(256 * MIB);
            assertThat(limit(memory)).as("the session's limit, by default the per-run memory limit").isEqualTo(256 * MIB);
            assertThat(shmemOutsideChildren(parent) - parentBefore).as("tmpfs bytes newly charged to %s itself", parent)
                    .isLessThan(50 * MIB);
            if (jvm.isPresent()) {
                assertThat(shmemOutsideChildren(jvm.get()) - jvmBefore).as("tmpfs bytes newly charged to the JVM's cgroup %s itself",
                        jvm.get()).isLessThan(50 * MIB);
            }
            assertThat(session.run(sh("wc -c < /box/data"), new byte[0]).stdoutText()).isEqualTo("104857600\n");
        }
    }

    @Test
    @Timeout(300)
    void filesLeftForLaterRunsCountTowardsTheSessionsLimitAndARunPastItIsOomKilled() throws Exception {
        Sandbox perRun96M = POLICY.toBuilder().memoryLimit(ByteSize.mb(96)).build(); // the session's limit too, by default
        try (SandboxSession session = perRun96M.open(PERSISTENT)) {
            assertThat(limit(memoryDirectory(session))).isEqualTo(96 * MIB);
            Outcome first = session.run(sh("head -c 67108864 /dev/zero > /box/first && echo written"), new byte[0]);
            assertThat(first.status()).as(describe(first)).isEqualTo(Outcome.Status.OK);
            // 64 MiB more is within the run's own 96 MiB, not within what the session has left
            Outcome second = session.run(sh("head -c 67108864 /dev/zero > /box/second && echo written"), new byte[0]);
            assertThat(second.status()).as(describe(second)).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            assertThat(second.oomKilled()).as(describe(second)).isTrue();
            assertThat(second.stdoutText()).doesNotContain("written");
            // what the second run wrote stays, and leaves a later run little or nothing until the reset
            session.resetWorkDir();
            Outcome next = session.run(sh("echo alive; find /box -mindepth 1"), new byte[0]); // the session's PID 1 was not the victim
            assertThat(next.stdoutText()).as(describe(next)).isEqualTo("alive\n");
            // a run may not ask for more than the session has
            assertThatThrownBy(() -> session.run(POLICY.runLimits(), sh("true"), new byte[0])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("above the session's memory limit");
        }
    }

    @Test
    @Timeout(300)
    void aSessionsOwnMemoryLimitBoundsARunWithoutOne() throws Exception {
        Sandbox noMemoryLimit = Sandbox.builder().pidNs().mountNs().minimalRoot().pidsLimit(64).build();
        try (SandboxSession session = noMemoryLimit.open(SandboxSession.Options.builder().memoryLimit(ByteSize.mb(64)).build())) {
            assertThat(limit(memoryDirectory(session))).isEqualTo(64 * MIB);
            Outcome o = session.run(sh(WRITE_100M), new byte[0]);
            assertThat(o.status()).as(describe(o)).isEqualTo(Outcome.Status.MEMORY_LIMIT);
            assertThat(o.oomKilled()).as(describe(o)).isTrue();
            Outcome next = session.run(sh("echo alive"), new byte[0]);
            assertThat(next.stdoutText()).as(describe(next)).isEqualTo("alive\n");
        }
    }

    @Test
    @Timeout(300)
    void byDefaultEachRunStartsWithEmptyTmpfsMountsAndTheirMemoryIsFreedWhenItEnds() throws Exception {
        try (SandboxSession session = POLICY.open()) {
            Outcome first = session.run(sh("echo a > /box/a; echo b > /tmp/b; echo c > /dev/shm/c; " + WRITE_100M
                    + "; ls /box /tmp /dev/shm | tr '\\n' ' '"), new byte[0]);
            assertThat(first.stdoutText()).as(describe(first)).contains("written").contains("a").contains("b").contains("c");
            Path memory = memoryDirectory(session);
            awaitBelow(memory, 16 * MIB);
            Outcome second = session.run(sh("find /box /tmp /dev/shm -mindepth 1; pwd"), new byte[0]);
            assertThat(second.stdoutText()).as(describe(second)).isEqualTo("/box\n");
        }
    }

    @Test
    @Timeout(300)
    void runsSideBySideDoNotSeeEachOthersFiles() throws Exception {
        try (SandboxSession session = POLICY.open();
                IsolatedProcess a = session.start(sh("echo a > /box/a; echo b > /tmp/b; echo ready; exec sleep 60"))) {
            assertThat(new BufferedReader(new InputStreamReader(a.getInputStream(), StandardCharsets.UTF_8)).readLine()).isEqualTo("ready");
            Outcome b = session.run(sh("find /box /tmp -mindepth 1; echo done"), new byte[0]);
            assertThat(b.stdoutText()).as(describe(b)).isEqualTo("done\n");
            a.destroyForcibly();
        }
    }

    @Test
    @Timeout(300)
    void aBindBelowTmpIsInEveryRunsFreshTmp(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("input"), "data\n");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir.resolve("input"), PosixFilePermissions.fromString("rw-r--r--"));
        try (SandboxSession session = POLICY.toBuilder().bind(dir, "/tmp/in").build().open()) {
            Outcome first = session.run(sh("cat /tmp/in/input; echo x > /tmp/mine; ls /tmp"), new byte[0]);
            assertThat(first.stdoutText()).as(describe(first)).isEqualTo("data\nin\nmine\n");
            Outcome second = session.run(sh("cat /tmp/in/input; ls /tmp"), new byte[0]);
            assertThat(second.stdoutText()).as(describe(second)).isEqualTo("data\nin\n");
        }
    }

    @Test
    @Timeout(300)
    void aPersistentWorkDirKeepsItsFilesForTheNextRunUntilReset() throws Exception {
        try (SandboxSession session = POLICY.open(PERSISTENT)) {
            Outcome first = session.run(sh("echo kept > /box/f; echo gone > /tmp/t; " + WRITE_100M), new byte[0]);
            assertThat(first.stdoutText()).as(describe(first)).isEqualTo("written\n");
            Outcome second = session.run(sh("cat /box/f; find /tmp -mindepth 1"), new byte[0]);
            assertThat(second.stdoutText()).as("/box kept, /tmp fresh: %s", describe(second)).isEqualTo("kept\n");
            Path memory = memoryDirectory(session);
            awaitAbove(memory, 96 * MIB);

            try (IsolatedProcess live = session.start(sh("echo up; exec sleep 60"))) {
                new BufferedReader(new InputStreamReader(live.getInputStream(), StandardCharsets.UTF_8)).readLine();
                assertThatThrownBy(session::resetWorkDir).isInstanceOf(IllegalStateException.class).hasMessageContaining("live");
                live.destroyForcibly();
            }
            session.resetWorkDir();
            Outcome third = session.run(sh("find /box -mindepth 1; echo empty"), new byte[0]);
            assertThat(third.stdoutText()).as(describe(third)).isEqualTo("empty\n");
            awaitBelow(memory, 16 * MIB); // the old /box and its 100 MiB are released
            Outcome fourth = session.run(sh("echo again > /box/g; cat /box/g"), new byte[0]);
            assertThat(fourth.stdoutText()).as(describe(fourth)).isEqualTo("again\n");
            assertThat(session.run(sh("cat /box/g"), new byte[0]).stdoutText()).isEqualTo("again\n");
        }
    }

    @Test
    @Timeout(300)
    void runsAreNestedInTheSessionsCgroupAndCloseRemovesEveryCgroup() throws Exception {
        SandboxSession session = POLICY.open(PERSISTENT);
        List<Path> sessionDirs;
        List<Path> runDirs;
        IsolatedProcess run;
        try {
            SandboxCgroup cg = session.cgroup().orElseThrow(() -> new AssertionError("the session has no cgroup"));
            sessionDirs = cg.directories();
            run = session.start(sh("echo up; exec sleep 60"));
            assertThat(new BufferedReader(new InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8)).readLine()).isEqualTo("up");
            runDirs = Files.readAllLines(Path.of("/proc", Long.toString(run.pid()), "cgroup")).stream()
                    .filter(l -> l.contains("isolation-")).map(CgroupPaths::directoryOf).toList();
            assertThat(runDirs).isNotEmpty();
            Path memory = memoryDirectory(session);
            assertThat(runDirs).as("the run's cgroup is in the session's").anySatisfy(d -> assertThat(d.getParent()).isEqualTo(memory));
            assertThat(sessionDirs).allSatisfy(d -> assertThat(d.getFileName().toString()).startsWith("isolation-"));
            try (Stream<Path> inner = Files.list(memory)) {
                List<String> names = inner.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
                assertThat(names).as("the keeper's leaf and the run's cgroup").hasSize(2).allMatch(n -> n.startsWith("isolation-"));
            }
        } finally {
            session.close();
        }
        run.outcome().get(30, TimeUnit.SECONDS); // it ended with the session
        assertThat(ProcessHandle.of(run.pid()).map(Probe::running).orElse(false)).as("its program").isFalse();
        run.close();
        assertThat(sessionDirs).noneMatch(Files::exists);
        assertThat(runDirs).noneMatch(Files::exists);
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).isEmpty();
        session.close(); // idempotent
    }

    @Test
    @Timeout(300)
    void aRunsCgroupNamespaceHasTheRunsOwnCgroupAsItsRoot() throws Exception {
        try (SandboxSession session = POLICY.toBuilder().cgroupNs().build().open()) {
            Outcome o = session.run(sh("cat /proc/self/cgroup"), new byte[0]);
            assertThat(o.stdoutText().lines().toList()).as(describe(o)).isNotEmpty().allMatch(l -> l.endsWith(":/"));
        }
    }

    @Test
    @Timeout(300)
    void aSessionsCgroupsAreRemovedWhenItsJvmIsKilled() throws Exception {
        Process jvm = new ProcessBuilder(JavaCommand.of("-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                SessionHolder.class.getName())).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String[] line = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8)).readLine().split(" ");
            ProcessHandle program = ProcessHandle.of(Long.parseLong(line[0])).orElseThrow();
            List<Path> dirs = new ArrayList<>(Stream.of(line).skip(1).map(Path::of).toList());
            dirs.addAll(Files.readAllLines(Path.of("/proc", Long.toString(program.pid()), "cgroup")).stream()
                    .filter(l -> l.contains("isolation-")).map(CgroupPaths::directoryOf).toList());
            assertThat(dirs).hasSizeGreaterThan(1).allSatisfy(d -> assertThat(d).isDirectory());
            jvm.destroyForcibly();
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((Probe.running(program) || dirs.stream().anyMatch(Files::exists)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(Probe.running(program)).as("the run's program").isFalse();
            assertThat(dirs).as("the session's, its keeper's and its run's cgroups").noneMatch(Files::exists);
        } finally {
            jvm.destroyForcibly();
        }
    }

    /** The child JVM: a session with a cgroup and a live run; prints the run's pid and the session's directories. */
    static final class SessionHolder {
        public static void main(String[] args) throws Exception {
            SandboxSession session = POLICY.open(PERSISTENT);
            IsolatedProcess p = session.start(sh("echo x > /box/x; exec sleep 1000"));
            System.out.println(p.pid() + " " + String.join(" ", session.cgroup().orElseThrow().directories().stream()
                    .map(Path::toString).toList()));
            System.out.flush();
            p.waitFor();
        }
    }

    private static Path memoryDirectory(SandboxSession session) {
        SandboxCgroup cg = session.cgroup().orElseThrow(() -> new AssertionError("the session has no cgroup"));
        return cg.directories().stream().filter(d -> Files.exists(d.resolve("memory.stat"))).findFirst()
                .orElseThrow(() -> new AssertionError("no memory directory among " + cg.directories()));
    }

    /** The JVM's own cgroup in the hierarchy of the memory controller. */
    private static Optional<Path> jvmMemoryCgroup() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/cgroup"));
        Optional<String> v1 = lines.stream().filter(l -> List.of(l.split(":", 3)[1].split(",")).contains("memory")).findFirst();
        return v1.or(() -> lines.stream().filter(l -> l.startsWith("0::")).findFirst()).map(CgroupPaths::directoryOf);
    }

    private static boolean v2(Path dir) {
        return Files.exists(dir.resolve("cgroup.controllers"));
    }

    /** tmpfs bytes charged to {@code dir} and below it (memory.stat: v2 {@code shmem}, v1 {@code total_shmem}). */
    private static long shmem(Path dir) {
        Map<String, Long> stat = stat(dir);
        return stat.getOrDefault(v2(dir) ? "shmem" : "total_shmem", 0L);
    }

    /**
     * tmpfs bytes charged to {@code dir} but to none of its live child cgroups: its own, and those of
     * removed children (whose charges the kernel keeps, or moves to it).
     */
    private static long shmemOutsideChildren(Path dir) {
        long own = shmem(dir);
        try (Stream<Path> children = Files.list(dir)) {
            for (Path c : children.filter(p -> Files.isDirectory(p) && Files.exists(p.resolve("memory.stat"))).toList()) {
                try {
                    own -= shmem(c);
                } catch (UncheckedIOException e) {
                    // removed while we looked
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return own;
    }

    private static Map<String, Long> stat(Path dir) {
        try {
            Map<String, Long> out = new java.util.HashMap<>();
            for (String line : Files.readAllLines(dir.resolve("memory.stat"))) {
                String[] kv = line.split(" ");
                if (kv.length == 2) {
                    out.put(kv[0], Long.parseLong(kv[1]));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long usage(Path dir) throws IOException {
        return Long.parseLong(Files.readString(dir.resolve(v2(dir) ? "memory.current" : "memory.usage_in_bytes")).strip());
    }

    private static long limit(Path dir) throws IOException {
        return Long.parseLong(Files.readString(dir.resolve(v2(dir) ? "memory.max" : "memory.limit_in_bytes")).strip());
    }

    /**
     * The tmpfs bytes of {@code dir} are above {@code bytes} within 10 s: memory.stat is flushed
     * lazily (every 2 s at most), so the charge is exact but its figure may lag behind it.
     */
    private static void awaitAbove(Path dir, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (shmem(dir) <= bytes && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(shmem(dir)).as("tmpfs bytes charged to %s", dir).isGreaterThan(bytes);
    }

    /** The tmpfs bytes of {@code dir} drop below {@code bytes} within 5 s. */
    private static void awaitBelow(Path dir, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (shmem(dir) >= bytes) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("tmpfs bytes charged to " + dir + " stay at " + shmem(dir) + ", not below " + bytes);
            }
            Thread.sleep(10);
        }
    }
}
