package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.junit.EnabledIfCgroupsAvailable;
import dev.isolation.core.junit.EnabledIfSandboxAvailable;
import dev.isolation.core.junit.SandboxedProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A test that talks to an untrusted fixture, a tiny line-based "server", through its standard
 * input and output. The sandbox keeps it off the network and under 64 MiB; closing the process
 * kills it and everything it started. The fixture answers a line in upper case, and three
 * requests that let the test check those claims from the inside: {@code !connect PORT} (to the
 * host's loopback), {@code !alloc MIB} (touches that much memory; answers the status) and
 * {@code !child COMMAND} (starts it in the background).
 *
 * <p>It uses the library's JUnit 5 support: the conditions skip it, saying what is missing and
 * how to fix it, where this host cannot run sandboxes with a memory limit (and fail it under CI),
 * and the fixture is a {@link SandboxedProcess} field, started before the test and closed after
 * it; had the test failed, the fixture's standard error and outcome would be in its report.
 */
@EnabledIfSandboxAvailable
@EnabledIfCgroupsAvailable(CgroupController.MEMORY)
class FixtureServerIT {
    private static final String UPPER_CASE_SERVER = "while IFS= read -r line; do case $line in\n"
            + "'!connect '*) python3 -c \"import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)\" "
            + "${line#!connect } 2>/dev/null && echo connected || echo refused ;;\n"
            + "'!alloc '*) head -c $(( ${line#!alloc } << 20 )) /dev/zero | tail > /dev/null; echo \"alloc $?\" ;;\n"
            + "'!child '*) ${line#!child } </dev/null >/dev/null 2>&1 & echo started ;;\n"
            + "*) printf '%s\\n' \"$line\" | tr a-z A-Z ;;\n"
            + "esac; done";
    static final Sandbox SANDBOX =
            Sandbox.builder().pidNs().mountNs().netNs().minimalRoot().memoryLimit(ByteSize.mib(64)).build();

    @SandboxedProcess(sandbox = "SANDBOX", command = {"sh", "-c", UPPER_CASE_SERVER})
    IsolatedProcess server;

    @Test
    @Timeout(120)
    void fixtureAnswersRequestsAndIsGoneAfterClose() throws Exception {
        String child = "sleep 600." + System.nanoTime() % 1000;
        try (ServerSocket hostService = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            String connect = "!connect " + hostService.getLocalPort();
            IsolatedProcess server = this.server; // started by the extension, which closes it after the test too
            try (server) { // closed here to check what close() leaves (nothing); closing again is harmless
                PrintWriter requests = new PrintWriter(server.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader answers = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
                requests.println("hello");
                assertThat(line(answers)).isEqualTo("HELLO");
                requests.println("sandboxed fixture");
                assertThat(line(answers)).isEqualTo("SANDBOXED FIXTURE");
                requests.println(connect);
                assertThat(line(answers)).as("off the network: the host's loopback").isEqualTo("refused");
                requests.println("!alloc 16");
                assertThat(line(answers)).as("16 MiB fit").isEqualTo("alloc 0");
                requests.println("!alloc 100");
                assertThat(line(answers)).as("100 MiB do not: the OOM killer's SIGKILL").isEqualTo("alloc 137");
                requests.println("still there?");
                assertThat(line(answers)).as("the OOM killer took the allocation, not the fixture").isEqualTo("STILL THERE?");
                requests.println("!child " + child);
                assertThat(line(answers)).isEqualTo("started");
                awaitRunning(child, 1);
            } // close() kills the server, which would otherwise wait for input forever, and its child

            assertThat(server.isAlive()).isFalse();
            assertThat(outcome(server).killed()).as("killed by close()").isTrue();
            assertThat(ProcessHandle.of(server.pid())).isEmpty();
            assertThat(running(child)).as("the fixture's child after close()").isEmpty();

            // the same fixture without the network namespace and the memory limit does reach the host and get 100 MiB:
            // the answers above came from the sandbox
            try (IsolatedProcess open = Sandbox.builder().pidNs().mountNs().minimalRoot().build().start("sh", "-c", UPPER_CASE_SERVER)) {
                PrintWriter requests = new PrintWriter(open.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader answers = new BufferedReader(new InputStreamReader(open.getInputStream(), StandardCharsets.UTF_8));
                requests.println(connect);
                assertThat(line(answers)).isEqualTo("connected");
                requests.println("!alloc 100");
                assertThat(line(answers)).isEqualTo("alloc 0");
            }
        }
    }

    /** The next line, failing after 30 s rather than hanging the build. */
    private static String line(BufferedReader reader) throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(reader.readLine());
            } catch (IOException e) {
                f.completeExceptionally(e);
            }
        }, "fixture-answer");
        t.setDaemon(true);
        t.start();
        return f.get(30, TimeUnit.SECONDS);
    }

    private static Outcome outcome(IsolatedProcess p) throws Exception {
        return p.outcome().get(30, TimeUnit.SECONDS);
    }

    private static void awaitRunning(String commandLine, int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (running(commandLine).size() != count) {
            assertThat(System.nanoTime()).as("%d process(es) %s running", count, commandLine).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** Host processes whose command line is exactly {@code commandLine}, arguments separated by one space. */
    private static List<Long> running(String commandLine) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(Path.of("/proc"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ').strip();
                    if (cmd.equals(commandLine)) {
                        found.add(Long.parseLong(name));
                    }
                } catch (IOException gone) {
                    // it ended while we looked
                }
            }
        }
        return found;
    }
}
