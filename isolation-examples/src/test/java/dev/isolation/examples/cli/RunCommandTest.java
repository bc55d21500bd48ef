package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.Sandbox.Namespace;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.ProcessBuilder.Redirect;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** From the command line to the policy and the ProcessBuilder; parsing only, no sandbox starts. */
class RunCommandTest {
    private static RunCommand parse(String... args) {
        StringWriter sink = new StringWriter();
        var parsed = IsolationCli.commandLine(new PrintWriter(sink), new PrintWriter(sink)).parseArgs(args);
        return (RunCommand) parsed.subcommand().commandSpec().userObject();
    }

    @Test
    void eachNamespaceFlagAddsItsNamespace() {
        RunCommand run = parse("run", "--pid", "--mount", "--uts", "--ipc", "--net", "--user", "--cgroupns",
                "--hostname", "box", "--", "true");
        assertThat(run.sandbox().namespaces()).containsExactlyInAnyOrder(Namespace.values());
        assertThat(run.sandbox().hostname()).isEqualTo(Optional.of("box"));
    }

    @Test
    void noFlagsMeansNoNamespaces() {
        assertThat(parse("run", "true").sandbox().namespaces()).isEmpty();
    }

    @Test
    void everythingAfterTheProgramBelongsToIt() {
        RunCommand run = parse("run", "--pid", "ls", "-l", "--pid", "@file", "--");
        assertThat(run.processBuilder().command()).containsExactly("ls", "-l", "--pid", "@file", "--");
        assertThat(run.sandbox().namespaces()).containsExactly(Namespace.PID);
    }

    @Test
    void doubleDashEndsTheOptions() {
        RunCommand run = parse("run", "--net", "--", "/bin/sh", "-c", "echo $$");
        assertThat(run.processBuilder().command()).containsExactly("/bin/sh", "-c", "echo $$");
    }

    @Test
    void streamsAreInheritedByDefault() {
        ProcessBuilder pb = parse("run", "true").processBuilder();
        assertThat(pb.redirectInput()).isEqualTo(Redirect.INHERIT);
        assertThat(pb.redirectOutput()).isEqualTo(Redirect.INHERIT);
        assertThat(pb.redirectError()).isEqualTo(Redirect.INHERIT);
        assertThat(pb.directory()).isNull();
    }

    @Test
    void streamAndDirectoryOptionsRedirect() {
        ProcessBuilder pb = parse("run", "--stdin", "in.txt", "--stdout", "out.txt", "--stderr", "err.txt",
                "--chdir", "/tmp", "--", "true").processBuilder();
        assertThat(pb.redirectInput()).isEqualTo(Redirect.from(new File("in.txt")));
        assertThat(pb.redirectOutput()).isEqualTo(Redirect.to(new File("out.txt")));
        assertThat(pb.redirectError()).isEqualTo(Redirect.to(new File("err.txt")));
        assertThat(pb.directory()).isEqualTo(new File("/tmp"));
    }

    @Test
    void environmentIsTheJvmsPlusEnvOptions() {
        ProcessBuilder pb = parse("run", "--env", "A=1", "--env", "B=x=y", "--env", "C=", "--env", "A=2", "true").processBuilder();
        assertThat(pb.environment()).containsAllEntriesOf(System.getenv())
                .containsEntry("A", "2").containsEntry("B", "x=y").containsEntry("C", "");
    }

    @Test
    void clearEnvKeepsOnlyEnvOptions() {
        ProcessBuilder pb = parse("run", "--clear-env", "--env", "PATH=/bin", "true").processBuilder();
        assertThat(pb.environment()).containsExactly(java.util.Map.entry("PATH", "/bin"));
    }
}
