package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupHostDetectionTest {

    private static CgroupHost fixture(String name) throws IOException {
        try {
            Path dir = Path.of(CgroupHostDetectionTest.class.getResource("/fixtures/" + name + "-mountinfo").toURI()).getParent();
            return CgroupHost.detect(dir.resolve(name + "-mountinfo"), dir.resolve(name + "-cgroup"));
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private static HostReport.Hierarchy hierarchy(HostReport r, String mountPoint) {
        return r.hierarchies().stream().filter(h -> h.mountPoint().equals(Path.of(mountPoint))).findFirst().orElseThrow();
    }

    @Test
    void legacyHostWithCoMountedCpuAndCpuacct() throws IOException {
        CgroupHost host = fixture("v1");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.LEGACY);
        HostReport.Hierarchy cpu = hierarchy(r, "/sys/fs/cgroup/cpu,cpuacct");
        assertThat(cpu.controllers()).containsExactlyInAnyOrder("cpu", "cpuacct");
        assertThat(cpu.ownDirectory()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct/user.slice"));
        assertThat(r.controller(CgroupController.CPU).directory()).isEqualTo(r.controller(CgroupController.CPUACCT).directory());
        assertThat(r.controller(CgroupController.MEMORY).directory())
                .contains(Path.of("/sys/fs/cgroup/memory/user.slice/user-1000.slice/session-3.scope"));
        assertThat(r.controller(CgroupController.MEMORY).version()).contains(1);
        assertThat(r.controller(CgroupController.DEVICES).version()).contains(1);
        assertThat(hierarchy(r, "/sys/fs/cgroup/systemd").controllers()).containsExactly("name=systemd");
        assertThat(r.hierarchies()).noneMatch(h -> h.version() == 2);
    }

    @Test
    void hybridHostRoutesControllersToTheirV1Hierarchies() throws IOException {
        CgroupHost host = fixture("hybrid");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.HYBRID);
        assertThat(r.controller(CgroupController.CPU).directory()).contains(Path.of("/sys/fs/cgroup/cpu"));
        assertThat(r.controller(CgroupController.CPUACCT).directory()).contains(Path.of("/sys/fs/cgroup/cpuacct"));
        assertThat(r.controller(CgroupController.MEMORY).directory())
                .contains(Path.of("/sys/fs/cgroup/memory/process_api/683aa996fd4c5587a46fdf2ca95a04dd"));
        assertThat(r.controller(CgroupController.FREEZER).version()).contains(1);
        HostReport.Hierarchy unified = hierarchy(r, "/sys/fs/cgroup/unified");
        assertThat(unified.version()).isEqualTo(2);
        assertThat(unified.ownCgroup()).isEqualTo("/");
        assertThat(unified.ownDirectory()).isEqualTo(Path.of("/sys/fs/cgroup/unified"));
        assertThat(r.toString()).contains("HYBRID").contains("/sys/fs/cgroup/unified").contains("memory");
    }

    @Test
    void unifiedHostPutsOwnCgroupUnderTheSingleMount() throws IOException {
        CgroupHost host = fixture("v2");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.UNIFIED);
        assertThat(r.hierarchies()).singleElement().satisfies(h -> {
            assertThat(h.version()).isEqualTo(2);
            assertThat(h.mountPoint()).isEqualTo(Path.of("/sys/fs/cgroup"));
            assertThat(h.ownDirectory()).isEqualTo(Path.of("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"));
        });
        // Core features need no controller; devices do not exist in v2.
        assertThat(r.controller(CgroupController.FREEZER).version()).contains(2);
        assertThat(r.controller(CgroupController.CPUACCT).version()).contains(2);
        assertThat(r.controller(CgroupController.DEVICES).version()).isEmpty();
        assertThat(r.controller(CgroupController.DEVICES).detail()).contains("eBPF");
    }

    @Test
    void containerWithCgroupNamespaceSeesItsCgroupAsTheRoot() throws IOException {
        CgroupHost host = fixture("container-ns");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.UNIFIED);
        assertThat(r.hierarchies()).singleElement().satisfies(h -> {
            assertThat(h.ownCgroup()).isEqualTo("/");
            assertThat(h.ownDirectory()).isEqualTo(Path.of("/sys/fs/cgroup"));
        });
    }

    @Test
    void bindMountedSubtreeStripsTheMountRoot() throws IOException {
        CgroupHost host = fixture("docker-v1");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.LEGACY);
        assertThat(r.controller(CgroupController.MEMORY).directory()).contains(Path.of("/sys/fs/cgroup/memory/worker"));
        assertThat(r.controller(CgroupController.PIDS).directory()).contains(Path.of("/sys/fs/cgroup/pids"));
        assertThat(r.controller(CgroupController.CPU).directory()).contains(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(r.controller(CgroupController.FREEZER).version()).isEmpty();
        assertThat(r.controller(CgroupController.FREEZER).usable()).isFalse();
    }

    @Test
    void cgroup2AtANonStandardMountPoint() throws IOException {
        CgroupHost host = fixture("nonstandard");
        HostReport r = host.probe();

        assertThat(host.layout()).isEqualTo(CgroupLayout.UNIFIED);
        assertThat(r.hierarchies()).singleElement().satisfies(h -> {
            assertThat(h.mountPoint()).isEqualTo(Path.of("/mnt/cg2"));
            assertThat(h.ownDirectory()).isEqualTo(Path.of("/mnt/cg2/jobs/runner"));
        });
    }

    @Test
    void v2ControllersAreReadFromTheMountRoot(@TempDir Path tmp) throws IOException {
        Path mount = Files.createDirectories(tmp.resolve("cg"));
        Files.writeString(mount.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        Path mountinfo = Files.writeString(tmp.resolve("mountinfo"),
                "95 27 0:40 / " + mount + " rw,relatime shared:50 - cgroup2 none rw\n");
        Path cgroup = Files.writeString(tmp.resolve("cgroup"), "0::/\n");

        HostReport r = CgroupHost.detect(mountinfo, cgroup).probe();

        assertThat(r.controller(CgroupController.MEMORY).version()).contains(2);
        assertThat(r.controller(CgroupController.IO).version()).contains(2);
        assertThat(r.controller(CgroupController.MEMORY).usable()).isFalse();
        assertThat(r.controller(CgroupController.MEMORY).detail()).contains("cgroup.subtree_control").contains("+memory");
        assertThat(r.controller(CgroupController.FREEZER).usable()).isTrue();
    }

    @Test
    void noCgroupMountIsUnavailable(@TempDir Path tmp) throws IOException {
        Path mountinfo = Files.writeString(tmp.resolve("mountinfo"),
                "27 0 253:0 / / rw,relatime shared:1 - ext4 /dev/root rw\n");
        Path cgroup = Files.writeString(tmp.resolve("cgroup"), "0::/\n");
        assertThatThrownBy(() -> CgroupHost.detect(mountinfo, cgroup))
                .isInstanceOf(CgroupUnavailableException.class).hasMessageContaining("mount -t cgroup2");
    }

    @Test
    void hierarchyAbsentFromProcSelfCgroupIsIgnored() throws IOException {
        CgroupHost host = fixture("hybrid");
        assertThat(host.probe().controller(CgroupController.IO).directory()).isEqualTo(Optional.of(Path.of("/sys/fs/cgroup/blkio")));
    }
}
