package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.internal.linux.NativeCallException;
import org.junit.jupiter.api.Test;

class HostDiagnosticsTest {
    private static final Sandbox ROOTED = Sandbox.builder().mountNs().minimalRoot().build();

    @Test
    void aKernelWithoutTheDescriptorMountApiIsAnUnsupportedHostWithTheFix() {
        for (String call : new String[] {"openat2", "open_tree", "fsopen", "fsmount", "move_mount", "mount_setattr"}) {
            SandboxException e = HostDiagnostics.explain(new NativeCallException(call, "\"/usr\" -> \"/usr\"", 38), ROOTED);
            assertThat(e).as(call).isInstanceOf(UnsupportedHostException.class);
            assertThat(e.getMessage()).startsWith(call + "(\"/usr\" -> \"/usr\"): ENOSYS").contains("Linux 5.12+");
        }
    }

    @Test
    void otherSetupFailuresStaySetupFailures() {
        SandboxException e = HostDiagnostics.explain(new NativeCallException("open_tree", "\"/usr\" -> \"/usr\"", 1), ROOTED);
        assertThat(e).isInstanceOf(SandboxSetupException.class).isNotInstanceOf(UnsupportedHostException.class);
        assertThat(e.getMessage()).isEqualTo("open_tree(\"/usr\" -> \"/usr\"): EPERM (Operation not permitted)");
    }

    private static final Sandbox PLAIN = Sandbox.builder().build();

    private static SandboxSetupException failure(String call, String argument, int errno) {
        return new SandboxSetupException(new NativeCallException(call, argument, errno));
    }

    @Test
    void aCommandInNoPathDirectorySaysSoAndWhatToDo() {
        SandboxException e = HostDiagnostics.explainStart(failure("execve", "frobnicate", 2), PLAIN, java.util.List.of("frobnicate"),
                java.util.Map.of("PATH", "/opt/a:/opt/b"));
        assertThat(e.getMessage()).startsWith("execve(\"frobnicate\"): ENOENT (No such file or directory): no command \"frobnicate\""
                + " in any directory of the sandbox's PATH (/opt/a:/opt/b)").contains("Give the program's absolute path");
        assertThat(((SandboxSetupException) e).errnoName()).isEqualTo("ENOENT");
        assertThat(((SandboxSetupException) e).call()).isEqualTo("execve");
    }

    @Test
    void aPathDirectoryTheSandboxCannotSearchIsNamedWithTheFix() {
        // the helper's report when a PATH directory (a pyenv under /root) refused the search and no other had it
        SandboxException e = HostDiagnostics.explainStart(failure("execve", "/nonexistent-isolation/.pyenv/bin/x", 13), PLAIN,
                java.util.List.of("x"), java.util.Map.of("PATH", "/nonexistent-isolation/.pyenv/bin:/usr/bin"));
        assertThat(e.getMessage()).startsWith("execve(\"/nonexistent-isolation/.pyenv/bin/x\"): EACCES (Permission denied): no runnable"
                + " \"x\" in the sandbox's PATH").contains("may not search /nonexistent-isolation/.pyenv/bin",
                "set a PATH without /nonexistent-isolation/.pyenv/bin");
    }

    @Test
    void anEmptyRootfsIsNamedAsEmpty(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Sandbox rootfs = Sandbox.builder().pidNs().mountNs().rootfs(dir).build();
        SandboxException e = HostDiagnostics.explainStart(failure("execve", "/bin/true", 2), rootfs, java.util.List.of("/bin/true"),
                java.util.Map.of());
        assertThat(e.getMessage()).contains("the sandbox's root file system " + dir.toRealPath() + " is empty", "extract an image into it");
        java.nio.file.Files.createDirectory(dir.resolve("bin"));
        e = HostDiagnostics.explainStart(failure("execve", "/bin/true", 2), rootfs, java.util.List.of("/bin/true"), java.util.Map.of());
        assertThat(e.getMessage()).contains("no file /bin/true in the sandbox (the sandbox's root is " + dir.toRealPath() + ")");
        java.nio.file.Files.writeString(dir.resolve("bin/true"), "#!/no/such/interpreter\n");
        e = HostDiagnostics.explainStart(failure("execve", "/bin/true", 2), rootfs, java.util.List.of("/bin/true"), java.util.Map.of());
        assertThat(e.getMessage()).contains("/bin/true exists there", "the interpreter of its #! line or its dynamic loader");
    }

    @Test
    void aRootfsLinkIsNotFollowedToLook(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Files.createSymbolicLink(dir.resolve("bin"), java.nio.file.Path.of("/usr/bin"));
        Sandbox rootfs = Sandbox.builder().pidNs().mountNs().rootfs(dir).build();
        SandboxException e = HostDiagnostics.explainStart(failure("execve", "/bin/true", 2), rootfs, java.util.List.of("/bin/true"),
                java.util.Map.of());
        // the host's /usr/bin/true exists, but the sandbox resolves /bin in its own root: the message cannot tell and says both
        assertThat(e.getMessage()).contains("either there is no file /bin/true in the sandbox");
    }

    @Test
    void aWorkingDirectoryThatIsNotThereIsNamed() {
        SandboxException e = HostDiagnostics.explainStart(failure("chdir", "/nowhere", 2), ROOTED, java.util.List.of("true"), java.util.Map.of());
        assertThat(e.getMessage()).startsWith("chdir(\"/nowhere\"): ENOENT (No such file or directory): the working directory /nowhere"
                + " does not exist inside the sandbox's own root");
        e = HostDiagnostics.explainStart(failure("chdir", "/private", 13), PLAIN, java.util.List.of("true"), java.util.Map.of());
        assertThat(e.getMessage()).contains("the sandbox's user may not enter /private", "chmod o+x");
    }

    @Test
    void anExplainedFailureAndOtherCallsAreLeftAsTheyAre() {
        SandboxSetupException explained = new SandboxSetupException(new NativeCallException("execve", "true", 1),
                "execve(\"true\"): EPERM: the seccomp policy denies execve");
        assertThat(HostDiagnostics.explainStart(explained, PLAIN, java.util.List.of("true"), java.util.Map.of())).isSameAs(explained);
        SandboxSetupException mount = failure("mount", "proc", 1);
        assertThat(HostDiagnostics.explainStart(mount, PLAIN, java.util.List.of("true"), java.util.Map.of())).isSameAs(mount);
    }

    @Test
    void inTheMinimalRootWhatIsNotThereIsSaidSo() {
        SandboxException e = HostDiagnostics.explainStart(failure("execve", "/opt/isolation-nothing/x", 2), ROOTED,
                java.util.List.of("/opt/isolation-nothing/x"), java.util.Map.of());
        assertThat(e.getMessage()).contains("no file /opt/isolation-nothing/x in the sandbox: give a path that exists there");
        e = HostDiagnostics.explainStart(failure("execve", "/usr/bin/isolation-no-such-program", 2), ROOTED,
                java.util.List.of("/usr/bin/isolation-no-such-program"), java.util.Map.of());
        assertThat(e.getMessage()).contains("no file /usr/bin/isolation-no-such-program in the sandbox");
    }
}
