package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
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
}
