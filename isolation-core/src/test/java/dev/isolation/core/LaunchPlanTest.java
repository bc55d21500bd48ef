package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.internal.launch.LaunchPlan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LaunchPlanTest {
    @Test
    void encodesHeaderRecordsAndEndInTheHelpersFormat() {
        byte[] bytes = new LaunchPlan().cloneFlags(LaunchPlan.CLONE_NEWPID).arg("sh").init().encode();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        assertThat(b.getInt()).isEqualTo(0x4c4f5349);
        assertThat(b.getInt()).isEqualTo(1);
        assertThat(b.getInt()).isEqualTo(bytes.length - 12);
        assertThat(b.getInt()).isEqualTo(1); // clone flags
        assertThat(b.getInt()).isEqualTo(8);
        assertThat(b.getLong()).isEqualTo(0x20000000L);
        assertThat(b.getInt()).isEqualTo(2); // arg
        assertThat(b.getInt()).isEqualTo(3);
        byte[] s = new byte[3];
        b.get(s);
        assertThat(s).isEqualTo("sh\0".getBytes(StandardCharsets.UTF_8));
        assertThat(b.getInt()).isEqualTo(13); // init
        assertThat(b.getInt()).isZero();
        assertThat(b.getInt()).isZero(); // end
        assertThat(b.getInt()).isZero();
        assertThat(b.hasRemaining()).isFalse();
    }

    @Test
    void rejectsNulInStrings() {
        assertThatThrownBy(() -> new LaunchPlan().arg("a\0b")).isInstanceOf(IllegalArgumentException.class);
    }
}
