package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.Capture;
import dev.isolation.core.internal.linux.Kernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One sandbox never stalls another: callers' callbacks run off the monitor thread, capture memory
 * is bounded per run and per JVM, a failure in one sandbox's handling leaves the others served,
 * and a thread waiting in {@code run()} can be interrupted. And bad builder values fail at the
 * builder, never at run time, and leave nothing behind.
 */
@KernelTest
class MonitorIsolationIT {
    private static final Sandbox ALL = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();

    @AfterEach
    void noCgroupOfThisJvmIsLeft() throws Exception {
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).isEmpty();
    }

    /** A sleep whose command line is unique to one test, to find it on the host. */
    private static String uniqueSleep() {
        return "sleep 60." + Math.abs(UUID.randomUUID().getLeastSignificantBits() % 1000) + System.nanoTime() % 1000;
    }

    @Test
    @Timeout(120)
    void aBlockingOutcomeCallbackDelaysNoOtherSandbox() throws Exception {
        Sandbox judge = ALL.toBuilder().wallTimeLimit(Duration.ofSeconds(20)).outputLimit(ByteSize.mb(4)).build();
        List<Function<IsolatedProcess, CompletableFuture<?>>> attachments = List.of(IsolatedProcess::outcome, IsolatedProcess::onExit);
        for (Function<IsolatedProcess, CompletableFuture<?>> attach : attachments) {
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<String> callbackThread = new AtomicReference<>();
            try (IsolatedProcess slow = ALL.start("sh", "-c", "read x")) {
                attach.apply(slow).thenAccept(o -> { // attached while the program runs: not on this thread
                    callbackThread.set(Thread.currentThread().getName());
                    inCallback.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                slow.getOutputStream().close(); // the program reads end of file and exits
                assertThat(inCallback.await(10, TimeUnit.SECONDS)).isTrue();

                // 1 MiB is 16 pipes full: only a monitor that keeps reading lets it finish
                Outcome other = judge.run("head", "-c", "1048576", "/dev/zero");
                assertThat(release.getCount()).as("the callback was still blocked when the other run ended").isEqualTo(1);
                assertThat(other.status()).as(other.toString()).isEqualTo(Outcome.Status.OK);
                assertThat(other.stdout()).hasSize(1 << 20);
                assertThat(callbackThread.get()).startsWith("isolation-completion-");
                release.countDown();
            }
        }
    }

    @Test
    @Timeout(60)
    void outcomesCompleteOnTheCallersExecutorOrOnTheLibrarysWhenItRejects() throws Exception {
        ExecutorService mine = Executors.newSingleThreadExecutor(r -> new Thread(r, "callers-completions"));
        try {
            assertThat(threadOfCallback(ALL.toBuilder().completionExecutor(mine).build())).isEqualTo("callers-completions");
        } finally {
            mine.shutdownNow();
        }
        assertThat(threadOfCallback(ALL.toBuilder().completionExecutor(mine).build())) // shut down: rejects
                .startsWith("isolation-completion-");
        assertThat(threadOfCallback(ALL.toBuilder().completionExecutor(Runnable::run).build())) // a direct executor
                .startsWith("isolation-completion-");
        // waitFor, close and run wait for the sandbox, not for the caller's executor
        Sandbox stalled = ALL.toBuilder().completionExecutor(task -> { }).build(); // accepts and never runs
        try (IsolatedProcess p = stalled.start("true")) {
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(p.outcome()).isNotDone();
        }
        assertThat(stalled.run("echo", "done").stdoutText()).isEqualTo("done\n");
    }

    private static String threadOfCallback(Sandbox sandbox) throws Exception {
        try (IsolatedProcess p = sandbox.start("sh", "-c", "read x")) {
            CompletableFuture<String> thread = p.outcome().thenApply(o -> Thread.currentThread().getName());
            p.getOutputStream().close();
            return thread.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(60)
    void anErrorInOneSandboxsHandlingFailsOnlyItsOwnWatchAndTheMonitorGoesOn() throws Exception {
        Kernel k = Kernel.get();
        int[] pipe = k.pipe();
        Capture broken = Capture.start(pipe[0], 0, () -> {
            throw new OutOfMemoryError("injected into the monitor thread");
        });
        try {
            k.write(pipe[1], new byte[] {1}); // past the limit of 0: the kill callback throws on the monitor thread
            assertThatThrownBy(() -> broken.collected().get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasRootCauseMessage("injected into the monitor thread");
        } finally {
            k.close(pipe[1]);
        }
        CompletableFuture<Outcome> next = CompletableFuture.supplyAsync(() -> ALL.run("echo", "still served"));
        Outcome o = next.get(20, TimeUnit.SECONDS);
        assertThat(o.status()).isEqualTo(Outcome.Status.OK);
        assertThat(o.stdoutText()).isEqualTo("still served\n");
        assertThat(Capture.inUse()).isZero();
    }

    @Test
    @Timeout(300)
    void aFloodWithoutOutputLimitInASmallHeapIsCutAtTheJvmsBoundAndAHundredRunsFollow() throws Exception {
        String out = runFlooder("-Xmx96m");
        assertThat(out).as(out).doesNotContain("OutOfMemoryError").contains("runs 100 of 100 ok").contains("in use 0");
        String[] flood = out.lines().filter(l -> l.startsWith("flood ")).findFirst().orElseThrow().split(" ");
        long budget = Long.parseLong(flood[1]);
        long captured = Long.parseLong(flood[3]) + Long.parseLong(flood[4]);
        assertThat(budget).as("a quarter of the child's heap").isLessThanOrEqualTo((96L << 20) / 4);
        assertThat(flood[2]).as(out).isEqualTo("OUTPUT_LIMIT");
        assertThat(captured).as(out).isPositive().isLessThanOrEqualTo(budget);
        assertThat(out).contains("system property isolation.captureMemory");
    }

    @Test
    @Timeout(300)
    void anOutOfMemoryErrorOnTheMonitorThreadFailsOnlyTheFloodingRun() throws Exception {
        // a capture bound above the heap: the flood exhausts the heap on the monitor thread itself
        String out = runFlooder("-Xmx48m", "-Disolation.captureMemory=1G");
        assertThat(out).as(out).contains("runs 100 of 100 ok").contains("in use 0");
        String[] flood = out.lines().filter(l -> l.startsWith("flood ")).findFirst().orElseThrow().split(" ");
        assertThat(flood[2]).as(out).isEqualTo("INTERNAL_ERROR");
        assertThat(out).contains("OutOfMemoryError");
    }

    private static String runFlooder(String... jvmOptions) throws Exception {
        Path log = Files.createTempFile("isolation-flood", ".log");
        try {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            command.addAll(JavaCommand.flags());
            command.addAll(List.of(jvmOptions));
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), Flooder.class.getName()));
            Process jvm = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                boolean ended = jvm.waitFor(240, TimeUnit.SECONDS);
                assertThat(ended).as("the child JVM ended: %s", Files.readString(log)).isTrue();
                assertThat(jvm.exitValue()).as(Files.readString(log)).isZero();
            } finally {
                jvm.destroyForcibly(); // its helpers notice and kill their sandboxes
            }
            return Files.readString(log);
        } finally {
            Files.delete(log);
        }
    }

    /** The child JVM: 30 MiB on stdout and 30 MiB on stderr at once, no output limit, then 100 ordinary runs. */
    static final class Flooder {
        public static void main(String[] args) throws Exception {
            Sandbox sandbox = Sandbox.builder().pidNs().build();
            Outcome flood = sandbox.run("sh", "-c", "head -c 31457280 /dev/zero & head -c 31457280 /dev/zero >&2; wait");
            System.out.println("flood " + Capture.budget() + " " + flood.status() + " " + flood.stdout().length + " "
                    + flood.stderr().length);
            System.out.println("message " + flood.message());
            flood = null;
            int ok = 0;
            for (int i = 0; i < 100; i++) {
                Outcome o = sandbox.run("sh", "-c", "echo run " + i + "; echo err " + i + " >&2");
                if (o.status() == Outcome.Status.OK && o.stdoutText().equals("run " + i + "\n") && o.stderrText().equals("err " + i + "\n")) {
                    ok++;
                } else {
                    System.out.println("run " + i + ": " + o + " " + o.message());
                }
            }
            System.out.println("runs " + ok + " of 100 ok");
            System.out.println("in use " + Capture.inUse());
        }
    }

    @Test
    @Timeout(60)
    void interruptingRunKillsTheSandboxAndReturnsPromptly() throws Exception {
        Sandbox limited = ALL.toBuilder().pidsLimit(64).build(); // with a cgroup, whose removal @AfterEach checks
        Probe.run(limited, "true"); // warm up: the monitor and a completion thread exist from here on
        long fds = Probe.openFds();
        try (SandboxSession session = limited.open()) {
            List<Function<String, Outcome>> runs = List.of(
                    marker -> limited.run("sh", "-c", marker),
                    marker -> limited.run(new ProcessBuilder("sh", "-c", marker), new byte[1 << 20]), // stdin it never reads
                    marker -> session.run(new ProcessBuilder("sh", "-c", marker), new byte[0]));
            for (Function<String, Outcome> run : runs) {
                String marker = uniqueSleep();
                ExecutorService worker = Executors.newSingleThreadExecutor();
                try {
                    AtomicReference<Outcome> outcome = new AtomicReference<>();
                    AtomicBoolean stillInterrupted = new AtomicBoolean();
                    CountDownLatch returned = new CountDownLatch(1);
                    Future<?> task = worker.submit(() -> {
                        try {
                            outcome.set(run.apply(marker));
                            stillInterrupted.set(Thread.currentThread().isInterrupted());
                        } finally {
                            returned.countDown();
                        }
                    });
                    LifecycleIT.awaitCondition(() -> !Probe.processesWith(marker).isEmpty()); // it really runs
                    task.cancel(true);
                    assertThat(returned.await(10, TimeUnit.SECONDS)).as("run() returned after the interrupt").isTrue();
                    assertThat(outcome.get().status()).as(String.valueOf(outcome.get())).isEqualTo(Outcome.Status.INTERRUPTED);
                    assertThat(outcome.get().killed()).isTrue();
                    assertThat(outcome.get().message()).contains("interrupted");
                    assertThat(stillInterrupted).as("the interrupt status is kept").isTrue();
                    assertThat(Probe.processesWith(marker)).as("the sleep is gone").isEmpty();
                } finally {
                    worker.shutdownNow();
                }
            }
        }
        Probe.run(limited, "true");
        assertThat(Probe.openFds()).isEqualTo(fds);
    }

    @Test
    @Timeout(60)
    void interruptingWaitForThrowsAtOnceAndLeavesTheProgramToItsOwner() throws Exception {
        String marker = uniqueSleep();
        try (IsolatedProcess p = ALL.start("sh", "-c", marker)) {
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    p.waitFor();
                    thrown.complete(null);
                } catch (Throwable e) {
                    thrown.complete(e);
                }
            });
            waiter.start();
            LifecycleIT.awaitCondition(() -> waiter.getState() == Thread.State.WAITING);
            waiter.interrupt();
            assertThat(thrown.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            assertThat(p.isAlive()).as("as Process.waitFor: the program is not killed").isTrue();
            assertThat(Probe.processesWith(marker)).isNotEmpty();
        }
        assertThat(Probe.processesWith(marker)).as("close() killed it").isEmpty();
    }

    /**
     * Random values, extremes included, into every setter with a number, duration or size: each is
     * rejected by the builder with an exception naming the setter, or it builds a sandbox whose
     * {@code run("true")} returns an outcome. No cgroup and no descriptor is left afterwards.
     */
    @Test
    @Timeout(300)
    void randomBuilderValuesFailAtTheBuilderOrRunAndLeaveNothing() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Sandbox base = Sandbox.builder().pidNs().mountNs().minimalRoot().build();
        Probe.run(base, "true");
        long fds = Probe.openFds();
        int rejected = 0;
        Map<Outcome.Status, Integer> statuses = new EnumMap<>(Outcome.Status.class);
        for (int trial = 0; trial < 150; trial++) {
            Sandbox.Builder b = base.toBuilder();
            List<String> applied = new ArrayList<>();
            boolean building = false;
            Sandbox sandbox;
            try {
                for (int i = 0, n = 1 + random.nextInt(3); i < n; i++) {
                    BuilderValues.Setter setter = BuilderValues.RUNNABLE.get(random.nextInt(BuilderValues.RUNNABLE.size()));
                    applied.add(setter.name());
                    setter.apply(b, random);
                }
                building = true;
                sandbox = b.build();
            } catch (IllegalArgumentException | IllegalStateException e) {
                if (building) { // a contradiction between two of them
                    assertThat(e.getMessage()).as("seed %d", seed).containsAnyOf(applied.toArray(String[]::new));
                } else {
                    assertThat(e.getMessage()).as("seed %d", seed).contains(applied.get(applied.size() - 1));
                }
                rejected++;
                continue;
            }
            Outcome o = sandbox.run("true"); // returns, whatever the values
            statuses.merge(o.status(), 1, Integer::sum);
        }
        assertThat(rejected).as("seed %d: some values were rejected", seed).isPositive();
        assertThat(statuses.getOrDefault(Outcome.Status.OK, 0)).as("seed %d: some ran, %s", seed, statuses).isPositive();
        assertThat(CgroupLimitsIT.leftovers(ProcessHandle.current().pid())).as("seed %d", seed).isEmpty();
        assertThat(Probe.openFds()).as("seed %d", seed).isEqualTo(fds);
    }
}
