package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The built {@code isolation.jar}, run in its own JVM as users run it, for the command-line ITs. */
final class IsolationJar {
    static final Path JAR = Path.of(System.getProperty("isolation.jar", "target/isolation.jar"));

    /** Exit status, stdout and stderr of one run of the tool, and its pid (which names its cgroups). */
    record Result(int status, String stdout, String stderr, long pid) {}

    private IsolationJar() {}

    static void requireBuilt() {
        assertThat(JAR).as("the shaded jar, built by `package` before failsafe runs").isRegularFile();
    }

    /** Runs the tool with {@code args}, stdin from /dev/null, its output collected in files under {@code dir}. */
    static Result run(Path dir, String... args) throws IOException, InterruptedException {
        return run(dir, System.getenv(), args);
    }

    /** {@link #run(Path, String...)} with {@code environment} as the tool's whole environment. */
    static Result run(Path dir, Map<String, String> environment, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("tool.out");
        Path err = dir.resolve("tool.err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().putAll(environment);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly(); // the tool's monitors then kill what it started
            throw new AssertionError("isolation " + String.join(" ", args) + " did not finish within 60 s");
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err), p.pid());
    }
}
