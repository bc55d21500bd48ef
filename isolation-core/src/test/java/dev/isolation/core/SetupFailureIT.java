package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Setups that cannot finish fail promptly, say why, and leave no process behind. */
@KernelTest
class SetupFailureIT {
    private static long descendants() {
        return ProcessHandle.current().descendants().count();
    }

    private static void awaitDescendants(long count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (descendants() > count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(descendants()).as("processes of this JVM left behind").isLessThanOrEqualTo(count);
    }

    @Test
    @Timeout(120)
    void aPolicyThatDeniesExecveFailsTheStartNamingTheCall() throws Exception {
        long before = descendants();
        for (Sandbox s : new Sandbox[] {
            Sandbox.builder().pidNs().cgroup().seccomp(SeccompPolicy.defaultPolicy().deny("execve")).build(),
            Sandbox.builder().seccomp(SeccompPolicy.strict().deny("execve")).build()}) {
            // bounded: before the fix the program waited for ever on a notification nobody answered
            CompletableFuture<Throwable> failure = CompletableFuture.<Throwable>supplyAsync(() -> {
                try (IsolatedProcess p = s.start("true")) {
                    return null;
                } catch (java.io.IOException e) { // SandboxException is one
                    return e;
                }
            }).orTimeout(30, TimeUnit.SECONDS);
            Throwable e;
            try {
                e = failure.join();
            } catch (CompletionException timeout) {
                throw new AssertionError("start() did not return", timeout);
            }
            assertThat(e).isInstanceOf(SandboxSetupException.class);
            assertThat(e.getMessage()).startsWith("execve(").contains("seccomp policy");
            assertThat(((SandboxSetupException) e).call()).isEqualTo("execve");
            // run() reports the same as SETUP_FAILED
            Outcome o = CompletableFuture.supplyAsync(() -> s.run("true")).orTimeout(30, TimeUnit.SECONDS).join();
            assertThat(o.status()).isEqualTo(Outcome.Status.SETUP_FAILED);
            assertThat(o.message()).contains("execve");
        }
        awaitDescendants(before);
    }
}
