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
    void versionPrintsTheToolsJavasAndKernelsVersions() {
        assertThat(run("--version")).isZero();
        assertThat(out.toString().lines()).hasSize(3);
        assertThat(out.toString()).startsWith("isolation " + IsolationCli.Version.version() + "\n")
                .contains("Java " + System.getProperty("java.version"), System.getProperty("os.version"));
        assertThat(IsolationCli.Version.version()).as("written by the build").matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(run("-V")).isZero();
    }

    @Test
    void aMistypedOptionGetsSuggestionsOnItsOneLine() {
        assertThat(run("run", "--pids-limt", "3", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(err.toString().lines()).singleElement().asString()
                .startsWith("isolation: Unknown option: '--pids-limt'; did you mean ").contains("--pids-limit")
                .endsWith("(see 'isolation run --help')");
        err.getBuffer().setLength(0);
        assertThat(run("judge", "--cpu-tim", "1", "a.c", "tests")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(err.toString()).contains("did you mean", "--cpu-time");
    }

    @Test
    void runHelpListsDockersAndIsolatesNames() {
        assertThat(run("run", "--help")).isZero();
        String help = out.toString().replaceAll("\\s+", " ");
        assertThat(help).contains("Docker's and isolate's names", "--pids-limit (--pids)", "--network none (--net)",
                "--time (--cpu-time)", "--extra-time", "--mem KIB", "--stderr-to-stdout", "125 isolation itself failed",
                "127 no such program", "status:XX");
        for (String name : new String[] {"-e", "-w", "-v", "-m", "-u", "--pids-limit", "--network", "--read-only", "--time",
                "--wall-time", "--extra-time", "--mem", "--cg-mem", "--stderr-to-stdout", "--cap-add", "--security-opt", "--ulimit"}) {
            assertThat(out.toString()).as(name).containsPattern("(?m)^\\s+(-[-\\w]+, )*" + java.util.regex.Pattern.quote(name) + "[=, \\s]");
        }
    }

    @Test
    void judgeAndRunNameTheSameLimitsAlike() {
        var cl = IsolationCli.commandLine(new PrintWriter(out), new PrintWriter(err));
        var run = cl.getSubcommands().get("run").getCommandSpec();
        var judge = cl.getSubcommands().get("judge").getCommandSpec();
        for (var option : judge.options()) {
            for (String name : option.names()) {
                assertThat(run.findOption(name)).as("judge's %s is an option of run", name).isNotNull();
                if (!name.equals("-h") && !name.equals("--help")) {
                    assertThat(List.of(run.findOption(name).names())).as("judge's %s is the same option in run", name)
                            .containsAll(List.of(option.names()));
                }
            }
        }
    }

    @Test
    void judgeOnAMissingTestDirectorySaysWhatItNeeds() {
        assertThat(run("judge", "sample-problem/solutions/ac.c", "/nonexistent-isolation-tests")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(err.toString().lines()).singleElement().asString()
                .isEqualTo("isolation: TESTDIR /nonexistent-isolation-tests: no such directory: give the directory of the problem's"
                        + " tests, N.in (input) and N.out (expected output) each, e.g. isolation-examples/sample-problem/tests"
                        + " (see 'isolation judge --help')");
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
                "--hostname=NAME", "--env=K=V|K", "--inherit-env", "--clear-env", "--chdir=DIR", "--stdin=FILE", "--stdout=FILE",
                "--stderr=FILE", "--json=FILE", "--memory=SIZE", "--swap=SIZE", "--cpu-shares=N", "--cpu-weight=N",
                "--cpus=CORES", "--cpuset=CPUS", "--pids=N", "--io-weight=N", "--io-read-bps=DEV:RATE",
                "--io-write-bps=DEV:RATE", "--io-read-iops=DEV:N", "--io-write-iops=DEV:N", "--cgroup",
                "--cgroup-parent=PATH", "--best-effort", "--rootfs=DIR", "--bind=SRC:DST", "--bind-rw=SRC:DST",
                "--tmpfs=DST:SIZE", "--noexec=DST", "--uid=N", "--gid=N", "--keep-cap=NAME", "--seccomp=MODE",
                "--seccomp-deny=NAME", "--seccomp-allow=NAME", "--rlimit=NAME=VALUE", "--meta=FILE", "--cpu-time=SECONDS",
                "--wall-time=SECONDS", "--output-limit=SIZE"}) {
            // an option's line names it among its aliases (-e, --env=K=V|K), its parameter after the last name
            int eq = option.indexOf('=');
            String name = java.util.regex.Pattern.quote(eq < 0 ? option : option.substring(0, eq));
            String label = eq < 0 ? "" : java.util.regex.Pattern.quote(option.substring(eq));
            assertThat(help).as("help for %s", option).containsPattern("(?m)^\\s+(-[-\\w]+, )*" + name + "(, -[-\\w]+)*" + label + "(\\s+\\S|$)");
        }
        assertThat(help.replaceAll("\\s+", " ")).contains("TIME_LIMIT, WALL_TIME_LIMIT, MEMORY_LIMIT, OUTPUT_LIMIT,"
                + " RESTRICTED_SYSCALL", "message", "time-wall", "cg-oom-killed:1", "status (RE");
        assertThat(help.replaceAll("\\s+", " ")).contains("Environment: the program gets PATH=",
                "Nothing else of isolation's environment reaches it", "--clear-env leaves out the fixed variables too");
        assertThat(help).contains("[--] COMMAND [ARGS...]", "Exit status:", "128+S", "wallTimeMs", "oomKilled",
                "memoryPeakBytes", "pidsPeak", "cgroupCpuTimeMs", "limitsNotApplied");
        // units and ranges, and where v1 and v2 differ
        // the two long ones get a line of their own
        assertThat(help).contains("--map-uid=INSIDE:OUTSIDE:COUNT", "--map-gid=INSIDE:OUTSIDE:COUNT");
        assertThat(help.replaceAll("\\s+", " ")).contains("with --mount and none of --rootfs, --bind, --bind-rw, --tmpfs the"
                + " program gets a minimal root of its own", "seccomp (default, strict or none)", "stack=unlimited");
        assertThat(help.replaceAll("\\s+", " ")).contains("2..262144", "1..10000", "0.01", "binary: 200M is 200 MiB",
                "`isolation doctor` shows where each controller lives", "/dev/sda:30M");
        // the cgroup library alone knows cgroup files: the help names none
        assertThat(help).doesNotContain("memory.max", "cpu.weight", "cpu.shares", "pids.max", "io.max", "blkio.");
    }

    @Test
    void helpListsTheJudgeCommand() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("judge");
        out.getBuffer().setLength(0);
        assertThat(run("judge", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: isolation judge", "--time=SECONDS", "--memory=SIZE", "SOURCE",
                "TESTDIR", "RF");
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
    void noCommandIsOneLineAndStatus125() {
        assertThat(run()).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: missing command (see 'isolation --help')");
    }

    @Test
    void unknownOptionIsOneLineAndStatus125() {
        assertThat(run("run", "--frobnicate", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: Unknown option: '--frobnicate' (see 'isolation run --help')");
    }

    @Test
    void missingProgramIsOneLineAndStatus125() {
        assertThat(run("run", "--pid")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: Missing required parameter: 'COMMAND' (see 'isolation run --help')");
    }

    @Test
    void hostnameWithoutUtsIsRefusedBeforeAnythingStarts() {
        assertThat(run("run", "--hostname", "box", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: --hostname needs --uts: without it the host's hostname would change"
                + " (see 'isolation run --help')");
    }

    @Test
    void invalidHostnameNamesTheOption() {
        assertThat(run("run", "--uts", "--hostname", "no_underscores", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(err.toString()).startsWith("isolation: --hostname: invalid hostname \"no_underscores\"");
        assertThat(err.toString().lines()).hasSize(1);
    }

    @Test
    void envWithoutANameIsRefused() {
        assertThat(run("run", "--env", "=x", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: --env =x: expected NAME=VALUE or NAME (see 'isolation run --help')");
    }

    @Test
    void inheritEnvAndClearEnvTogetherAreRefused() {
        assertThat(run("run", "--inherit-env", "--clear-env", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine("isolation: --inherit-env and --clear-env contradict each other: choose one (see 'isolation run --help')");
    }

    @Test
    void jsonIntoAMissingDirectoryIsRefusedBeforeTheProgramRuns() {
        assertThat(run("run", "--json", "/nonexistent-dir/report.json", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
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
    /** Each bad limit: exit 125, one line naming the option and the value, before anything starts. */
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
            --pids 0                         | isolation: --pids 0: expected a whole number of processes, at least 1
            --io-weight 20000                | isolation: --io-weight 20000: must be in 1..10000
            --io-read-bps /dev/sda           | isolation: --io-read-bps /dev/sda: expected DEV:RATE, e.g. /dev/sda:30M
            --io-write-bps sda:30M           | isolation: --io-write-bps sda:30M: the device must be a path such as /dev/sda
            --io-write-bps /dev/null:30M     | isolation: --io-write-bps /dev/null:30M: /dev/null is not a block device
            --io-write-bps /nonexistent:30M  | isolation: --io-write-bps /nonexistent:30M: ioWriteBps: no such block device: /nonexistent
            --io-read-bps /nonexistent:fast  | isolation: --io-read-bps /nonexistent:fast: not a size: "fast" (expected e.g. 512, 64K, 200M, 1G)
            --io-read-bps /nonexistent:0     | isolation: --io-read-bps /nonexistent:0: the rate must be at least 1 byte per second
            --io-read-iops /nonexistent:many | isolation: --io-read-iops /nonexistent:many: "many" is not a whole number of operations per second
            --io-write-iops /nonexistent:0   | isolation: --io-write-iops /nonexistent:0: must be at least 1 operation per second
            --cgroup-parent jobs             | isolation: --cgroup-parent jobs: must be absolute, as in /proc/self/cgroup (e.g. /jobs)
            --cgroup-parent /jobs/../..      | isolation: --cgroup-parent /jobs/../..: must not contain '..'
            --cpu-time 0                     | isolation: --cpu-time 0: must be more than 0 seconds
            --cpu-time 1s                    | isolation: --cpu-time 1s: expected a number of seconds, e.g. 1 or 1.5
            --cpu-time -1                    | isolation: --cpu-time -1: expected a number of seconds, e.g. 1 or 1.5
            --wall-time 1e3                  | isolation: --wall-time 1e3: expected a number of seconds, e.g. 1 or 1.5
            --wall-time 99999999             | isolation: --wall-time 99999999: must be at most 31622400 seconds
            --wall-time 0.0000000001         | isolation: --wall-time 0.0000000001: more precise than a nanosecond
            --output-limit lots              | isolation: --output-limit lots: not a size: "lots" (expected e.g. 512, 64K, 200M, 1G)
            --output-limit 0                 | isolation: --output-limit 0: must be at least 1 byte
            """)
    void badLimitIsOneLineNamingOptionAndValueWithStatus125(String options, String expected) {
        List<String> args = new ArrayList<>(List.of("run"));
        args.addAll(List.of(options.split(" ")));
        args.addAll(List.of("--", "true"));
        assertThat(run(args.toArray(String[]::new))).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine(expected + " (see 'isolation run --help')");
    }

    /** Each bad security option: exit 125, one line naming the option and the value, before anything starts. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            --bind /tmp:/data                      | isolation: --bind /tmp:/data needs --mount: the sandbox's mounts live in its own mount namespace
            --bind-rw /tmp:/data                   | isolation: --bind-rw /tmp:/data needs --mount: the sandbox's mounts live in its own mount namespace
            --tmpfs /scratch:64M                   | isolation: --tmpfs /scratch:64M needs --mount: the sandbox's mounts live in its own mount namespace
            --rootfs /                             | isolation: --rootfs / needs --mount: the sandbox's mounts live in its own mount namespace
            --noexec /tmp                          | isolation: --noexec /tmp needs --mount: the sandbox's mounts live in its own mount namespace
            --mount --rootfs /nonexistent          | isolation: --rootfs /nonexistent: not a directory
            --mount --bind /tmp                    | isolation: --bind /tmp: expected SRC:DST with DST an absolute path inside, e.g. /srv/data:/data
            --mount --bind /tmp:data               | isolation: --bind /tmp:data: expected SRC:DST with DST an absolute path inside, e.g. /srv/data:/data
            --mount --bind /nonexistent:/data      | isolation: --bind /nonexistent:/data: no such file or directory: /nonexistent
            --mount --bind-rw /tmp:/data/../etc    | isolation: --bind-rw /tmp:/data/../etc: bindWritable: "/data/../etc" must be an absolute, normalized path other than /
            --mount --tmpfs /scratch               | isolation: --tmpfs /scratch: expected DST:SIZE, e.g. /scratch:64M
            --mount --tmpfs /scratch:               | isolation: --tmpfs /scratch:: expected DST:SIZE, e.g. /scratch:64M
            --mount --tmpfs /scratch:lots          | isolation: --tmpfs /scratch:lots: not a size: "lots" (expected e.g. 512, 64K, 200M, 1G)
            --mount --tmpfs /scratch:0             | isolation: --tmpfs /scratch:0: the size must be at least 4K
            --mount --tmpfs scratch:1M             | isolation: --tmpfs scratch:1M: tmpfs: "scratch" must be an absolute, normalized path other than /
            --mount --noexec tmp                   | isolation: --noexec tmp: noexec: "tmp" must be an absolute, normalized path other than /
            --uid -1                               | isolation: --uid -1: must be in 0..2147483647
            --gid 4294967296                       | isolation: --gid 4294967296: must be in 0..2147483647
            --map-uid 0:65534                      | isolation: --map-uid 0:65534: expected INSIDE:OUTSIDE:COUNT, e.g. 0:65534:1
            --map-gid a:b:c                        | isolation: --map-gid a:b:c: expected INSIDE:OUTSIDE:COUNT, e.g. 0:65534:1
            --map-uid 0:65534:0                    | isolation: --map-uid 0:65534:0: uidMap(0, 65534, 0): ids are 0..4294967295 and count >= 1
            --keep-cap CAP_FLY                     | isolation: --keep-cap CAP_FLY: keepCapability: unknown capability "CAP_FLY" (e.g. CAP_NET_BIND_SERVICE)
            --seccomp lenient                      | isolation: --seccomp lenient: expected default, strict or none
            --seccomp-deny Ptrace                  | isolation: --seccomp-deny Ptrace: not a system call name: "Ptrace"
            --seccomp-allow no_such_call           | isolation: --seccomp-allow no_such_call: unknown system call: "no_such_call" (libseccomp does not know it)
            --seccomp-deny ptrace --seccomp-allow ptrace | isolation: --seccomp-allow ptrace contradicts --seccomp-deny ptrace
            --rlimit nofile                        | isolation: --rlimit nofile: expected NAME=VALUE, e.g. nofile=64 or stack=unlimited
            --rlimit files=64                      | isolation: --rlimit files=64: unknown rlimit "files": one of cpu, fsize, data, stack, core, nproc, nofile, memlock, as, msgqueue
            --rlimit nofile=64K                    | isolation: --rlimit nofile=64K: the value must be a whole number >= 0 or 'unlimited'
            --rlimit nofile=-1                     | isolation: --rlimit nofile=-1: the value must be a whole number >= 0 or 'unlimited'
            --rlimit stack=big                     | isolation: --rlimit stack=big: not a size: "big" (expected e.g. 512, 64K, 200M, 1G)
            --mount --chdir tmp                    | isolation: --chdir tmp: must be an absolute path inside the sandbox, which has a root of its own with --mount
            """)
    void badSecurityOptionIsOneLineNamingOptionAndValueWithStatus125(String options, String expected) {
        List<String> args = new ArrayList<>(List.of("run"));
        args.addAll(List.of(options.split(" ")));
        args.addAll(List.of("--", "true"));
        assertThat(run(args.toArray(String[]::new))).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertOneErrorLine(expected + " (see 'isolation run --help')");
    }

    @Test
    void nonNumericCountIsOneLineNamingOptionAndValue() {
        assertThat(run("run", "--pids", "many", "--", "true")).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(err.toString().lines()).singleElement().asString()
                .startsWith("isolation: --pids many: expected a whole number of processes, at least 1");
    }
}
