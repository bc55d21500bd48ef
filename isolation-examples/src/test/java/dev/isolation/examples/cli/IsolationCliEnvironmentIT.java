package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupController;
import dev.isolation.core.Sandbox;
import dev.isolation.examples.RealKernel;
import dev.isolation.examples.cli.IsolationJar.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code isolation run} and {@code isolation judge} started with {@code SECRET_TOKEN} and
 * {@code AWS_SECRET_ACCESS_KEY} in their environment: the program's {@code /proc/self/environ}
 * holds the documented variables and those of {@code --env}, and the secrets only when asked for.
 */
class IsolationCliEnvironmentIT {
    private static final String SECRET = "s3cr3t-" + UUID.randomUUID();
    private static final String AWS_SECRET = "aws-" + UUID.randomUUID();
    private static final Map<String, String> TOOL_ENVIRONMENT = Map.of(
            "PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"), "SECRET_TOKEN", SECRET,
            "AWS_SECRET_ACCESS_KEY", AWS_SECRET, "HOME", "/home/of-the-tool", "LANG", "C.UTF-8", "TERM", "xterm-of-the-tool");

    @TempDir
    Path dir;

    @BeforeAll
    static void requireKernelAndJar() {
        RealKernel.require();
        IsolationJar.requireBuilt();
    }

    /** The environment {@code cat /proc/self/environ} printed, run by the tool with {@code options}. */
    private Map<String, String> environ(String... options) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("run"));
        args.addAll(List.of(options));
        args.addAll(List.of("--", "cat", "/proc/self/environ"));
        Result r = IsolationJar.run(dir, TOOL_ENVIRONMENT, args.toArray(String[]::new));
        assertThat(r.status()).as(r.stderr()).isZero();
        Map<String, String> env = new TreeMap<>();
        for (String entry : r.stdout().split("\0")) {
            if (!entry.isEmpty()) {
                int eq = entry.indexOf('=');
                assertThat(eq).as(entry).isPositive();
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        return env;
    }

    private static Map<String, String> fixed(String home, String... more) {
        Map<String, String> m = new HashMap<>(Map.of("PATH", Sandbox.DEFAULT_PATH, "HOME", home, "LANG", "C.UTF-8",
                "TERM", "xterm-of-the-tool"));
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    @Test
    @Timeout(60)
    void theProgramGetsTheFixedEnvironmentAndNoneOfTheToolsSecrets() throws Exception {
        assertThat(environ("--pid", "--mount")).containsExactlyInAnyOrderEntriesOf(fixed("/tmp"));
        assertThat(environ()).containsExactlyInAnyOrderEntriesOf(fixed("/"));
    }

    @Test
    @Timeout(60)
    void envSetsAVariableOrPassesTheToolsOwnByName() throws Exception {
        assertThat(environ("--pid", "--mount", "--env", "SECRET_TOKEN", "--env", "GREETING=hi=there", "--env", "HOME=/work"))
                .containsExactlyInAnyOrderEntriesOf(fixed("/work", "SECRET_TOKEN", SECRET, "GREETING", "hi=there"));
    }

    @Test
    @Timeout(60)
    void inheritEnvPassesTheToolsWholeEnvironment() throws Exception {
        Map<String, String> expected = new HashMap<>(TOOL_ENVIRONMENT);
        expected.put("GREETING", "hi");
        assertThat(environ("--pid", "--mount", "--inherit-env", "--env", "GREETING=hi")).containsExactlyInAnyOrderEntriesOf(expected);
    }

    @Test
    @Timeout(60)
    void clearEnvGivesNothingButTheEnvVariables() throws Exception {
        assertThat(environ("--pid", "--mount", "--clear-env", "--env", "A=1", "--env", "AWS_SECRET_ACCESS_KEY"))
                .containsExactlyInAnyOrderEntriesOf(Map.of("A", "1", "AWS_SECRET_ACCESS_KEY", AWS_SECRET));
        assertThat(environ("--pid", "--mount", "--clear-env")).isEmpty();
    }

    @Test
    @Timeout(120)
    void theJudgedProgramGetsTheJudgesOwnEnvironmentOnly() throws Exception {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPUACCT);
        Path solution = Files.writeString(dir.resolve("env.c"), """
                #include <stdio.h>
                #include <stdlib.h>
                #include <string.h>
                extern char **environ;
                int main(void) {
                    int n = 0;
                    for (char **e = environ; *e; e++) n++;
                    const char *home = getenv("HOME"), *lc = getenv("LC_ALL");
                    if (n != 3 || !getenv("PATH") || !home || strcmp(home, "/box") || !lc || strcmp(lc, "C")) return 3;
                    long long a, b;
                    if (scanf("%lld %lld", &a, &b) != 2) return 1;
                    printf("%lld\\n", a + b);
                    return 0;
                }
                """);
        Result r = IsolationJar.run(dir, TOOL_ENVIRONMENT, "judge", solution.toString(), Path.of("sample-problem/tests").toString());
        assertThat(r.stdout()).as(r.stdout() + r.stderr()).contains("verdict: AC").doesNotContain("RE");
        assertThat(r.status()).isZero();
    }
}
