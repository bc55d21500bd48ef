package dev.isolation.examples.judge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.examples.RealKernel;
import dev.isolation.examples.cli.IsolationCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The sample problem's seven solutions get their seven verdicts, compiled and run in one sandbox each. */
class JudgeIT {
    private static final Path PROBLEM = Path.of("sample-problem");
    private static final Path TESTS = PROBLEM.resolve("tests");
    private static final Judge.Limits LIMITS = Judge.Limits.of(Duration.ofSeconds(1), ByteSize.mb(64), ByteSize.mb(1));

    @BeforeAll
    static void requireKernelAndCompiler() {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPUACCT);
        assertThat(Path.of("/usr/bin/gcc")).as("gcc, which the judge runs inside the sandbox").exists();
    }

    @ParameterizedTest(name = "{0} is {1}")
    @Timeout(300)
    @CsvSource(textBlock = """
            ac.c,  AC
            wa.c,  WA
            tle.c, TLE
            mle.c, MLE
            ole.c, OLE
            re.c,  RE
            rf.c,  RF
            """)
    void eachSampleSolutionGetsItsVerdict(String solution, Verdict expected) throws Exception {
        Judge.Judgement j = Judge.judge(PROBLEM.resolve("solutions").resolve(solution), TESTS, LIMITS);

        assertThat(j.verdict()).as("%s: %s", solution, j).isEqualTo(expected);
        assertThat(j.tests()).hasSize(3);
        if (expected == Verdict.WA) {
            assertThat(j.tests()).extracting(Judge.TestResult::verdict).containsExactly(Verdict.AC, Verdict.WA, Verdict.WA);
        } else {
            assertThat(j.tests()).extracting(Judge.TestResult::verdict).containsOnly(expected);
        }
    }

    @Test
    @Timeout(300)
    void acceptedSolutionUsesLittleCpuTime() throws Exception {
        Judge.Judgement j = Judge.judge(PROBLEM.resolve("solutions/ac.c"), TESTS, LIMITS);

        assertThat(j.verdict()).isEqualTo(Verdict.AC);
        // CPU time, which a busy host does not stretch: the run's own (adding two numbers), not the compiler's
        for (Judge.TestResult t : j.tests()) {
            assertThat(t.outcome().cpuTime()).as("test %s", t.test()).isLessThan(Duration.ofMillis(100));
        }
    }

    @Test
    @Timeout(300)
    void timeLimitIsTheCpuTimeLimit() throws Exception {
        // a wall limit the busy loop cannot reach first, however busy the host: it is killed for its CPU time
        Judge.Limits cpuFirst = new Judge.Limits(Duration.ofSeconds(1), Duration.ofSeconds(60), ByteSize.mb(64), ByteSize.mb(1));
        Judge.Judgement j = Judge.judge(PROBLEM.resolve("solutions/tle.c"), TESTS, cpuFirst);

        assertThat(j.verdict()).isEqualTo(Verdict.TLE);
        // past the limit by no more than the monitor's reaction (it checks every 10 ms)
        assertThat(j.tests()).allSatisfy(t -> {
            assertThat(t.outcome().status()).isEqualTo(dev.isolation.core.Outcome.Status.TIME_LIMIT);
            assertThat(t.outcome().cpuTime()).isBetween(Duration.ofMillis(1000), Duration.ofMillis(2000));
        });
    }

    @Test
    @Timeout(300)
    void cppIsCompiledWithGpp(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("ac.cpp");
        Files.writeString(source, """
                #include <iostream>
                int main() { long long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }
                """);
        assertThat(Judge.judge(source, TESTS, LIMITS).verdict()).isEqualTo(Verdict.AC);
    }

    @Test
    @Timeout(300)
    void compileErrorRunsNoTestAndTheTableShowsTheCompilersComplaint(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("ce.c");
        Files.writeString(source, "int main(void) { return undeclared; }\n");
        Judge.Judgement j = Judge.judge(source, TESTS, LIMITS);

        assertThat(j.verdict()).isEqualTo(Verdict.CE);
        assertThat(j.tests()).isEmpty();
        StringWriter table = new StringWriter();
        Judge.print(new PrintWriter(table), j);
        assertThat(table.toString()).contains("compile  CE", "'undeclared' undeclared", "verdict: CE");
    }

    @Test
    @Timeout(300)
    void judgeSubcommandPrintsTheTableAndExitsZeroOnlyWhenAccepted() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String solutions = PROBLEM.resolve("solutions").toString();
        int status = IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true),
                "judge", "--time", "1", "--memory", "64M", solutions + "/ac.c", TESTS.toString());

        assertThat(status).as("stderr: %s", err).isZero();
        assertThat(out.toString().lines()).hasSize(6).first().asString().startsWith("test     verdict");
        assertThat(out.toString()).containsPattern("(?m)^3 +AC ").endsWith("verdict: AC\n");
        assertThat(IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true),
                "judge", solutions + "/re.c", TESTS.toString())).isEqualTo(1);
    }
}
