package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.internal.launch.LaunchPlan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    void everyTagHasTheNumberTheHelperGivesIt() throws Exception {
        Map<String, Integer> helper = new TreeMap<>();
        Matcher m = Pattern.compile("\\b(TAG_[A-Z_]+) = (\\d+),").matcher(Files.readString(Path.of("src/main/c/isolation-helper.c")));
        while (m.find()) {
            helper.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        Map<String, Integer> plan = new TreeMap<>();
        for (Field f : LaunchPlan.class.getDeclaredFields()) {
            if (f.getName().startsWith("TAG_") && f.getType() == int.class) {
                f.setAccessible(true);
                plan.put(f.getName(), f.getInt(null));
            }
        }
        assertThat(plan).isEqualTo(helper);
        assertThat(new HashSet<>(plan.values())).as("distinct numbers").hasSameSizeAs(plan.values());
    }

    @Test
    void rejectsNulInStrings() {
        assertThatThrownBy(() -> new LaunchPlan().arg("a\0b")).isInstanceOf(IllegalArgumentException.class);
    }
}
