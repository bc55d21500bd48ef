package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a program's environment is made from the policy, the caller's ProcessBuilder and the JVM's: no kernel. */
class EnvironmentTest {
    private static final Map<String, String> JVM = Map.of("PATH", "/opt/jvm/bin:/usr/bin", "HOME", "/root",
            "LANG", "C.UTF-8", "TERM", "xterm", "SECRET_TOKEN", "s3cr3t", "AWS_SECRET_ACCESS_KEY", "aws");
    private static final String PATH = Sandbox.DEFAULT_PATH;

    /** What ProcessBuilder's environment() starts as: a copy of the JVM's. */
    private static Map<String, String> copyOfJvm() {
        return new HashMap<>(JVM);
    }

    private static Map<String, String> resolve(Environment e, Map<String, String> callers) {
        return e.resolve(callers, JVM, PATH, "/tmp");
    }

    @Test
    void byDefaultOnlyTheFixedVariablesAndNoneOfTheJvmsOthers() {
        assertThat(resolve(Environment.DEFAULT, copyOfJvm())).containsExactlyInAnyOrderEntriesOf(
                Map.of("HOME", "/tmp", "LANG", "C.UTF-8", "PATH", PATH, "TERM", "xterm"));
        assertThat(Environment.DEFAULT.resolve(Map.of(), Map.of(), PATH, "/")).containsExactlyInAnyOrderEntriesOf(
                Map.of("HOME", "/", "PATH", PATH)); // LANG, LC_ALL and TERM only where the JVM has them
    }

    @Test
    void aVariableTheCallerPutOrChangedIsPassedOneItRemovedIsWithheld() {
        Map<String, String> pb = copyOfJvm();
        pb.put("X", "1");
        pb.put("TERM", "dumb");
        pb.remove("LANG");
        pb.remove("PATH"); // the JVM's PATH was never going to be passed: the sandbox's stays
        assertThat(resolve(Environment.DEFAULT, pb)).containsExactlyInAnyOrderEntriesOf(
                Map.of("HOME", "/tmp", "PATH", PATH, "TERM", "dumb", "X", "1"));
    }

    @Test
    void aClearedProcessBuilderGivesTheSandboxsOwnVariablesAndWhatTheCallerPut() {
        Map<String, String> pb = new HashMap<>(Map.of("PATH", "/usr/bin:/bin", "GREETING", "hi"));
        assertThat(resolve(Environment.DEFAULT, pb)).containsExactlyInAnyOrderEntriesOf(
                Map.of("GREETING", "hi", "HOME", "/tmp", "PATH", "/usr/bin:/bin"));
    }

    @Test
    void aVariablePutWithTheJvmsOwnValueCountsAsInherited() {
        Map<String, String> pb = copyOfJvm();
        pb.put("SECRET_TOKEN", JVM.get("SECRET_TOKEN"));
        assertThat(resolve(Environment.DEFAULT, pb)).doesNotContainKey("SECRET_TOKEN");
        assertThat(resolve(Environment.DEFAULT.withPassed("SECRET_TOKEN"), pb)).containsEntry("SECRET_TOKEN", "s3cr3t");
    }

    @Test
    void inheritingGivesWhatProcessBuilderWouldGiveWithThePolicysVariablesOver() {
        Map<String, String> pb = copyOfJvm();
        pb.put("X", "1");
        pb.remove("TERM");
        Map<String, String> expected = new HashMap<>(pb);
        assertThat(resolve(Environment.DEFAULT.withBase(Environment.Base.INHERIT), pb)).containsExactlyInAnyOrderEntriesOf(expected);
        expected.put("HOME", "/work");
        assertThat(resolve(Environment.DEFAULT.withBase(Environment.Base.INHERIT).withVariable("HOME", "/work"), pb))
                .containsExactlyInAnyOrderEntriesOf(expected);
    }

    @Test
    void passingANameGivesExactlyThatVariableOfTheJvm() {
        Environment e = Environment.DEFAULT.withPassed("SECRET_TOKEN").withPassed("NOT_IN_THE_JVM");
        assertThat(resolve(e, copyOfJvm())).containsExactlyInAnyOrderEntriesOf(
                Map.of("HOME", "/tmp", "LANG", "C.UTF-8", "PATH", PATH, "SECRET_TOKEN", "s3cr3t", "TERM", "xterm"));
        assertThat(resolve(Environment.DEFAULT.withPassed("PATH"), copyOfJvm())).containsEntry("PATH", JVM.get("PATH"));
        Map<String, String> removed = copyOfJvm();
        removed.remove("SECRET_TOKEN");
        assertThat(resolve(e, removed)).doesNotContainKey("SECRET_TOKEN");
    }

    @Test
    void thePolicysVariablesGoOverTheFixedOnesAndTheCallersOverThePolicys() {
        Environment e = Environment.DEFAULT.withVariable("HOME", "/work").withVariable("GREETING", "hi");
        assertThat(resolve(e, copyOfJvm())).containsEntry("HOME", "/work").containsEntry("GREETING", "hi");
        Map<String, String> pb = copyOfJvm();
        pb.put("GREETING", "hello");
        assertThat(resolve(e, pb)).containsEntry("GREETING", "hello");
        Map<String, String> removed = copyOfJvm();
        removed.remove("HOME");
        assertThat(resolve(e, removed)).as("removing withholds the JVM's value, not the policy's").containsEntry("HOME", "/work");
    }

    @Test
    void theLaterOfEnvAndPassEnvForOneNameWins() {
        assertThat(resolve(Environment.DEFAULT.withPassed("SECRET_TOKEN").withVariable("SECRET_TOKEN", "mine"), copyOfJvm()))
                .containsEntry("SECRET_TOKEN", "mine");
        assertThat(resolve(Environment.DEFAULT.withVariable("SECRET_TOKEN", "mine").withPassed("SECRET_TOKEN"), copyOfJvm()))
                .containsEntry("SECRET_TOKEN", "s3cr3t");
    }

    @Test
    void anEmptyEnvironmentHasOnlyWhatThePolicyAndTheCallerGive() {
        assertThat(resolve(Environment.DEFAULT.withBase(Environment.Base.EMPTY), copyOfJvm())).isEmpty();
        Map<String, String> pb = copyOfJvm();
        pb.put("A", "1");
        assertThat(resolve(Environment.DEFAULT.withBase(Environment.Base.EMPTY).withPassed("TERM").withVariable("B", "2"), pb))
                .containsExactlyInAnyOrderEntriesOf(Map.of("A", "1", "B", "2", "TERM", "xterm"));
    }

    @Test
    void theBuilderRejectsWhatIsNoVariableNameNamingIt() {
        for (String bad : new String[] {"", "A=B", "A\0B"}) {
            assertThatThrownBy(() -> Sandbox.builder().env(bad, "x")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("env: \"" + bad.replace('\0', '?') + "\" is not a variable name");
            assertThatThrownBy(() -> Sandbox.builder().passEnv(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("passEnv: \"" + bad.replace('\0', '?') + "\"");
        }
        assertThatThrownBy(() -> Sandbox.builder().env("A", "x\0y")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("value of A contains a NUL");
        assertThatThrownBy(() -> Sandbox.builder().env("A", null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void thePolicyIsImmutableAndCopiedByToBuilder() {
        Sandbox.Builder b = Sandbox.builder().mountNs().minimalRoot().env("GREETING", "hi");
        Sandbox base = b.build();
        b.env("GREETING", "changed").inheritEnvironment();
        Sandbox variant = base.toBuilder().env("OTHER", "1").build();
        ProcessBuilder pb = new ProcessBuilder("true");
        assertThat(base.environmentFor(pb)).containsEntry("GREETING", "hi").doesNotContainKey("OTHER").containsEntry("HOME", "/tmp");
        assertThat(variant.environmentFor(pb)).containsEntry("GREETING", "hi").containsEntry("OTHER", "1");
        assertThat(Sandbox.builder().build().environmentFor(pb)).containsEntry("HOME", "/").containsEntry("PATH", PATH);
        assertThatThrownBy(() -> base.environmentFor(pb).put("X", "1")).isInstanceOf(UnsupportedOperationException.class);
    }
}
