package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.examples.cli.HostChecks.Finding;
import dev.isolation.examples.cli.HostChecks.Verdict;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The doctor's checks on fixture /proc trees: what each finding says, and its fix. */
class HostChecksTest {
    @TempDir
    Path proc;

    private HostChecks checks() {
        return new HostChecks(proc);
    }

    private void write(String file, String content) throws IOException {
        Path p = proc.resolve(file);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    private void mountinfo(String fixture) throws IOException {
        Files.createDirectories(proc.resolve("self"));
        try (InputStream in = HostChecksTest.class.getResourceAsStream("/mountinfo/" + fixture)) {
            Files.write(proc.resolve("self/mountinfo"), in.readAllBytes());
        }
    }

    private Finding finding(List<Finding> findings, String check) {
        return findings.stream().filter(f -> f.check().equals(check)).findFirst().orElseThrow();
    }

    @Test
    void kernelReleaseIsReadWhole() throws IOException {
        write("sys/kernel/osrelease", "6.8.0-45-generic\n");
        assertThat(checks().kernelRelease()).isEqualTo(Finding.of("kernel", Verdict.INFO, "6.8.0-45-generic"));
    }

    @Test
    void userNamespacesEnabledEverywhereIsAllOk() throws IOException {
        write("sys/user/max_user_namespaces", "96363\n");
        write("sys/kernel/unprivileged_userns_clone", "1\n");
        write("sys/kernel/apparmor_restrict_unprivileged_userns", "0\n");
        List<Finding> f = checks().userNamespaces();
        assertThat(f).extracting(Finding::verdict).containsOnly(Verdict.OK);
        assertThat(finding(f, "user.max_user_namespaces").detail()).startsWith("96363:");
        assertThat(HostChecks.userNamespaceSummary(f, false).verdict()).isEqualTo(Verdict.OK);
    }

    @Test
    void zeroMaxUserNamespacesDisablesThemEvenForRootWithTheSysctlFix() throws IOException {
        write("sys/user/max_user_namespaces", "0\n");
        List<Finding> f = checks().userNamespaces();
        Finding max = finding(f, "user.max_user_namespaces");
        assertThat(max.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(max.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("sysctl -w user.max_user_namespaces="));
        assertThat(HostChecks.userNamespaceSummary(f, true).verdict()).isEqualTo(Verdict.PROBLEM);
    }

    @Test
    void debianSwitchOffRestrictsOnlyUnprivilegedUsers() throws IOException {
        write("sys/user/max_user_namespaces", "15000\n");
        write("sys/kernel/unprivileged_userns_clone", "0\n");
        List<Finding> f = checks().userNamespaces();
        Finding clone = finding(f, "kernel.unprivileged_userns_clone");
        assertThat(clone.verdict()).isEqualTo(Verdict.WARN);
        assertThat(clone.fix()).contains("sysctl -w kernel.unprivileged_userns_clone=1, and persist it in /etc/sysctl.d/");
        assertThat(HostChecks.userNamespaceSummary(f, true).verdict()).isEqualTo(Verdict.OK);
        assertThat(HostChecks.userNamespaceSummary(f, false).verdict()).isEqualTo(Verdict.PROBLEM);
    }

    @Test
    void ubuntuAppArmorRestrictionIsAWarningWithTwoFixes() throws IOException {
        write("sys/user/max_user_namespaces", "15000\n");
        write("sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
        Finding apparmor = finding(checks().userNamespaces(), "kernel.apparmor_restrict_unprivileged_userns");
        assertThat(apparmor.verdict()).isEqualTo(Verdict.WARN);
        assertThat(apparmor.fix()).hasValueSatisfying(fix ->
                assertThat(fix).contains("'userns,'", "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
    }

    @Test
    void absentKnobsAreContextNotProblems() throws IOException {
        write("sys/user/max_user_namespaces", "15000\n");
        List<Finding> f = checks().userNamespaces();
        assertThat(finding(f, "kernel.unprivileged_userns_clone").verdict()).isEqualTo(Verdict.INFO);
        assertThat(finding(f, "kernel.apparmor_restrict_unprivileged_userns").verdict()).isEqualTo(Verdict.INFO);
    }

    @Test
    void missingMaxUserNamespacesMeansAKernelWithoutThem() {
        Finding max = finding(checks().userNamespaces(), "user.max_user_namespaces");
        assertThat(max.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(max.fix()).contains("use a kernel with CONFIG_USER_NS=y");
    }

    @Test
    void writableCgroupMountsAreOk() throws IOException {
        mountinfo("hybrid-rw.txt");
        Finding f = checks().cgroupMounts();
        assertThat(f.verdict()).isEqualTo(Verdict.OK);
        assertThat(f.detail()).isEqualTo("all 4 mounts at or under /sys/fs/cgroup are read-write");
    }

    @Test
    void readOnlyCgroupMountsOfAContainerAreAProblemNamingEachMount() throws IOException {
        mountinfo("container-ro.txt");
        Finding f = checks().cgroupMounts();
        assertThat(f.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(f.detail()).startsWith("mounted read-only: /sys/fs/cgroup (tmpfs), /sys/fs/cgroup/memory (cgroup);")
                .doesNotContain("my space");
        assertThat(f.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("--cgroupns=private"));
    }

    @Test
    void noCgroupMountIsAProblemAndASiblingPathDoesNotCount() throws IOException {
        mountinfo("no-cgroup.txt");
        Finding f = checks().cgroupMounts();
        assertThat(f.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(f.fix()).contains("mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup");
    }

    @Test
    void mountinfoEscapesAreDecoded() {
        assertThat(HostChecks.Mount.unescape("/sys/fs/cgroup/my\\040space")).isEqualTo("/sys/fs/cgroup/my space");
        assertThat(HostChecks.Mount.unescape("/a\\134b")).isEqualTo("/a\\b");
        assertThat(HostChecks.Mount.unescape("/trailing\\04")).isEqualTo("/trailing\\04");
        assertThat(HostChecks.Mount.parse("36 35 98:0 /mnt1 /mnt2 ro,noatime master:1 shared:2 - ext3 /dev/root rw"))
                .hasValueSatisfying(m -> {
                    assertThat(m.mountPoint()).isEqualTo(Path.of("/mnt2"));
                    assertThat(m.fsType()).isEqualTo("ext3");
                    assertThat(m.readOnly()).isTrue();
                });
        assertThat(HostChecks.Mount.parse("garbage")).isEmpty();
    }

    @Test
    void effectiveUidZeroIsRoot() throws IOException {
        write("self/status", "Name:\tjava\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
        assertThat(checks().effectiveRoot()).isTrue();
        write("self/status", "Name:\tjava\nUid:\t0\t1000\t1000\t1000\n");
        assertThat(checks().effectiveRoot()).isFalse();
    }

    @Test
    void integerSysctlsAreReadInOneRead() {
        // On Linux the real file: a byte-at-a-time reader gets only the first digit.
        Path real = Path.of("/proc/sys/user/max_user_namespaces");
        dev.isolation.examples.RealKernel.skipUnless(Files.isReadable(real), "a test of " + real + ", which it lacks");
        String detail = finding(new HostChecks().userNamespaces(), "user.max_user_namespaces").detail();
        String value = detail.substring(0, detail.indexOf(':'));
        assertThat(value).isEqualTo(readInOneGo(real));
    }

    private static String readInOneGo(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = new byte[4096];
            int n = in.read(b);
            return new String(b, 0, Math.max(n, 0)).strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void seccompWithKillProcessAndLibseccompIsOk() throws IOException {
        write("sys/kernel/seccomp/actions_avail", "kill_process kill_thread trap errno user_notif trace log allow\n");
        Finding f = checks().seccomp(true);
        assertThat(f.verdict()).isEqualTo(Verdict.OK);
        assertThat(f.detail()).contains("libseccomp.so.2 loads", "kill_process");
    }

    @Test
    void seccompWithoutLibseccompSaysHowToInstallIt() throws IOException {
        write("sys/kernel/seccomp/actions_avail", "kill_process kill_thread trap errno trace log allow\n");
        Finding f = checks().seccomp(false);
        assertThat(f.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(f.detail()).contains("libseccomp.so.2 cannot be loaded", "--seccomp none");
        assertThat(f.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("apt-get install libseccomp2"));
        // the version the README's requirements name: 2.5, whose user notifications (SCMP_ACT_NOTIFY) name a denied call
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("../README.md"));
        java.util.regex.Matcher required = java.util.regex.Pattern.compile("libseccomp (\\d+\\.\\d+)\\+ at run time").matcher(readme);
        assertThat(required.find()).as("README's requirement line").isTrue();
        assertThat(required.group(1)).isEqualTo("2.5");
        assertThat(f.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("libseccomp " + required.group(1) + " or later"));
    }

    @Test
    void seccompOnAKernelWithoutFiltersOrOlderThan414IsAProblem() throws IOException {
        Finding missing = checks().seccomp(true);
        assertThat(missing.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(missing.detail()).contains("actions_avail is missing", "4.14");
        assertThat(missing.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("CONFIG_SECCOMP_FILTER=y"));

        write("sys/kernel/seccomp/actions_avail", "kill trap errno trace allow\n");
        Finding old = checks().seccomp(true);
        assertThat(old.verdict()).isEqualTo(Verdict.PROBLEM);
        assertThat(old.detail()).contains("lacks the kill_process action");
    }
}
