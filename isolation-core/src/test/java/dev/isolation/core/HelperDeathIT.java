package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
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
}
