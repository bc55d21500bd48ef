package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
                "--stderr=FILE", "--json=FILE", "--memory=SIZE", "--swap=SIZE", "--cpu-shares=N", "--cpu-weight=N",
                "--cpus=CORES", "--cpuset=CPUS", "--pids=N", "--io-weight=N", "--io-read-bps=DEV:RATE",
                "--io-write-bps=DEV:RATE", "--io-read-iops=DEV:N", "--io-write-iops=DEV:N", "--cgroup",
                "--cgroup-parent=PATH", "--best-effort"}) {
            assertThat(help).as("help for %s", option).containsPattern("(?m)^\\s+" + java.util.regex.Pattern.quote(option) + "\\s+\\S");
        }
        assertThat(help).contains("[--] COMMAND [ARGS...]", "Exit status:", "128+S", "wallTimeMs", "oomKilled",
                "memoryPeakBytes", "pidsPeak", "cgroupCpuTimeMs", "limitsNotApplied");
        // units and ranges, and where v1 and v2 differ
        assertThat(help.replaceAll("\\s+", " ")).contains("2..262144", "1..10000", "0.01", "binary: 200M is 200 MiB",
                "memory.limit_in_bytes | memory.max", "/dev/sda:30M");
    }

    @Test
    void helpListsTheDoctorCommand() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("doctor");
        out.getBuffer().setLength(0);
        assertThat(run("doctor", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: isolation doctor");
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
    /** Each bad limit: exit 2, one line naming the option and the value, before anything starts. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            --memory 12X                     | isolation: --memory 12X: not a size: "12X" (expected e.g. 512, 64K, 200M, 1G)
            --memory 512K                    | isolation: --memory 512K: must be at least 1M
            --memory -5M                     | isolation: --memory -5M: not a size: "-5M" (expected e.g. 512, 64K, 200M, 1G)
            --swap 1G                        | isolation: --swap 1G needs --memory: swap is allowed beyond the memory limit
            --memory 64M --swap lots         | isolation: --swap lots: not a size: "lots" (expected e.g. 512, 64K, 200M, 1G)
            --cpu-shares 1                   | isolation: --cpu-shares 1: must be in 2..262144
            --cpu-shares 300000              | isolation: --cpu-shares 300000: must be in 2..262144
            --cpu-weight 0                   | isolation: --cpu-weight 0: must be in 1..10000
            --cpu-shares 512 --cpu-weight 50 | isolation: --cpu-shares 512 and --cpu-weight 50 are two scales for the same knob: set one
            --cpus 0                         | isolation: --cpus 0: must be a number of cores in 0.01..1000000, e.g. 0.5
            --cpus half                      | isolation: --cpus half: must be a number of cores in 0.01..1000000, e.g. 0.5
            --cpus NaN                       | isolation: --cpus NaN: must be a number of cores in 0.01..1000000, e.g. 0.5
            --cpuset 3-1                     | isolation: --cpuset 3-1: cpusetCpus has a descending range "3-1"
            --cpuset all                     | isolation: --cpuset all: cpusetCpus must be a list like "0-3,6", was "all"
            --pids 0                         | isolation: --pids 0: must be at least 1
            --io-weight 20000                | isolation: --io-weight 20000: must be in 1..10000
            --io-read-bps /dev/sda           | isolation: --io-read-bps /dev/sda: expected DEV:RATE, e.g. /dev/sda:30M
            --io-write-bps sda:30M           | isolation: --io-write-bps sda:30M: the device must be a path such as /dev/sda
            --io-write-bps /dev/null:30M     | isolation: --io-write-bps /dev/null:30M: /dev/null is not a block device
            --io-write-bps /nonexistent:30M  | isolation: --io-write-bps /nonexistent:30M: no such block device: /nonexistent
            --io-read-bps /nonexistent:fast  | isolation: --io-read-bps /nonexistent:fast: not a size: "fast" (expected e.g. 512, 64K, 200M, 1G)
            --io-read-bps /nonexistent:0     | isolation: --io-read-bps /nonexistent:0: the rate must be at least 1 byte per second
            --io-read-iops /nonexistent:many | isolation: --io-read-iops /nonexistent:many: "many" is not a whole number of operations per second
            --io-write-iops /nonexistent:0   | isolation: --io-write-iops /nonexistent:0: must be at least 1 operation per second
            --cgroup-parent jobs             | isolation: --cgroup-parent jobs: must be absolute, as in /proc/self/cgroup (e.g. /jobs)
            --cgroup-parent /jobs/../..      | isolation: --cgroup-parent /jobs/../..: must not contain '..'
            """)
    void badLimitIsOneLineNamingOptionAndValueWithStatus2(String options, String expected) {
        List<String> args = new ArrayList<>(List.of("run"));
        args.addAll(List.of(options.split(" ")));
        args.addAll(List.of("--", "true"));
        assertThat(run(args.toArray(String[]::new))).isEqualTo(2);
        assertOneErrorLine(expected + " (see 'isolation run --help')");
    }

    @Test
    void nonNumericCountIsOneLineNamingOptionAndValue() {
        assertThat(run("run", "--pids", "many", "--", "true")).isEqualTo(2);
        assertThat(err.toString().lines()).singleElement().asString()
                .startsWith("isolation: Invalid value for option '--pids': 'many' is not a long");
    }
}
