package dev.isolation.examples.cli;

import dev.isolation.examples.cli.IsolationJar.Result;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.examples.RealKernel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built {@code isolation.jar} in its own JVM, as users run it: real exit statuses, real stderr,
 * and the program's stdio inherited from the tool.
 */
class IsolationCliIT {

    @TempDir
    Path dir;

    @BeforeAll
    static void requireKernelAndJar() {
        RealKernel.require();
        IsolationJar.requireBuilt();
    }


    private Result isolation(String... args) throws IOException, InterruptedException {
        return IsolationJar.run(dir, args);
    }

    @Test
    @Timeout(120)
    void runsTheProgramInNamespacesAndReportsItsOutcome() throws Exception {
        Path stdout = dir.resolve("program.out");
        Path json = dir.resolve("report.json");
        // The program shows its namespaces, blocks twice (at least one voluntary context switch each), and runs two
        // busy loops pinned to one CPU at the same time (each must preempt the other: involuntary switches).
        String program = "echo hello from $(hostname); for n in pid mnt uts ipc net user cgroup; do echo $n=$(readlink /proc/self/ns/$n); done; "
                + "sleep 0.05; sleep 0.05; cpu=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//'); "
                + "for i in 1 2; do taskset -c $cpu sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done' & done; wait";
        Result r = isolation("run", "--pid", "--mount", "--uts", "--ipc", "--net", "--hostname", "box",
                "--stdout", stdout.toString(), "--json", json.toString(), "--", "/bin/sh", "-c", program);

        assertThat(r.status()).as(r.stderr()).isZero();
        assertThat(r.stderr()).isEmpty();
        List<String> out = Files.readAllLines(stdout);
        assertThat(out).hasSize(8).first().isEqualTo("hello from box");

        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.keySet()).contains("status", "exitCode", "signal", "wallTimeMs", "cpuTimeMs", "userTimeMs",
                "systemTimeMs", "maxRssBytes", "voluntaryContextSwitches", "involuntaryContextSwitches", "killed",
                "command", "namespaces");
        assertThat(j.get("status").getAsString()).isEqualTo("OK");
        assertThat(j.get("exitCode").getAsInt()).isZero();
        assertThat(j.get("signal").isJsonNull()).isTrue();
        assertThat(j.get("killed").getAsBoolean()).isFalse();
        double wall = j.get("wallTimeMs").getAsDouble();
        assertThat(wall).as("two sleeps of 50 ms").isGreaterThanOrEqualTo(100).isLessThan(60_000);
        assertThat(j.get("cpuTimeMs").getAsDouble()).as("the busy loops").isPositive()
                .isCloseTo(j.get("userTimeMs").getAsDouble() + j.get("systemTimeMs").getAsDouble(),
                        org.assertj.core.data.Offset.offset(0.002));
        assertThat(j.get("maxRssBytes").getAsLong()).isBetween(64L * 1024, 1L << 30);
        assertThat(j.get("voluntaryContextSwitches").getAsLong()).as("the sleeps").isGreaterThanOrEqualTo(2);
        assertThat(j.get("involuntaryContextSwitches").getAsLong()).as("the loops sharing a CPU").isGreaterThanOrEqualTo(1);
        assertThat(j.getAsJsonArray("command").asList()).extracting(e -> e.getAsString())
                .containsExactly("/bin/sh", "-c", program);
        // the namespaces the report names are the ones the program found new (and only those)
        Map<String, String> reportName = Map.of("pid", "pid", "mnt", "mount", "uts", "uts", "ipc", "ipc", "net", "network",
                "user", "user", "cgroup", "cgroup");
        List<String> newInside = new ArrayList<>();
        for (String line : out.subList(1, 8)) {
            String ns = line.substring(0, line.indexOf('='));
            String host = Files.readSymbolicLink(Path.of("/proc/self/ns/" + ns)).toString();
            assertThat(line.substring(ns.length() + 1)).matches(ns + ":\\[\\d+\\]");
            if (!line.equals(ns + "=" + host)) {
                newInside.add(reportName.get(ns));
            }
        }
        assertThat(newInside).containsExactly("pid", "mount", "uts", "ipc", "network");
        assertThat(j.getAsJsonArray("namespaces").asList()).extracting(e -> e.getAsString())
                .containsExactlyElementsOf(newInside);
    }

    @Test
    @Timeout(120)
    void programStdoutIsInheritedByDefault() throws Exception {
        Result r = isolation("run", "--uts", "--hostname", "box", "--", "hostname");
        assertThat(r.status()).isZero();
        assertThat(r.stdout()).isEqualTo("box\n");
    }

    @Test
    @Timeout(120)
    void exitCodeIsPropagated() throws Exception {
        Result r = isolation("run", "--pid", "--", "sh", "-c", "exit 3");
        assertThat(r.status()).isEqualTo(3);
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    @Timeout(120)
    void deathBySignalExitsWith128PlusTheSignal() throws Exception {
        Path json = dir.resolve("killed.json");
        Result r = isolation("run", "--pid", "--json", json.toString(), "--", "sh", "-c", "kill -9 $$");
        assertThat(r.status()).isEqualTo(137);
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("SIGNALED");
        assertThat(j.get("signal").getAsInt()).isEqualTo(9);
        assertThat(j.get("exitCode").isJsonNull()).isTrue();
    }

    @Test
    @Timeout(120)
    void terminatingTheToolTerminatesTheProgramAndStillWritesTheReport() throws Exception {
        // the program runs as an unprivileged uid of its own: let it leave its mark in the test's directory
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path started = dir.resolve("started");
        Path json = dir.resolve("terminated.json");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", IsolationJar.JAR.toString(),
                "run", "--pid", "--json", json.toString(), "--", "sh", "-c", "touch " + started + "; exec sleep 60"));
        Path toolErr = dir.resolve("tool.err");
        Process tool = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(toolErr.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (Files.notExists(started) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(started).as("the program started").exists();
            tool.destroy(); // SIGTERM to the tool's JVM
            assertThat(tool.waitFor(30, TimeUnit.SECONDS)).as("the tool exited").isTrue();
        } finally {
            tool.destroyForcibly();
        }
        assertThat(Files.readString(toolErr).lines()).singleElement().asString()
                .startsWith("isolation: SIGTERM to isolation: the program was sent SIGTERM and was killed by signal 15 (exit 143");
        assertThat(tool.exitValue()).as("the program's status for SIGTERM, as --json says").isEqualTo(143);
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("SIGNALED");
        assertThat(j.get("signal").getAsInt()).as("SIGTERM, passed on").isEqualTo(15);
    }

    @Test
    @Timeout(120)
    void environmentCanBeClearedAndSet() throws Exception {
        Path stdout = dir.resolve("env.out");
        Result r = isolation("run", "--clear-env", "--env", "GREETING=hi there", "--stdout", stdout.toString(),
                "--", "/usr/bin/env");
        assertThat(r.status()).isZero();
        assertThat(Files.readString(stdout)).isEqualTo("GREETING=hi there\n");
    }

    @Test
    @Timeout(120)
    void missingExecutableIsOneLineSayingWhatToDoWithStatus127AndASetupFailedReport() throws Exception {
        Path stdout = dir.resolve("never.out");
        Path json = dir.resolve("never.json");
        Path meta = dir.resolve("never.meta");
        Result r = isolation("run", "--pid", "--mount", "--stdout", stdout.toString(), "--json", json.toString(),
                "--meta", meta.toString(), "--", "/nonexistent");
        assertThat(r.status()).as("Docker's and the shell's 'command not found'").isEqualTo(IsolationCli.NOT_FOUND);
        assertThat(r.stderr().lines()).singleElement().asString()
                .startsWith("isolation: execve(\"/nonexistent\"): ENOENT (No such file or directory): no file /nonexistent in the sandbox")
                .contains("give a path that exists there");
        assertThat(r.stdout()).isEmpty();
        assertThat(stdout).doesNotExist();
        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("SETUP_FAILED");
        assertThat("isolation: " + j.get("message").getAsString()).isEqualTo(r.stderr().strip());
        assertThat(j.get("exitCode").isJsonNull()).isTrue();
        assertThat(j.getAsJsonArray("command").asList()).extracting(e -> e.getAsString()).containsExactly("/nonexistent");
        assertThat(Files.readString(meta)).contains("status:XX\n", "message:execve(\"/nonexistent\"): ENOENT");
    }

    @Test
    @Timeout(120)
    void aCommandNotInPathSaysSoAndHowToFixItWithStatus127() throws Exception {
        Path unsearchable = Files.createDirectories(dir.resolve("private/bin"));
        Files.setPosixFilePermissions(dir.resolve("private"), java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        // as with a pyenv directory under /root in the caller's PATH: the sandbox's own uid may not search it
        Result r = isolation("run", "--env", "PATH=" + unsearchable + ":/usr/bin:/bin", "--", "no-such-command-isolation");
        assertThat(r.status()).as(r.stderr()).isEqualTo(IsolationCli.CANNOT_EXECUTE);
        assertThat(r.stderr().lines()).singleElement().asString()
                .startsWith("isolation: execve(\"" + unsearchable + "/no-such-command-isolation\"): EACCES")
                .contains("no runnable \"no-such-command-isolation\" in the sandbox's PATH", "may not search " + unsearchable,
                        "set a PATH without " + unsearchable + " (--env PATH=...)");

        Result plain = isolation("run", "--", "no-such-command-isolation");
        assertThat(plain.status()).isEqualTo(IsolationCli.NOT_FOUND);
        assertThat(plain.stderr().lines()).singleElement().asString()
                .contains("no command \"no-such-command-isolation\" in any directory of the sandbox's PATH (" + dev.isolation.core.Sandbox.DEFAULT_PATH + ")",
                        "Give the program's absolute path");
    }

    @Test
    @Timeout(120)
    void anEmptyRootfsWithMode0700SaysItIsEmptyAndWhatToDo() throws Exception {
        Path rootfs = Files.createDirectory(dir.resolve("rootfs"));
        Files.setPosixFilePermissions(rootfs, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Result r = isolation("run", "--pid", "--mount", "--rootfs", rootfs.toString(), "--", "/bin/true");
        assertThat(r.status()).as(r.stderr()).isEqualTo(IsolationCli.NOT_FOUND);
        assertThat(r.stderr().lines()).singleElement().asString()
                .contains("the sandbox's root file system " + rootfs.toRealPath() + " is empty", "extract an image into it",
                        "(--mount without --rootfs)");
    }

    @Test
    @Timeout(120)
    void aBadOptionStillWritesTheJsonReport() throws Exception {
        Path json = dir.resolve("bad.json");
        Result r = isolation("run", "--json", json.toString(), "--memory", "lots", "--", "true");
        assertThat(r.status()).isEqualTo(IsolationCli.ISOLATION_FAILED);
        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("SETUP_FAILED");
        assertThat(j.get("message").getAsString()).startsWith("--memory lots: not a size");
    }

    @Test
    @Timeout(120)
    void aWallTimeKillSaysSoInOneLineOnStderr() throws Exception {
        Path json = dir.resolve("slow.json");
        Result r = isolation("run", "--pid", "--wall-time", "0.5", "--json", json.toString(), "--", "sleep", "30");
        assertThat(r.status()).isEqualTo(137);
        assertThat(r.stderr().lines()).singleElement().asString()
                .startsWith("isolation: wall time limit exceeded (")
                .endsWith("): the program was killed by signal 9 (exit 137, status WALL_TIME_LIMIT)");
        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("WALL_TIME_LIMIT");
        assertThat(j.get("signal").getAsInt()).isEqualTo(9);

        Result silent = isolation("run", "--pid", "--wall-time", "0.5", "--silent", "--", "sleep", "30");
        assertThat(silent.status()).isEqualTo(137);
        assertThat(silent.stderr()).isEmpty();
    }

    /** Starts the tool on a shell program that prints "ready" once its trap is set, and waits for that line. */
    private Process startReady(Path json, String program) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                IsolationJar.JAR.toString(), "run", "--pid", "--json", json.toString(), "--", "/bin/sh", "-c", program));
        Process p = new ProcessBuilder(command).redirectError(dir.resolve("tool.err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String first = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(first).as("the program's first line").isEqualTo("ready");
        return p;
    }

    /** The SigBlk, SigIgn and SigCgt lines of {@code pid}'s status, or why not. */
    private static String signalMasks(long pid) {
        try {
            return String.join(" ", Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("SigBlk") || l.startsWith("SigIgn") || l.startsWith("SigCgt")).toList());
        } catch (IOException e) {
            return "gone (" + e + ")";
        }
    }

        private static void signal(Process p, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor()).isZero();
    }

    @Test
    @Timeout(120)
    void ctrlCIsPassedToTheProgramAndTheExitStatusIsWhatTheJsonSays() throws Exception {
        Path json = dir.resolve("interrupted.json");
        Process p = startReady(json, "trap 'exit 6' TERM; echo ready; while :; do sleep 0.1; done");
        String before = signalMasks(p.pid());
        signal(p, "INT");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the tool ended after SIGINT; its signal masks before it (SigIgn bit 2 set:"
                + " it inherited SIGINT ignored, as from a shell's \"&\" without job control): %s; now: %s; its stderr: %s",
                before, signalMasks(p.pid()), Files.readString(dir.resolve("tool.err"))).isTrue();

        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.get("exitCode").getAsInt()).as("the program's trap").isEqualTo(6);
        assertThat(p.exitValue()).as("the same as --json says, not 130").isEqualTo(6);
        assertThat(Files.readString(dir.resolve("tool.err")).lines()).singleElement().asString()
                .isEqualTo("isolation: SIGINT to isolation: the program was sent SIGTERM and exited with code 6 (exit 6, status NONZERO_EXIT)");
    }

    @Test
    @Timeout(120)
    void sigtermToTheToolEndsTheProgramWithSigtermAndExits143() throws Exception {
        Path json = dir.resolve("terminated.json");
        Process p = startReady(json, "echo ready; exec sleep 60");
        signal(p, "TERM");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        JsonObject j = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertThat(j.get("signal").getAsInt()).isEqualTo(15);
        assertThat(p.exitValue()).isEqualTo(128 + 15);
        assertThat(Files.readString(dir.resolve("tool.err"))).startsWith("isolation: SIGTERM to isolation: the program was sent SIGTERM"
                + " and was killed by signal 15 (exit 143");
    }
}
