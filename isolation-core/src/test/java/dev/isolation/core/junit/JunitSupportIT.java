package dev.isolation.core.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.JavaCommand;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The JUnit 5 support as a user's test suite meets it: the sample classes run through the JUnit
 * launcher, in this JVM (root) for the fixtures, and in a JVM running as {@code nobody} for the
 * conditions' skip reasons (and, with {@code CI=true}, their failures).
 */
@EnabledIfSandboxAvailable
class JunitSupportIT {
    @Test
    @Timeout(120)
    void fixturesAreStartedBeforeEachTestAndGoneAfterIt() {
        FixtureSample.PIDS.clear();
        FixtureSample.ALIVE_IN_BEFORE_EACH.clear();
        StringBuilder out = new StringBuilder();
        LaunchSamples.run(out, FixtureSample.class.getName());
        String report = out.toString();
        assertThat(report).as(report).contains("PASSED first()", "PASSED second()", "FAILED failing()");
        assertThat(FixtureSample.ALIVE_IN_BEFORE_EACH).as("the field's fixture was running in each @BeforeEach")
                .hasSize(4).containsOnly(true);
        assertThat(FixtureSample.PIDS).as("a fixture of its own for each test").hasSize(4).doesNotHaveDuplicates();
        for (long pid : FixtureSample.PIDS) {
            assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).as("fixture %d after its test", pid).isEmpty();
        }
    }

    @Test
    @Timeout(120)
    void aFailedTestsReportCarriesItsFixturesOutcomeAndStandardError() {
        StringBuilder out = new StringBuilder();
        LaunchSamples.run(out, FixtureSample.class.getName());
        String report = out.toString();
        String failing = section(report, "FAILED failing()");
        assertThat(failing).as(report).contains("the test's own assertion")
                .contains("SUPPRESSED SandboxedProcessReport: @SandboxedProcess field fixture [sh, -c,")
                .contains("--- its standard error", "fixture-stderr-line");
        String parameter = section(report, "FAILED parameter(IsolatedProcess)");
        assertThat(parameter).as(report).contains("@SandboxedProcess parameter 0", "NONZERO_EXIT", "parameter-stderr-line");
        assertThat(section(report, "PASSED first()")).doesNotContain("SUPPRESSED");
    }

    @Test
    @Timeout(300)
    void asNobodyTheConditionsSkipSayingWhatIsMissingAndFailUnderCi() throws Exception {
        Path dir = Files.createTempDirectory("isolation-junit-nobody");
        try {
            List<String> classpath = readableClassPath(dir);
            String skipped = asNobody(dir, classpath, false);
            System.out.println("The sample's conditions as nobody:\n" + skipped); // the skip reasons, in the report
            boolean userNs = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-Ur", "true")
                    .start().waitFor() == 0;
            if (userNs) {
                assertThat(skipped).as(skipped).contains("PASSED sandbox()", "PASSED userNamespaces()");
            } else {
                assertThat(skipped).as(skipped).contains("SKIPPED sandbox(): no sandbox on this host (as nobody, not root):")
                        .contains("user.max_user_namespaces");
            }
            // nobody may not create cgroups here (nothing is delegated to it): the probe's reason and fix
            assertThat(skipped).as(skipped).contains("SKIPPED cgroups(): no cgroup limits for sandboxes (as nobody, not root;"
                    + " `isolation doctor` reports the same): memory: ");
            String underCi = asNobody(dir, classpath, true);
            System.out.println("The same with CI=true:\n" + underCi);
            assertThat(underCi).as(underCi).contains("FAILED cgroups(): ")
                    .contains("CI=true but this machine cannot run cgroups(): no cgroup limits for sandboxes (as nobody, not root")
                    .doesNotContain("SKIPPED cgroups()");
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** The part of {@code report} from the line starting with {@code start} to the next test's line. */
    private static String section(String report, String start) {
        int from = report.indexOf(start);
        assertThat(from).as("%s in:\n%s", start, report).isNotNegative();
        int end = from + start.length();
        while (true) {
            int next = report.indexOf('\n', end);
            if (next < 0 || next + 1 >= report.length() || !Character.isWhitespace(report.charAt(next + 1))
                    && !report.startsWith("---", next + 1) && !report.startsWith("[", next + 1)
                    && report.substring(next + 1).matches("(?s)(PASSED|FAILED|SKIPPED) .*")) {
                return report.substring(from, next < 0 ? report.length() : next);
            }
            end = next + 1;
        }
    }

    private static String asNobody(Path dir, List<String> classpath, boolean ci) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                JavaCommand.after(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                "-Duser.home=" + dir, "-cp", String.join(File.pathSeparator, classpath), LaunchSamples.class.getName(),
                ConditionSample.class.getName()))
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().remove("CI");
        if (ci) {
            pb.environment().put("CI", "true");
        }
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
        return new String(out, StandardCharsets.UTF_8);
    }

    /** A copy of this JVM's class path that nobody can read. */
    private static List<String> readableClassPath(Path dir) throws IOException {
        return dev.isolation.core.NobodyClassPath.copyInto(dir);
    }
}
