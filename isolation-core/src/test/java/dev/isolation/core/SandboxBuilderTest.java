package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.internal.linux.NativeCallException;
import org.junit.jupiter.api.Test;

class SandboxBuilderTest {
    @Test
    void buildsAnImmutablePolicyAndVariantsThroughToBuilder() {
        Sandbox base = Sandbox.builder().pidNs().utsNs().hostname("box").build();
        Sandbox variant = base.toBuilder().netNs().build();
        assertThat(base.namespaces()).containsExactlyInAnyOrder(Sandbox.Namespace.PID, Sandbox.Namespace.UTS);
        assertThat(variant.namespaces()).contains(Sandbox.Namespace.NETWORK);
        assertThat(variant.hostname()).hasValue("box");
        assertThatThrownBy(() -> base.namespaces().add(Sandbox.Namespace.IPC)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void rejectsInvalidHostnamesNamingThem() {
        for (String bad : new String[] {"", "-x", "a b", "x".repeat(65), "under_score", "dot."}) {
            assertThatThrownBy(() -> Sandbox.builder().hostname(bad))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"" + bad + "\"");
        }
        assertThat(Sandbox.builder().utsNs().hostname("a-1.example").build().hostname()).hasValue("a-1.example");
    }

    @Test
    void rejectsAHostnameWithoutUtsNamespace() {
        assertThatThrownBy(() -> Sandbox.builder().hostname("box").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("utsNs()");
    }

    @Test
    void nativeFailuresReadLikeTheSystemCall() {
        assertThat(new NativeCallException("execve", "/nonexistent", 2).getMessage())
                .isEqualTo("execve(\"/nonexistent\"): ENOENT (No such file or directory)");
        assertThat(new NativeCallException("mount", "\"proc\" -> \"/proc\"", 1).getMessage())
                .isEqualTo("mount(\"proc\" -> \"/proc\"): EPERM (Operation not permitted)");
    }

    @Test
    void byteSizesParseAndPrintInBinaryUnits() {
        assertThat(ByteSize.parse("200M").bytes()).isEqualTo(200L << 20);
        assertThat(ByteSize.parse("64k")).isEqualTo(ByteSize.kb(64));
        assertThat(ByteSize.parse("1GiB")).isEqualTo(ByteSize.gb(1));
        assertThat(ByteSize.mb(3).toString()).isEqualTo("3 MiB");
        assertThatThrownBy(() -> ByteSize.parse("lots")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lots");
    }
}
