package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.core.Rlimit;
import dev.isolation.core.Sandbox;
import dev.isolation.core.Sandbox.Namespace;
import dev.isolation.core.SeccompPolicy;
import dev.isolation.examples.RealKernel;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.ParameterException;

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

    /** The environment a sandboxed program of this command line gets, with isolation's own as this JVM's. */
    private static Map<String, String> environment(String... args) {
        RunCommand run = parse(args);
        return run.sandbox().environmentFor(run.processBuilder());
    }

    @Test
    void environmentIsTheFixedOnePlusEnvOptionsNotTheJvms() {
        Map<String, String> env = environment("run", "--env", "A=1", "--env", "B=x=y", "--env", "C=", "--env", "A=2", "true");
        assertThat(env).containsEntry("A", "2").containsEntry("B", "x=y").containsEntry("C", "")
                .containsEntry("PATH", Sandbox.DEFAULT_PATH).containsEntry("HOME", "/");
        assertThat(env.keySet()).isSubsetOf("A", "B", "C", "PATH", "HOME", "LANG", "LC_ALL", "TERM");
        assertThat(environment("run", "--mount", "true")).containsEntry("HOME", "/tmp");
    }

    @Test
    void envWithANameAlonePassesIsolationsOwnValue() {
        String name = System.getenv().keySet().stream().filter(n -> !List.of("PATH", "HOME", "LANG", "LC_ALL", "TERM").contains(n))
                .findFirst().orElse(null);
        RealKernel.skipUnless(name != null, "a test that needs a variable besides the fixed ones in this JVM's environment");
        assertThat(environment("run", "true")).doesNotContainKey(name);
        assertThat(environment("run", "--env", name, "true")).containsEntry(name, System.getenv(name));
        assertThat(environment("run", "--env", "NOT_SET_ANYWHERE_" + System.nanoTime(), "true").keySet())
                .isSubsetOf("PATH", "HOME", "LANG", "LC_ALL", "TERM");
    }

    @Test
    void inheritEnvPassesTheJvmsWholeEnvironment() {
        assertThat(environment("run", "--inherit-env", "--env", "A=1", "true"))
                .containsAllEntriesOf(System.getenv()).containsEntry("A", "1").hasSize(System.getenv().size() + (System.getenv().containsKey("A") ? 0 : 1));
    }

    @Test
    void clearEnvKeepsOnlyEnvOptions() {
        assertThat(environment("run", "--clear-env", "--env", "PATH=/bin", "true")).containsExactly(Map.entry("PATH", "/bin"));
        assertThat(environment("run", "--clear-env", "true")).isEmpty();
    }

    @Test
    void theEnvironmentOptionsLeaveTheProcessBuilderAlone() {
        assertThat(parse("run", "--clear-env", "--env", "A=1", "true").processBuilder().environment()).isEqualTo(System.getenv());
    }

    private static CgroupLimits limits(String... args) {
        return parse(args).sandbox().cgroupLimits().orElseThrow();
    }

    @Test
    void noLimitOptionsMeansNoCgroup() {
        assertThat(parse("run", "--pid", "true").sandbox().cgroupLimits()).isEmpty();
    }

    @Test
    void cgroupWithoutLimitsGivesACgroupThatOnlyMeasures() {
        CgroupLimits l = limits("run", "--cgroup", "true");
        assertThat(l.memoryLimit()).isEmpty();
        assertThat(l.pidsLimit()).isEmpty();
        assertThat(l.cpuShares()).isEmpty();
        assertThat(l.bestEffort()).isFalse();
    }

    @Test
    void cgroupParentImpliesACgroup() {
        assertThat(parse("run", "--cgroup-parent", "/jobs", "true").sandbox().cgroupLimits()).isPresent();
    }

    @Test
    void memoryIsBinaryAndSwapDefaultsToNone() {
        CgroupLimits l = limits("run", "--memory", "200M", "true");
        assertThat(l.memoryLimit()).contains(ByteSize.mb(200));
        assertThat(l.swapLimit()).contains(ByteSize.ZERO);
    }

    @Test
    void swapIsAllowedBeyondMemory() {
        CgroupLimits l = limits("run", "--memory", "64M", "--swap", "1G", "true");
        assertThat(l.memoryLimit()).contains(ByteSize.mb(64));
        assertThat(l.swapLimit()).contains(ByteSize.gb(1));
        assertThat(limits("run", "--memory", "64M", "--swap", "0", "true").swapLimit()).contains(ByteSize.ZERO);
    }

    @Test
    void cpuOptionsMapToTheirKnobs() {
        CgroupLimits l = limits("run", "--cpu-shares", "512", "--cpus", "0.5", "--cpuset", "0", "true");
        assertThat(l.cpuShares()).hasValue(512);
        assertThat(l.cpuQuota()).contains(Duration.ofMillis(50));
        assertThat(l.cpuPeriod()).isEqualTo(Duration.ofMillis(100));
        assertThat(l.cpusetCpus()).contains("0");
        assertThat(limits("run", "--cpu-weight", "200", "true").cpuWeight()).hasValue(200);
    }

    @Test
    void timeLimitsAreDecimalSecondsAndOutputLimitASize() {
        var sandbox = parse("run", "--cpu-time", "1.5", "--wall-time", ".25", "--output-limit", "1M", "true").sandbox();
        assertThat(sandbox.cpuTimeLimit()).contains(Duration.ofMillis(1500));
        assertThat(sandbox.wallTimeLimit()).contains(Duration.ofMillis(250));
        assertThat(sandbox.outputLimit()).contains(ByteSize.mb(1));
        assertThat(sandbox.cgroupLimits()).as("the CPU time is measured from a cgroup").isPresent();
        assertThat(parse("run", "--wall-time", "2", "true").sandbox().cpuTimeLimit()).isEmpty();
    }

    @Test
    void pidsAndIoWeightMapToTheirKnobs() {
        CgroupLimits l = limits("run", "--pids", "8", "--io-weight", "500", "true");
        assertThat(l.pidsLimit()).hasValue(8);
        assertThat(l.ioWeight()).hasValue(500);
    }

    @Test
    void bestEffortIsPassedOn() {
        assertThat(limits("run", "--best-effort", "--memory", "64M", "true").bestEffort()).isTrue();
    }

    @Test
    void deviceLimitSplitsAtTheLastColon() {
        assertThat(RunCommand.DeviceLimit.parse("/dev/sdb:30M"))
                .contains(new RunCommand.DeviceLimit(Path.of("/dev/sdb"), "30M"));
        assertThat(RunCommand.DeviceLimit.parse("/dev/disk/by-path/pci-0000:00:1f.2:100"))
                .contains(new RunCommand.DeviceLimit(Path.of("/dev/disk/by-path/pci-0000:00:1f.2"), "100"));
        assertThat(RunCommand.DeviceLimit.parse("/dev/sdb")).isEmpty();
        assertThat(RunCommand.DeviceLimit.parse("/dev/sdb:")).isEmpty();
        assertThat(RunCommand.DeviceLimit.parse(":30M")).isEmpty();
    }

    @Test
    void ioThrottlesNameTheDeviceByItsNumbers() throws Exception {
        Path device = someBlockDevice();
        CgroupLimits l = limits("run", "--io-read-bps", device + ":30M", "--io-write-bps", device + ":1mb",
                "--io-read-iops", device + ":100", "--io-write-iops", device + ":50", "true");
        assertThat(l.ioThrottles()).hasSize(1);
        CgroupLimits.IoThrottle t = l.ioThrottles().get(0);
        assertThat(t.readBytesPerSecond()).hasValue(30L << 20);
        assertThat(t.writeBytesPerSecond()).hasValue(1L << 20);
        assertThat(t.readIops()).hasValue(100);
        assertThat(t.writeIops()).hasValue(50);
    }

    @Test
    void characterDevicesAreNotBlockDevices() {
        assertThat(RunCommand.isBlockDevice(Path.of("/dev/null"))).isFalse();
        assertThat(RunCommand.isBlockDevice(Path.of("/"))).isFalse();
    }

    @Test
    void mountAloneGivesTheMinimalRoot() {
        RunCommand run = parse("run", "--mount", "true");
        assertThat(run.minimalRootByDefault()).isTrue();
        assertThat(run.sandbox().namespaces()).containsExactly(Namespace.MOUNT);
        assertThat(parse("run", "--pid", "true").minimalRootByDefault()).isFalse();
    }

    @Test
    void filesystemOptionsBuildOnTheMinimalRootWithMount(@TempDir Path dir) {
        String src = dir.toString();
        for (String[] option : new String[][] {{"--bind", src + ":/data"}, {"--bind-rw", src + ":/data"},
                {"--tmpfs", "/scratch:64M"}, {"--rootfs", src}}) {
            RunCommand run = parse("run", "--mount", option[0], option[1], "--noexec", "/tmp", "true");
            assertThat(run.minimalRootByDefault()).as(option[0]).isFalse();
            assertThat(run.sandbox().namespaces()).as(option[0]).containsExactly(Namespace.MOUNT);
        }
        assertThat(parse("run", "--mount", "--noexec", "/tmp", "true").minimalRootByDefault()).isTrue();
    }

    @Test
    void bindSplitsAtTheLastColonThatStartsTheInsidePath() {
        assertThat(RunCommand.BindSpec.parse("/srv/data:/data"))
                .contains(new RunCommand.BindSpec(Path.of("/srv/data"), "/data"));
        assertThat(RunCommand.BindSpec.parse("/srv/a:b:/data"))
                .contains(new RunCommand.BindSpec(Path.of("/srv/a:b"), "/data"));
        assertThat(RunCommand.BindSpec.parse("data:/in/side"))
                .contains(new RunCommand.BindSpec(Path.of("data"), "/in/side"));
        assertThat(RunCommand.BindSpec.parse("/srv/data")).isEmpty();
        assertThat(RunCommand.BindSpec.parse("/srv/data:data")).isEmpty();
        assertThat(RunCommand.BindSpec.parse(":/data")).isEmpty();
    }

    @Test
    void uidAndGidDefaultToEachOther() {
        assertThat(parse("run", "true").runAs()).isEmpty();
        assertThat(parse("run", "--uid", "1000", "true").runAs()).contains(new RunCommand.RunAs(1000, 1000));
        assertThat(parse("run", "--gid", "100", "true").runAs()).contains(new RunCommand.RunAs(100, 100));
        assertThat(parse("run", "--uid", "0", "--gid", "100", "true").runAs()).contains(new RunCommand.RunAs(0, 100));
        parse("run", "--uid", "1000", "--gid", "100", "true").sandbox();
    }

    @Test
    void idMapsImplyAUserNamespace() {
        RunCommand run = parse("run", "--map-uid", "0:65534:1", "--map-uid", "1:100000:65536", "--map-gid", "0:65534:1", "true");
        assertThat(run.sandbox().namespaces()).containsExactly(Namespace.USER);
    }

    @Test
    @Timeout(10)
    void keptCapabilitiesAreAcceptedByEitherNameAndUnknownOnesAreRefused() {
        // what they mean on the kernel: IsolationCliSecurityIT.uidZeroWithoutAUserNamespaceHasNoCapabilitiesUnlessKept
        RunCommand run = parse("run", "--keep-cap", "CAP_NET_BIND_SERVICE", "--keep-cap", "sys_chroot", "true");
        assertThat(run.keepCaps).containsExactly("CAP_NET_BIND_SERVICE", "sys_chroot");
        assertThatCode(run::sandbox).doesNotThrowAnyException();
        assertThatThrownBy(() -> parse("run", "--keep-cap", "sys_chrooot", "true").sandbox())
                .isInstanceOf(ParameterException.class)
                .hasMessageContaining("--keep-cap sys_chrooot").hasMessageContaining("unknown capability");
    }

    @Test
    void seccompDefaultsToTheDefaultPolicyAndTakesRules() {
        RunCommand run = parse("run", "true");
        assertThat(run.seccompMode()).isEqualTo("default");
        assertThat(run.sandbox().seccomp()).isEqualTo(SeccompPolicy.defaultPolicy());
        assertThat(parse("run", "--seccomp", "strict", "true").sandbox().seccomp()).isEqualTo(SeccompPolicy.strict());
        assertThat(parse("run", "--seccomp", "none", "true").sandbox().seccomp().isNone()).isTrue();
        assertThat(parse("run", "--seccomp", "STRICT", "true").seccompMode()).isEqualTo("strict");
        assertThat(parse("run", "--seccomp", "strict", "--seccomp-allow", "socket", "--seccomp-deny", "ptrace", "true")
                .sandbox().seccomp()).isEqualTo(SeccompPolicy.strict().deny("ptrace").allow("socket"));
        assertThat(parse("run", "--seccomp-deny", "chroot", "true").sandbox().seccomp())
                .isEqualTo(SeccompPolicy.defaultPolicy().deny("chroot"));
    }

    @Test
    void rlimitsAreNumbersSizesOrUnlimitedAndALaterOneWins() {
        RunCommand run = parse("run", "--rlimit", "stack=unlimited", "--rlimit", "nofile=64", "--rlimit", "RLIMIT_FSIZE=1M",
                "--rlimit", "cpu=2", "--rlimit", "core=1024", "--rlimit", "nofile=128", "true");
        assertThat(run.rlimitValues()).containsExactly(Map.entry(Rlimit.CPU, 2L), Map.entry(Rlimit.FSIZE, 1L << 20),
                Map.entry(Rlimit.STACK, Rlimit.UNLIMITED), Map.entry(Rlimit.CORE, 1024L), Map.entry(Rlimit.NOFILE, 128L));
        run.sandbox();
        assertThat(parse("run", "true").rlimitValues()).isEmpty();
    }

    @Test
    void chdirWithARootOfItsOwnIsAbsolute() {
        assertThat(parse("run", "--mount", "--chdir", "/tmp", "true").processBuilder().directory()).isEqualTo(new File("/tmp"));
    }

    /** Any block device of this machine; only its numbers are read. */
    private static Path someBlockDevice() throws Exception {
        RealKernel.skipUnless(Files.isDirectory(Path.of("/dev")), "a test that reads a block device's numbers: it has no /dev");
        try (Stream<Path> s = Files.list(Path.of("/dev"))) {
            Optional<Path> device = s.filter(RunCommand::isBlockDevice).sorted().findFirst();
            RealKernel.skipUnless(device.isPresent(), "a test that reads a block device's numbers: it has none in /dev");
            return device.get();
        }
    }
}
