package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.Outcome;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine.ParameterException;

/** Docker's and isolate's spellings: each means what this tool's own option means; parsing only, no sandbox starts. */
class CompatibleOptionsTest {
    @TempDir
    static Path dir;

    private static RunCommand parse(String... args) {
        StringWriter sink = new StringWriter();
        var parsed = IsolationCli.commandLine(new PrintWriter(sink), new PrintWriter(sink)).parseArgs(args);
        RunCommand run = (RunCommand) parsed.subcommand().commandSpec().userObject();
        run.applyAliases();
        return run;
    }

    /** What a command line asks for, after the aliases are folded in: every field the policy is built from. */
    private static String effective(RunCommand r) {
        return List.of(r.requestedNamespaces(), r.env, r.inheritEnv, String.valueOf(r.chdir), String.valueOf(r.memory),
                String.valueOf(r.pids), String.valueOf(r.cpuset), r.ioReadBps, r.ioWriteBps, r.ioReadIops, r.ioWriteIops, r.cgroup,
                r.keepCaps, r.binds, r.bindsWritable, r.noexec, r.tmpfs, String.valueOf(r.uid), String.valueOf(r.gid), r.seccompMode(),
                r.rlimits, String.valueOf(r.cpuTime), String.valueOf(r.wallTime)).toString();
    }

    private static List<String> args(String options) {
        List<String> a = new ArrayList<>(List.of("run"));
        if (!options.isBlank()) {
            a.addAll(List.of(options.replace("DIR", dir.toString()).split(" ")));
        }
        a.addAll(List.of("--", "true"));
        return a;
    }

    @ParameterizedTest(name = "{0} means {1}")
    @CsvSource(delimiter = '|', value = {
        // Docker
        "-e A=1 -e B                       | --env A=1 --env B",
        "-w /tmp                           | --chdir /tmp",
        "--workdir /tmp                    | --chdir /tmp",
        "-m 64M                            | --memory 64M",
        "--pids-limit 5                    | --pids 5",
        "--cpuset-cpus 0                   | --cpuset 0",
        "--device-read-bps /dev/sda:1mb    | --io-read-bps /dev/sda:1mb",
        "--device-write-bps /dev/sda:1mb   | --io-write-bps /dev/sda:1mb",
        "--device-read-iops /dev/sda:10    | --io-read-iops /dev/sda:10",
        "--device-write-iops /dev/sda:10   | --io-write-iops /dev/sda:10",
        "--cap-add NET_BIND_SERVICE        | --keep-cap NET_BIND_SERVICE",
        "--mount -v DIR:/data              | --mount --bind-rw DIR:/data",
        "--mount -v DIR:/data:ro           | --mount --bind DIR:/data",
        "--mount --volume DIR:/data:rw     | --mount --bind-rw DIR:/data",
        "--network none                    | --net",
        "--network host                    | ''",
        "--read-only                       | --mount",
        "--rm                              | ''",
        "-u 1000:1001                      | --uid 1000 --gid 1001",
        "-u 1000                           | --uid 1000 --gid 1000",
        "--security-opt seccomp=unconfined | --seccomp none",
        "--security-opt no-new-privileges  | ''",
        "--ulimit nofile=64:64             | --rlimit nofile=64",
        "--ulimit core=-1                  | --rlimit core=unlimited",
        "--mount --tmpfs /run:size=64m,mode=1777 | --mount --tmpfs /run:64m",
        // isolate
        "--time 1.5                        | --cpu-time 1.5",
        "--processes 8                     | --pids 8",
        "--cg                              | --cgroup",
        "--cg-mem 262144                   | --memory 262144K",
        "--mem 262144                      | --rlimit as=262144K",
        "--fsize 1024                      | --rlimit fsize=1024K",
        "--stack 8192                      | --rlimit stack=8192K",
        "--open-files 64                   | --rlimit nofile=64",
        "--full-env                        | --inherit-env",
        "--share-net                       | ''",
        "--mount --dir /data=DIR           | --mount --bind DIR:/data",
        "--mount --dir /data=DIR:rw        | --mount --bind-rw DIR:/data",
        "--mount --dir /data=DIR:noexec    | --mount --bind DIR:/data --noexec /data",
        "--mount --dir DIR                 | --mount --bind DIR:DIR",
    })
    void eachCompatibleSpellingMeansTheToolsOwnOption(String compatible, String own) {
        RunCommand a = parse(args(compatible).toArray(String[]::new));
        RunCommand b = parse(args(own).toArray(String[]::new));
        assertThat(effective(a)).isEqualTo(effective(b));
        // and the policies build alike, where they can be built without a device or a real directory
        if (!compatible.contains("/dev/sda")) {
            assertThat(a.sandbox().namespaces()).isEqualTo(b.sandbox().namespaces());
            assertThat(a.sandbox().cgroupLimits().toString()).isEqualTo(b.sandbox().cgroupLimits().toString());
            assertThat(a.sandbox().cpuTimeLimit()).isEqualTo(b.sandbox().cpuTimeLimit());
        }
    }

    @Test
    void stderrToStdoutSendsStandardErrorWhereStandardOutputGoes() {
        ProcessBuilder pb = parse("run", "--stderr-to-stdout", "--stdout", "out.txt", "--", "true").processBuilder();
        assertThat(pb.redirectErrorStream()).isTrue();
        assertThat(pb.redirectOutput()).isEqualTo(Redirect.to(new java.io.File("out.txt")));
        assertThat(parse("run", "--", "true").processBuilder().redirectErrorStream()).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "--network bridge                  | --network bridge: expected none",
        "--network host --net              | --network host: contradicts --net",
        "--share-net --net                 | --share-net contradicts --net",
        "-u alice                          | -u alice: expected UID or UID:GID as numbers",
        "--uid 1 -u 2                      | -u 2: contradicts --uid/--gid",
        "--security-opt apparmor=x         | --security-opt apparmor=x: this tool knows seccomp=unconfined",
        "--ulimit nofile=64:128            | --ulimit nofile=64:128: soft and hard limits are set alike",
        "--mem 1.5M                        | --mem 1.5M: expected a whole number of KiB",
        "--cg-mem 0                        | --cg-mem 0: expected a whole number of KiB",
        "--memory 1G --cg-mem 1024         | --cg-mem 1024: contradicts --memory 1G",
        "--extra-time 1                    | --extra-time 1: needs --cpu-time (--time) or --wall-time",
        "--time 1 --extra-time x           | --extra-time x: expected a number of seconds",
        "-v relative                       | -v relative: expected SRC:DST or SRC:DST:ro",
        "--dir data=/x                     | --dir data=/x: expected IN=OUT with IN an absolute path",
        "--dir /data=/x:dev                | --dir /data=/x:dev: the options this tool knows are rw and noexec",
        "--open-files many                 | --open-files many: expected a whole number of files",
    })
    void aBadCompatibleOptionIsNamedAsTyped(String options, String expected) {
        assertThatThrownBy(() -> parse(args(options).toArray(String[]::new))).isInstanceOf(ParameterException.class)
                .hasMessageStartingWith(expected);
    }

    @Test
    void silentIsParsed() {
        assertThat(parse("run", "--silent", "--", "true").silent).isTrue();
        assertThat(parse("run", "-q", "--", "true").silent).isTrue();
        assertThat(parse("run", "--", "true").silent).isFalse();
    }

    @Test
    void extraTimeMovesTheKillButNotTheVerdict() {
        RunCommand run = parse("run", "--time", "1", "--wall-time", "2", "--extra-time", "0.5", "--", "true");
        assertThat(run.sandbox().cpuTimeLimit()).contains(Duration.ofMillis(1500));
        assertThat(run.sandbox().wallTimeLimit()).contains(Duration.ofMillis(2500));
        // ended within the extra time: still over the limit, as isolate says
        RunCommand.Verdict over = run.verdict(Outcome.Status.OK, "exited normally", Duration.ofMillis(1200), Duration.ofMillis(1300));
        assertThat(over.status()).isEqualTo(Outcome.Status.TIME_LIMIT);
        assertThat(over.message()).startsWith("CPU time limit exceeded (1200 ms; the limit is 1 s");
        RunCommand.Verdict wall = run.verdict(Outcome.Status.NONZERO_EXIT, "exited with code 3", Duration.ofMillis(10), Duration.ofMillis(2100));
        assertThat(wall.status()).isEqualTo(Outcome.Status.WALL_TIME_LIMIT);
        RunCommand.Verdict within = run.verdict(Outcome.Status.OK, "exited normally", Duration.ofMillis(900), Duration.ofMillis(1900));
        assertThat(within).isEqualTo(new RunCommand.Verdict(Outcome.Status.OK, "exited normally"));
        // without --extra-time the library's verdict stands
        RunCommand plain = parse("run", "--time", "1", "--", "true");
        assertThat(plain.verdict(Outcome.Status.OK, "exited normally", Duration.ofMillis(1200), Duration.ZERO).status())
                .isEqualTo(Outcome.Status.OK);
    }

    @Test
    void aLimitOrASignalToIsolationGetsOneLineOnStderrAndAnOrdinaryEndNone() {
        assertThat(RunCommand.endLine(new RunCommand.Verdict(Outcome.Status.WALL_TIME_LIMIT, "wall time limit exceeded (1002 ms)"),
                137, true, Optional.empty()))
                .contains("isolation: wall time limit exceeded (1002 ms): the program was killed by signal 9 (exit 137, status WALL_TIME_LIMIT)");
        assertThat(RunCommand.endLine(new RunCommand.Verdict(Outcome.Status.MEMORY_LIMIT, "memory limit exceeded (OOM kill)"),
                137, true, Optional.empty())).hasValueSatisfying(l -> assertThat(l).contains("memory limit exceeded"));
        assertThat(RunCommand.endLine(new RunCommand.Verdict(Outcome.Status.NONZERO_EXIT, "exited with code 3"), 3, false,
                Optional.empty())).isEmpty();
        assertThat(RunCommand.endLine(new RunCommand.Verdict(Outcome.Status.OK, "exited normally"), 0, false, Optional.empty())).isEmpty();
        assertThat(RunCommand.endLine(new RunCommand.Verdict(Outcome.Status.NONZERO_EXIT, "exited with code 6"), 6, false,
                Optional.of("SIGINT"))).contains("isolation: SIGINT to isolation: the program was sent SIGTERM and exited with code 6"
                        + " (exit 6, status NONZERO_EXIT)");
    }
}
