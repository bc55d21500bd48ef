package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.examples.RealKernel;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code isolation run --output-limit} with the program's stdout or stderr going to a pipe, as
 * in {@code isolation run --output-limit 1M -- sh -c yes | wc -c}: exactly the limit gets through
 * and the run ends at once as OUTPUT_LIMIT (it used to pass gigabytes and end at the wall-time limit).
 */
class IsolationCliOutputIT {
    private static final long LIMIT = 1 << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void requireKernelAndJar() {
        RealKernel.require();
        IsolationJar.requireBuilt();
    }

    @Test
    @Timeout(120)
    void stdoutPipedIntoAReaderGetsExactlyTheLimit() throws Exception {
        Path json = dir.resolve("report.json");
        Run r = run(true, "run", "--pid", "--mount", "--wall-time", "20", "--output-limit", "1M", "--json", json.toString(),
                "--", "sh", "-c", "yes");
        assertThat(r.piped).as(r.err).isEqualTo(LIMIT);
        assertThat(r.status).as("SIGKILL, from the monitor").isEqualTo(137);
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("OUTPUT_LIMIT");
        assertThat(j.get("killed").getAsBoolean()).isTrue();
    }

    @Test
    @Timeout(120)
    void stderrPipedIntoAReaderGetsExactlyTheLimit() throws Exception {
        Path json = dir.resolve("report.json");
        Run r = run(false, "run", "--wall-time", "20", "--output-limit", "1M", "--json", json.toString(),
                "--", "sh", "-c", "yes >&2");
        // exactly the limit of the program's, then isolation's own line saying which limit ended the run
        String line = "isolation: output limit exceeded: the program was killed by signal 9 (exit 137, status OUTPUT_LIMIT)\n";
        assertThat(r.tail).endsWith("y\n" + line);
        assertThat(r.piped).isEqualTo(LIMIT + line.length());
        assertThat(r.status).isEqualTo(137);
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("OUTPUT_LIMIT");
    }

    /** The exit status, the bytes read from the pipe and the last of them, and the other stream. */
    private record Run(int status, long piped, String tail, String err) {}

    /** Runs the tool with its stdout (or its stderr) a pipe this test counts, the other stream a file. */
    private Run run(boolean stdout, String... args) throws IOException, InterruptedException, Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", IsolationJar.JAR.toString()));
        command.addAll(List.of(args));
        Path other = dir.resolve("other");
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(Redirect.from(new File("/dev/null")));
        if (stdout) {
            pb.redirectError(other.toFile());
        } else {
            pb.redirectOutput(other.toFile());
        }
        Process tool = pb.start();
        try {
            InputStream piped = stdout ? tool.getInputStream() : tool.getErrorStream();
            CompletableFuture<Long> counted = new CompletableFuture<>();
            java.io.ByteArrayOutputStream last = new java.io.ByteArrayOutputStream();
            Thread reader = new Thread(() -> {
                try (piped) {
                    byte[] buf = new byte[1 << 16];
                    long total = 0;
                    byte[] tail = new byte[0];
                    for (int n; (n = piped.read(buf)) > 0; ) {
                        total += n;
                        byte[] joined = java.util.Arrays.copyOf(tail, tail.length + n);
                        System.arraycopy(buf, 0, joined, tail.length, n);
                        tail = java.util.Arrays.copyOfRange(joined, Math.max(0, joined.length - 512), joined.length);
                    }
                    last.write(tail);
                    counted.complete(total);
                } catch (Throwable e) {
                    counted.completeExceptionally(e);
                }
            }, "piped-output-counter");
            reader.setDaemon(true);
            reader.start();
            assertThat(tool.waitFor(60, TimeUnit.SECONDS)).as("isolation finished").isTrue();
            long total = counted.get(30, TimeUnit.SECONDS);
            return new Run(tool.exitValue(), total, last.toString(java.nio.charset.StandardCharsets.UTF_8), Files.readString(other));
        } finally {
            tool.destroyForcibly();
        }
    }
}
