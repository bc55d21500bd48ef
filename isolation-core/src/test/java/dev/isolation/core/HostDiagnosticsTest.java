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
}
