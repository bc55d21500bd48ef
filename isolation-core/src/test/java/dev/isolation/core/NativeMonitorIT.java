package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The native monitor acts without the JVM: a JVM stopped outright (as a long GC pause would hold
 * it) does not stretch a wall-time limit. And no sandbox is set up ahead of time unless asked for.
 * Each test drives a JVM of its own.
 */
@KernelTest
class NativeMonitorIT {
    private static Process jvm(List<String> options, Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(JavaCommand.flags());
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static char state(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-s", name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill -s %s %d", name, pid).isZero();
    }

    @Test
    @Timeout(120)
    void aStoppedJvmDoesNotStretchTheWallTimeLimit() throws Exception {
        Process holder = jvm(List.of(), WallLimited.class);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream()));
            String started = Bounded.line(out);
            assertThat(started).as("the JVM's report").startsWith("started ");
            ProcessHandle program = ProcessHandle.of(Long.parseLong(started.substring(8))).orElseThrow();
            signal("STOP", holder.pid()); // every thread of that JVM stops, as in a stop-the-world pause
            LifecycleIT.awaitCondition(() -> state(holder.pid()) == 'T');
            assertThat(Probe.running(program)).as("the program when the JVM stopped (3 s before its limit)").isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (Probe.running(program) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(state(holder.pid())).as("the JVM, still stopped").isEqualTo('T');
            assertThat(Probe.running(program)).as("the program at its wall-time limit, the JVM stopped").isFalse();
            signal("CONT", holder.pid());
            String outcome = Bounded.line(out);
            assertThat(outcome).as("the outcome the JVM got").startsWith("outcome WALL_TIME_LIMIT ");
            long wallMs = Long.parseLong(outcome.substring("outcome WALL_TIME_LIMIT ".length()));
            assertThat(wallMs).isBetween(3000L, 3000L + Bounded.MONITOR_SLACK.toMillis());
        } finally {
            holder.destroyForcibly();
            holder.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The JVM of {@link #aStoppedJvmDoesNotStretchTheWallTimeLimit}: a sleeper with a wall-time limit of 3 s. */
    static final class WallLimited {
        public static void main(String[] args) throws Exception {
            try (IsolatedProcess p = Sandbox.builder().pidNs().wallTimeLimit(Duration.ofSeconds(3)).build().start("sleep", "1000")) {
                System.out.println("started " + p.pid());
                System.out.flush();
                Outcome o = p.outcome().get(300, TimeUnit.SECONDS);
                System.out.println("outcome " + o.status() + " " + o.wallTime().toMillis());
            }
        }
    }

    @Test
    @Timeout(180)
    void noSandboxIsPreparedAheadOfAStartEvenWithTheOldPrewarmSwitch() throws Exception {
        // after a run, the JVM's live helpers: none, even with the removed -Disolation.prewarm=true; the control,
        // an open pool, shows that the count sees a sandbox set up and waiting
        for (String mode : List.of("run", "pool")) {
            Process holder = jvm(List.of("-Disolation.prewarm=true"), RunsOnce.class, mode);
            java.util.concurrent.Future<String> out = Bounded.drain(holder.getInputStream());
            try {
                assertThat(holder.waitFor(120, TimeUnit.SECONDS)).isTrue();
            } finally {
                holder.destroyForcibly();
            }
            String report = Bounded.get(out, "the JVM's report").trim();
            if (mode.equals("pool")) {
                assertThat(report).as("with a pool open").matches("OK [1-9]\\d*");
            } else {
                assertThat(report).as("after a start").isEqualTo("OK 0");
            }
        }
    }

    /**
     * Runs one sandbox ({@code run}) or one run of a pool it keeps open ({@code pool}), then prints the
     * run's status and how many processes the JVM still has below it, once settled.
     */
    static final class RunsOnce {
        public static void main(String[] args) throws Exception {
            boolean pool = args[0].equals("pool");
            Sandbox s = Sandbox.builder().pidNs().mountNs().netNs().minimalRoot().build();
            try (SandboxPool p = pool ? s.pool(1) : null) {
                Outcome o = pool ? p.run("true") : s.run("true");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                long live;
                do {
                    Thread.sleep(100);
                    live = ProcessHandle.current().descendants().filter(Probe::running).count();
                } while (live > 0 && !pool && System.nanoTime() < deadline);
                System.out.println(o.status() + " " + live);
            }
        }
    }
}
