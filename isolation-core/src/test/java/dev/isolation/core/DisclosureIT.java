package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a sandbox learns about its host by design, as the README's security model lists it, and the
 * option that hides it where one exists. A change here is a change to that list.
 */
@KernelTest
class DisclosureIT {
    private static final Sandbox BOX = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().cgroup().build();

    @Test
    @Timeout(60)
    void theCgroupPathIsTheHostsUnlessCgroupNs() throws Exception {
        assertThat(Probe.run(BOX, "cat", "/proc/self/cgroup")).contains("/isolation-");
        String inside = Probe.run(BOX.toBuilder().cgroupNs().build(), "cat", "/proc/self/cgroup");
        assertThat(inside).doesNotContain("isolation-");
        assertThat(inside.lines()).allSatisfy(l -> assertThat(l).endsWith(":/"));
        assertThat(inside.lines().count()).isPositive();
    }

    @Test
    @Timeout(60)
    void bindSourcePathsShowInMountinfo(@TempDir Path dir) throws Exception {
        Path secret = Files.createDirectory(dir.resolve("project-name-of-the-host"));
        String mountinfo = Probe.run(BOX.toBuilder().bind(secret, "/data").build(), "cat", "/proc/self/mountinfo");
        assertThat(mountinfo).contains("project-name-of-the-host /data ");
    }

    @Test
    @Timeout(60)
    void theKernelAndTheHostsLoadAreVisible() throws Exception {
        String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        String out = Probe.run(BOX.toBuilder().minimalRoot().build(), "sh", "-c", "uname -r; cat /proc/loadavg /proc/meminfo | head -2; grep -c ^processor /proc/cpuinfo");
        assertThat(out.lines().toList().get(0)).isEqualTo(hostKernel);
        assertThat(out).containsPattern("\\d+\\.\\d+ \\d+\\.\\d+ \\d+\\.\\d+ ").contains("MemTotal:");
        assertThat(Integer.parseInt(out.lines().toList().get(3).trim()))
                .isEqualTo(Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("processor")).count());
    }
}
