package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.core.Sandbox.Namespace;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
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

    /** Any block device of this machine; only its numbers are read. */
    private static Path someBlockDevice() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/dev")), "no /dev");
        try (Stream<Path> s = Files.list(Path.of("/dev"))) {
            Optional<Path> device = s.filter(RunCommand::isBlockDevice).sorted().findFirst();
            Assumptions.assumeTrue(device.isPresent(), "this machine has no block device in /dev");
            return device.get();
        }
    }
}
