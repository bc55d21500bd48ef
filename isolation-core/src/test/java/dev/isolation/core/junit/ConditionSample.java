package dev.isolation.core.junit;

import dev.isolation.cgroups.CgroupController;
import org.junit.jupiter.api.Test;

/** Run by {@link JunitSupportIT} through the launcher as nobody: which conditions hold there, and their reasons. */
class ConditionSample {
    @Test
    @EnabledIfSandboxAvailable
    void sandbox() {}

    @Test
    @EnabledIfUserNamespacesAvailable
    void userNamespaces() {}

    @Test
    @EnabledIfSeccompAvailable
    void seccomp() {}

    @Test
    @EnabledIfCgroupsAvailable(CgroupController.MEMORY)
    void cgroups() {}
}
