package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The JVM's secrets stay in the JVM: a JVM whose environment holds {@code SECRET_TOKEN} and
 * {@code AWS_SECRET_ACCESS_KEY} (a child JVM, as a running JVM's environment cannot be changed)
 * starts sandboxed programs that print their own {@code /proc/self/environ}; each must hold
 * exactly the documented variables and those the caller set.
 */
@KernelTest
class EnvironmentIT {
    private static final String SECRET = "s3cr3t-" + UUID.randomUUID();
    private static final String AWS_SECRET = "aws-" + UUID.randomUUID();
    /** The child JVM's environment besides its PATH. */
    private static final Map<String, String> JVM_ENVIRONMENT = Map.of("SECRET_TOKEN", SECRET, "AWS_SECRET_ACCESS_KEY", AWS_SECRET,
            "HOME", "/home/of-the-jvm", "LANG", "C.UTF-8", "LC_ALL", "C.UTF-8", "TERM", "xterm-of-the-jvm", "JVM_ONLY", "1");

    /** Each case of the probe: the environment its sandboxed program saw. */
    private static Map<String, Map<String, String>> seen;

    @BeforeAll
    @Timeout(120)
    static void runTheProbeInAJvmWithSecrets() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"),
                EnvironmentProbe.class.getName()))
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().putAll(JVM_ENVIRONMENT);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(100, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        seen = parse(out);
        assertThat(seen.get("jvm")).as("the probe's JVM has the secrets").containsEntry("SECRET_TOKEN", SECRET)
                .containsEntry("AWS_SECRET_ACCESS_KEY", AWS_SECRET);
    }

    /** "== NAME" starts a case, "NAME=VALUE" lines follow; "FAILED ..." is the probe's failure. */
    private static Map<String, Map<String, String>> parse(String out) {
        Map<String, Map<String, String>> cases = new LinkedHashMap<>();
        Map<String, String> current = null;
        for (String line : out.split("\n")) {
            if (line.startsWith("== ")) {
                current = new TreeMap<>();
                cases.put(line.substring(3), current);
            } else if (line.startsWith("FAILED ")) {
                throw new AssertionError("the probe: " + line + "\n" + out);
            } else if (!line.isEmpty()) {
                int eq = line.indexOf('=');
                assertThat(current != null && eq > 0).as("a line of the probe's output: " + line + "\n" + out).isTrue();
                current.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return cases;
    }

    /** The fixed environment of the documentation, in the child JVM. */
    private static Map<String, String> fixed(String home, String... more) {
        Map<String, String> m = new HashMap<>(Map.of("PATH", Sandbox.DEFAULT_PATH, "HOME", home, "LANG", "C.UTF-8",
                "LC_ALL", "C.UTF-8", "TERM", "xterm-of-the-jvm"));
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    private static Map<String, String> seen(String name) {
        assertThat(seen).as("the probe ran case " + name).containsKey(name);
        return seen.get(name);
    }

    @Test
    @Timeout(10)
    void aProgramStartedByCommandGetsTheFixedEnvironmentOnly() {
        assertThat(seen("start minimal root")).containsExactlyInAnyOrderEntriesOf(fixed("/tmp"));
        assertThat(seen("env minimal root")).as("as env prints it").containsExactlyInAnyOrderEntriesOf(fixed("/tmp"));
        assertThat(seen("start host root")).containsExactlyInAnyOrderEntriesOf(fixed("/"));
        assertThat(seen("run minimal root")).containsExactlyInAnyOrderEntriesOf(fixed("/tmp"));
    }

    @Test
    @Timeout(10)
    void aProcessBuilderPassesWhatTheCallerPutOrChangedNotWhatItInherited() {
        Map<String, String> expected = fixed("/tmp", "X", "1", "TERM", "dumb");
        expected.remove("LANG");
        assertThat(seen("process builder")).containsExactlyInAnyOrderEntriesOf(expected);
    }

    @Test
    @Timeout(10)
    void inheritEnvironmentPassesTheJvmsWholeEnvironment() {
        assertThat(seen("inherit")).containsExactlyInAnyOrderEntriesOf(seen("jvm")).containsEntry("SECRET_TOKEN", SECRET);
    }

    @Test
    @Timeout(10)
    void passEnvPassesExactlyThatVariableAndEnvSetsOne() {
        assertThat(seen("passEnv")).containsExactlyInAnyOrderEntriesOf(fixed("/tmp", "SECRET_TOKEN", SECRET));
        assertThat(seen("env")).containsExactlyInAnyOrderEntriesOf(fixed("/tmp", "GREETING", "hi"));
    }

    @Test
    @Timeout(10)
    void aSessionsRunsGetTheFixedEnvironmentWithTheirOwnPolicysVariables() {
        assertThat(seen("session")).containsExactlyInAnyOrderEntriesOf(fixed("/box", "SESSION_ONLY", "1"));
        assertThat(seen("session run limits")).as("the run limits', not the session's")
                .containsExactlyInAnyOrderEntriesOf(fixed("/box", "AWS_SECRET_ACCESS_KEY", AWS_SECRET));
    }

    /** Runs in the JVM with the secrets; prints each case's environment as "== NAME" and NAME=VALUE lines. */
    static final class EnvironmentProbe {
        public static void main(String[] args) throws Exception {
            print("jvm", String.join("\0", new TreeMap<>(System.getenv()).entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue()).toList()));
            Sandbox minimal = Sandbox.builder().pidNs().mountNs().minimalRoot().build();
            print("start minimal root", output(minimal, new ProcessBuilder("cat", "/proc/self/environ")));
            print("env minimal root", output(minimal, new ProcessBuilder("env")).replace('\n', '\0'));
            print("start host root", output(Sandbox.builder().pidNs().build(), new ProcessBuilder("cat", "/proc/self/environ")));
            Outcome run = minimal.run("cat", "/proc/self/environ");
            print("run minimal root", run.status() == Outcome.Status.OK ? run.stdoutText() : "FAILED run: " + run);
            ProcessBuilder pb = new ProcessBuilder("cat", "/proc/self/environ");
            pb.environment().put("X", "1");
            pb.environment().put("TERM", "dumb");
            pb.environment().remove("LANG");
            print("process builder", output(minimal, pb));
            print("inherit", output(minimal.toBuilder().inheritEnvironment().build(), new ProcessBuilder("cat", "/proc/self/environ")));
            print("passEnv", output(minimal.toBuilder().passEnv("SECRET_TOKEN").build(), new ProcessBuilder("cat", "/proc/self/environ")));
            print("env", output(minimal.toBuilder().env("GREETING", "hi").build(), new ProcessBuilder("cat", "/proc/self/environ")));
            try (SandboxSession session = minimal.toBuilder().env("SESSION_ONLY", "1").build().open()) {
                Outcome o = session.run(new ProcessBuilder("cat", "/proc/self/environ"), new byte[0]);
                print("session", o.status() == Outcome.Status.OK ? o.stdoutText() : "FAILED session: " + o);
                o = session.run(RunLimits.builder().passEnv("AWS_SECRET_ACCESS_KEY").build(), new ProcessBuilder("cat", "/proc/self/environ"),
                        new byte[0]);
                print("session run limits", o.status() == Outcome.Status.OK ? o.stdoutText() : "FAILED session run limits: " + o);
            }
        }

        private static String output(Sandbox sandbox, ProcessBuilder pb) {
            try (IsolatedProcess p = sandbox.start(pb)) {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                Outcome o = p.outcome().join();
                return o.status() == Outcome.Status.OK ? out : "FAILED " + o;
            } catch (Exception e) {
                return "FAILED " + e;
            }
        }

        private static void print(String name, String environ) {
            System.out.println("== " + name);
            System.out.println(environ.replace('\0', '\n'));
            System.out.flush();
        }
    }
}
