package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.HostReport;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.core.image.OciImage;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Public API hygiene that a reader of the Javadoc or a log meets: no internal type, readable values. */
class ApiHygieneTest {
    @Test
    void sandboxSetupExceptionHasNoPublicConstructorTakingAnInternalType() {
        for (Constructor<?> c : SandboxSetupException.class.getDeclaredConstructors()) {
            boolean exposed = Modifier.isPublic(c.getModifiers()) || Modifier.isProtected(c.getModifiers());
            boolean internal = Arrays.stream(c.getParameterTypes()).anyMatch(t -> t.getName().contains(".internal."));
            assertThat(exposed && internal).as("%s", c).isFalse();
        }
    }

    @Test
    void sandboxToStringSaysWhatThePolicyIs() {
        Sandbox s = Sandbox.builder().memoryLimit(ByteSize.mib(64)).cpuTimeLimit(Duration.ofSeconds(2)).utsNs().hostname("box").build();
        assertThat(s.toString())
                .startsWith("Sandbox{namespaces=[")
                .contains("hostname=box", "cpuTimeLimit=PT2S", "cgroup=CgroupLimits{memory=64 MiB, swap=0 B", "seccomp=SeccompPolicy[")
                .doesNotContain("@");
    }

    @Test
    void valueTypesOfTheApiSayWhatTheyHoldInToString() throws NoSuchMethodException {
        // what a log line or a debugger shows: never Object's Type@hash
        for (Class<?> c : new Class<?>[] {Sandbox.class, RunLimits.class, Outcome.class, IsolatedProcess.class, SeccompPolicy.class,
                SandboxSession.Options.class, OciImage.class, CgroupLimits.class, CgroupLimits.IoThrottle.class,
                CgroupLimits.DeviceRule.class, ByteSize.class, CgroupHost.class, HostReport.class, SandboxCgroup.class}) {
            assertThat(c.getMethod("toString").getDeclaringClass()).as("%s.toString()", c.getName()).isEqualTo(c);
        }
        CgroupLimits limits = CgroupLimits.builder().memoryLimit(ByteSize.mib(64)).cpuQuota(0.5).pidsLimit(32)
                .ioReadBandwidth(8, 0, ByteSize.mib(1)).deviceAllow("c 1:3 rwm").build();
        assertThat(limits.toString()).isEqualTo("CgroupLimits{memory=64 MiB, swap=0 B, cpuQuota=50 ms per 100 ms, pids=32, "
                + "ioThrottles=[8:0 rbps=1048576], devices=[c 1:3 rwm], bestEffort=false}");
        assertThat(SandboxSession.Options.builder().build().toString()).doesNotContain("@").contains("workSize=256 MiB");
    }
}
