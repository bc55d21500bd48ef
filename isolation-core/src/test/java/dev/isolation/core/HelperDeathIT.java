package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The sandbox's monitor (the native helper) is killed: the program must not outlive it. */
@KernelTest
class HelperDeathIT {
    /** The helper process this JVM started for {@code program}: its nearest ancestor that is our child. */
    private static ProcessHandle monitorOf(ProcessHandle program) {
        Optional<ProcessHandle> p = Optional.of(program);
        while (p.isPresent()) {
            Optional<ProcessHandle> parent = p.get().parent();
            if (parent.isPresent() && parent.get().pid() == ProcessHandle.current().pid()) {
                return p.get();
            }
            p = parent;
        }
        throw new AssertionError("no helper of this JVM above " + program.pid());
    }

    @Test
    @Timeout(120)
    void aProgramDiesWithItsMonitorInEveryConfiguration() throws Exception {
        for (Sandbox s : new Sandbox[] {Sandbox.builder().build(), Sandbox.builder().pidNs().build(),
            Sandbox.builder().userNs().pidNs().mountNs().build(), Sandbox.builder().userNs().build()}) {
            IsolatedProcess p = s.start("sleep", "1000");
            try {
                ProcessHandle program = ProcessHandle.of(p.pid()).orElseThrow();
                ProcessHandle monitor = monitorOf(program);
                assertThat(monitor.info().command().orElse("")).as("the monitor").contains("fd");
                assertThat(Probe.running(program)).isTrue();
                monitor.destroyForcibly(); // SIGKILL
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (Probe.running(program) && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(Probe.running(program)).as("the program of %s outlived its monitor", s.namespaces()).isFalse();
            } finally {
                try {
                    p.close();
                } catch (SandboxException expected) {
                    // "the sandbox monitor ended without a report": it was killed
                }
            }
        }
    }

    @Test
    @Timeout(120)
    void whatASandboxWithoutAPidNamespaceLeftInTheBackgroundDiesSoonAfterItsMonitorIsKilled() throws Exception {
        // a range of its own: no other test's start leases (and so sweeps) this id; only the library's
        // reaction to the killed monitor can end the leftover
        long id = 0x7E000000L + (System.nanoTime() & 0xFFFF);
        String marker = "isolation-leftover-" + UUID.randomUUID();
        Sandbox s = Sandbox.builder().idRange(id, 1).build();
        IsolatedProcess p = s.start("sh", "-c", "setsid sh -c 'sleep 1000; : " + marker + "' </dev/null >/dev/null 2>&1 & exec sleep 1000");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            // until the outer shell has exec'd sleep and the background shell runs (while it forks its
            // sleep, the fork has its command line too: two processes with the marker for a moment)
            while ((Probe.processesWith(marker).isEmpty() || !outerExeced(p)) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(outerExeced(p)).as("the sandbox's program exec'd sleep").isTrue();
            assertThat(Probe.processesWith(marker)).as("the background process").isNotEmpty().doesNotContain(p.pid());
            monitorOf(ProcessHandle.of(p.pid()).orElseThrow()).destroyForcibly(); // SIGKILL
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Probe.processesWith(marker).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(Probe.processesWith(marker)).as("left behind by the sandbox whose monitor was killed").isEmpty();
        } finally {
            try {
                p.close();
            } catch (SandboxException expected) {
                // "the sandbox monitor ended without a report": it was killed
            }
            for (long pid : Probe.processesWith(marker)) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    private static boolean outerExeced(IsolatedProcess p) {
        return ProcessHandle.of(p.pid()).flatMap(h -> h.info().command()).map(c -> c.endsWith("/sleep")).orElse(false);
    }
}
