package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The tool's help and its one-line errors; nothing here starts a sandbox. */
class IsolationCliTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @Test
    void helpListsTheRunCommand() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("Usage: isolation", "run ", "--help");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void runHelpDocumentsEveryOptionAndTheExitStatus() {
        assertThat(run("run", "--help")).isZero();
        String help = out.toString();
        for (String option : new String[] {"--pid", "--mount", "--uts", "--ipc", "--net", "--user", "--cgroupns",
                "--hostname=NAME", "--env=K=V", "--clear-env", "--chdir=DIR", "--stdin=FILE", "--stdout=FILE",
                "--stderr=FILE", "--json=FILE"}) {
            assertThat(help).as("help for %s", option).containsPattern("(?m)^\\s+" + java.util.regex.Pattern.quote(option) + "\\s+\\S");
        }
        assertThat(help).contains("[--] COMMAND [ARGS...]", "Exit status:", "128+S", "wallTimeMs");
    }

    @Test
    void noCommandIsOneLineAndStatus2() {
        assertThat(run()).isEqualTo(2);
        assertOneErrorLine("isolation: missing command (see 'isolation --help')");
    }

    @Test
    void unknownOptionIsOneLineAndStatus2() {
        assertThat(run("run", "--frobnicate", "--", "true")).isEqualTo(2);
        assertOneErrorLine("isolation: Unknown option: '--frobnicate' (see 'isolation run --help')");
    }

    @Test
    void missingProgramIsOneLineAndStatus2() {
        assertThat(run("run", "--pid")).isEqualTo(2);
        assertOneErrorLine("isolation: Missing required parameter: 'COMMAND' (see 'isolation run --help')");
    }

    @Test
    void hostnameWithoutUtsIsRefusedBeforeAnythingStarts() {
        assertThat(run("run", "--hostname", "box", "--", "true")).isEqualTo(2);
        assertOneErrorLine("isolation: --hostname needs --uts: without it the host's hostname would change"
                + " (see 'isolation run --help')");
    }

    @Test
    void invalidHostnameNamesTheOption() {
        assertThat(run("run", "--uts", "--hostname", "no_underscores", "--", "true")).isEqualTo(2);
        assertThat(err.toString()).startsWith("isolation: --hostname: invalid hostname \"no_underscores\"");
        assertThat(err.toString().lines()).hasSize(1);
    }

    @Test
    void envWithoutEqualsSignIsRefused() {
        assertThat(run("run", "--env", "HOME", "--", "true")).isEqualTo(2);
        assertOneErrorLine("isolation: --env HOME: expected NAME=VALUE (see 'isolation run --help')");
    }

    @Test
    void jsonIntoAMissingDirectoryIsRefusedBeforeTheProgramRuns() {
        assertThat(run("run", "--json", "/nonexistent-dir/report.json", "--", "true")).isEqualTo(2);
        assertThat(err.toString()).startsWith("isolation: --json /nonexistent-dir/report.json: no such directory");
        assertThat(err.toString().lines()).hasSize(1);
    }

    @Test
    void multiLineMessagesAreJoinedIntoOne() {
        assertThat(IsolationCli.oneLine(new IllegalStateException("first\n  second\r\nthird\n"))).isEqualTo("first second third");
        assertThat(IsolationCli.oneLine(new NullPointerException())).isEqualTo("java.lang.NullPointerException");
    }

    private void assertOneErrorLine(String expected) {
        assertThat(err.toString().lines()).containsExactly(expected);
        assertThat(out.toString()).isEmpty();
    }
}
