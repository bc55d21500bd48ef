package dev.isolation.cgroups.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountInfoTest {

    @Test
    void parsesCgroupV1LineWithOptionalFields() {
        MountInfo.Mount m = MountInfo.parseLine(
                "34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 master:3 - cgroup cgroup rw,cpu,cpuacct");
        assertThat(m.root()).isEqualTo("/");
        assertThat(m.mountPoint()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(m.isV2()).isFalse();
        assertThat(m.superOptions()).contains("cpu", "cpuacct");
    }

    @Test
    void unescapesOctalSequencesInPaths() {
        MountInfo.Mount m = MountInfo.parseLine("95 27 0:40 /a\\040b /mnt/my\\040cg rw - cgroup2 none rw");
        assertThat(m.root()).isEqualTo("/a b");
        assertThat(m.mountPoint()).isEqualTo(Path.of("/mnt/my cg"));
        assertThat(m.isV2()).isTrue();
    }

    @Test
    void ignoresOtherFilesystems() {
        assertThat(MountInfo.parseLine("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755")).isNull();
        assertThat(MountInfo.parseLine("garbage")).isNull();
    }
}
