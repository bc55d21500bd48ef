package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Sandbox;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A test that talks to an untrusted fixture, a tiny line-based "server", through its standard
 * input and output. The sandbox keeps it off the network and under 64 MiB; closing the process
 * kills it and everything it started.
 */
class FixtureServerIT {
    private static final String UPPER_CASE_SERVER =
            "while IFS= read -r line; do printf '%s\\n' \"$line\" | tr a-z A-Z; done";

    @BeforeAll
    static void requireKernel() {
        RealKernel.require();
    }

    @Test
    void fixtureAnswersRequestsAndIsGoneAfterClose() throws Exception {
        Sandbox sandbox = Sandbox.builder().pidNs().mountNs().netNs().minimalRoot().memoryLimit(ByteSize.mb(64)).build();
        IsolatedProcess server = sandbox.start("sh", "-c", UPPER_CASE_SERVER);
        try (server) {
            PrintWriter requests = new PrintWriter(server.getOutputStream(), true, StandardCharsets.UTF_8);
            BufferedReader answers = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            requests.println("hello");
            assertThat(answers.readLine()).isEqualTo("HELLO");
            requests.println("sandboxed fixture");
            assertThat(answers.readLine()).isEqualTo("SANDBOXED FIXTURE");
        } // close() kills the server, which would otherwise wait for input forever, and closes the streams

        assertThat(server.isAlive()).isFalse();
        assertThat(server.outcome().join().killed()).as("killed by close()").isTrue();
        assertThat(ProcessHandle.of(server.pid())).isEmpty();
    }
}
