package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link IsolatedProcess} as a {@link Process}: {@code onExit()}, and the signals the sandbox's init passes on. */
@KernelTest
class ProcessApiIT {
    private static final Sandbox ALL = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();

    @Test
    @Timeout(60)
    void onExitCompletesWithTheProcessOnceItEndedOnTheLibrarysPool() throws Exception {
        try (IsolatedProcess p = ALL.start("sh", "-c", "read x; exit 4")) {
            CompletableFuture<Process> exited = p.onExit();
            CompletableFuture<String> thread = exited.thenApply(done -> Thread.currentThread().getName());
            Thread.sleep(200);
            assertThat(exited).as("onExit() of a program waiting for input").isNotDone();
            assertThat(p.isAlive()).isTrue();
            p.getOutputStream().close(); // it reads EOF and exits 4
            Process done = Bounded.get(exited, "onExit()");
            assertThat(done).isSameAs(p);
            assertThat(done.isAlive()).isFalse();
            assertThat(done.exitValue()).isEqualTo(4);
            assertThat(Bounded.get(thread, "the dependent action")).startsWith("isolation-completion-");
            assertThat(p.onExit()).isDone(); // and at once, for a process that has ended
        }
    }

    @Test
    @Timeout(120)
    void initForwardsTermIntHupQuitUsr1AndUsr2ToTheProgram() throws Exception {
        // The program traps each signal and says so; the test signals the sandbox's init (PID 1 inside, the program's
        // parent), which passes it on. TERM last: the program exits 7 on it.
        List<String> signals = List.of("HUP", "INT", "QUIT", "USR1", "USR2", "TERM");
        StringBuilder traps = new StringBuilder();
        for (String s : signals) {
            traps.append("trap 'echo got-").append(s).append(s.equals("TERM") ? "; exit 7" : "").append("' ").append(s).append("; ");
        }
        try (IsolatedProcess p = ALL.start("sh", "-c", traps + "echo ready; while :; do sleep 0.05; done")) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            assertThat(Bounded.line(out)).isEqualTo("ready");
            long init = Probe.parentOf(p.pid()).orElseThrow();
            assertThat(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + init + "/comm")).trim())
                    .isEqualTo("isolation-init");
            for (String s : signals) {
                Process kill = new ProcessBuilder("kill", "-s", s, Long.toString(init)).inheritIO().start();
                assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(kill.exitValue()).as("kill -s %s", s).isZero();
                assertThat(Bounded.line(out)).as("after SIG%s to init", s).isEqualTo("got-" + s);
            }
            Outcome o = Bounded.get(p.outcome(), "the program's end");
            assertThat(o.exitCode()).hasValue(7);
            assertThat(o.killed()).isFalse();
        }
    }
}
