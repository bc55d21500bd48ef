package dev.isolation.examples.judge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupController;
import dev.isolation.examples.RealKernel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code isolation judge} in its own JVM, as users run it: a row as each test ends, progress on a terminal. */
class JudgeCliIT {
    private static final Path JAR = Path.of(System.getProperty("isolation.jar", "target/isolation.jar"));

    @TempDir
    Path dir;

    @BeforeAll
    static void requireKernelCompilerAndJar() {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPUACCT);
        assertThat(Path.of("/usr/bin/gcc")).as("gcc, which the judge runs inside the sandbox").exists();
        assertThat(JAR).as("the shaded jar, built by `package` before failsafe runs").isRegularFile();
    }

    private static List<String> judge(String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                JAR.toString(), "judge"));
        command.addAll(List.of(args));
        return command;
    }

    @Test
    @Timeout(300)
    void eachTestsRowIsPrintedWhenItEndsNotAtTheEnd() throws Exception {
        // test 2 sleeps until its 120 s wall-time limit: the row of test 1 must come long before the judge ends
        Path source = Files.writeString(dir.resolve("sleepy.c"), "#include <stdio.h>\n#include <unistd.h>\n"
                + "int main(void) { long a, b; if (scanf(\"%ld %ld\", &a, &b) != 2) return 1;"
                + " if (a == 0) sleep(600); printf(\"%ld\\n\", a + b); return 0; }\n");
        Path tests = Files.createDirectory(dir.resolve("tests"));
        Files.writeString(tests.resolve("1.in"), "1 2\n");
        Files.writeString(tests.resolve("1.out"), "3\n");
        Files.writeString(tests.resolve("2.in"), "0 0\n");
        Files.writeString(tests.resolve("2.out"), "0\n");
        Process p = new ProcessBuilder(judge("--cpu-time", "1", "--wall-time", "120", source.toString(), tests.toString()))
                .redirectError(dir.resolve("judge.err").toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("1 ")) {
                seen.add(line);
            }
            assertThat(line).as("test 1's row; before it: %s; stderr: %s", seen, Files.readString(dir.resolve("judge.err")))
                    .isNotNull().matches("1 +AC .*");
            assertThat(seen).hasSize(2).first().asString().startsWith("test     verdict");
            assertThat(p.isAlive()).as("test 2 still runs (it sleeps until its 120 s wall-time limit)").isTrue();
        } finally {
            p.destroy(); // the JVM exits; the sandbox's monitor kills what is left
            p.waitFor(60, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(300)
    void onATerminalALineSaysWhichTestRunsAndIsReplacedByItsRow() throws Exception {
        Path typescript = dir.resolve("typescript");
        String command = String.join(" ", judge("isolation-examples/sample-problem/solutions/ac.c".replace("isolation-examples/", ""),
                "sample-problem/tests").stream().map(a -> "'" + a + "'").toList());
        // script(1) gives the judge a pseudo-terminal as its standard output
        Process p = new ProcessBuilder("script", "-q", "-e", "-c", command, typescript.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(dir.resolve("script.out").toFile()).redirectErrorStream(true).start();
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
        String shown = Files.readString(typescript);
        assertThat(p.exitValue()).as(shown).isZero();
        assertThat(shown).contains("running test 1 (1/3)...\r\u001b[K1 ", "running test 3 (3/3)...\r\u001b[K3 ", "verdict: AC");
    }
}
