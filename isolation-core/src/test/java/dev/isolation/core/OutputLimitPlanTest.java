package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.CapturedBytes;
import dev.isolation.core.internal.launch.ExitReport;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.launch.Tag;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The output limit's plan record, kill reason, verdict and storage sizes, without a kernel. */
class OutputLimitPlanTest {
    @Test
    void theRelayRecordCarriesDescriptorSharedDescriptorsAndLimit() {
        byte[] bytes = new LaunchPlan().outputRelay(1, true, 1 << 20).encode();
        assertThat(PlanCodec.decode(bytes).steps()).containsExactly(new Step.OutputRelay(1, true, 1 << 20));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        b.position(16); // magic, version, message kind, length
        assertThat(b.getInt()).isEqualTo(Tag.OUTPUT_RELAY.number);
        assertThat(b.getInt()).isEqualTo(16);
        assertThat(b.getInt()).as("fd").isEqualTo(1);
        assertThat(b.getInt()).as("stderr on the same pipe").isEqualTo(1 << 2);
        assertThat(b.getLong()).isEqualTo(1 << 20);
        assertThat(b.getInt()).as("end").isZero();
    }

    @Test
    void aRelayOfAnythingButStdoutOrStderrIsRefused() {
        assertThatThrownBy(() -> new LaunchPlan().outputRelay(0, false, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LaunchPlan().outputRelay(2, true, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LaunchPlan().outputRelay(1, false, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void everyKillReasonHasTheNumberTheHelperGivesIt() throws Exception {
        Map<String, Integer> helper = new TreeMap<>();
        String c = Files.readString(Path.of("src/main/c/helper.h"));
        String reasons = c.substring(c.indexOf("enum kill_reason {"), c.indexOf("};", c.indexOf("enum kill_reason {")));
        for (Matcher m = Pattern.compile("\\b(KILLED_[A-Z_]+) = (\\d+)").matcher(reasons); m.find(); ) {
            if (!m.group(1).equals("KILLED_NOT")) {
                helper.put(m.group(1), Integer.parseInt(m.group(2)));
            }
        }
        Map<String, Integer> outcome = new TreeMap<>();
        for (Field f : Outcome.class.getDeclaredFields()) {
            if (f.getName().startsWith("KILLED_") && f.getType() == int.class) {
                f.setAccessible(true);
                outcome.put(f.getName(), f.getInt(null));
            }
        }
        assertThat(outcome).containsEntry("KILLED_OUTPUT_LIMIT", 5).isEqualTo(helper);
    }

    @Test
    void aStreamTheMonitorCutAtTheLimitIsOutputLimit() {
        ExitReport killed = new ExitReport(9, Outcome.KILLED_OUTPUT_LIMIT, 1_000_000L, 10, 0, 1024, 1, 1, -1);
        Outcome o = new Outcome(killed, Optional.empty(), List.of(), List.of(), false, false, false, Optional.empty(),
                CapturedBytes.EMPTY, CapturedBytes.EMPTY);
        assertThat(o.status()).isEqualTo(Outcome.Status.OUTPUT_LIMIT);
        assertThat(o.killed()).isTrue();
        assertThat(o.message()).isEqualTo("output limit exceeded");
    }

    @Test
    void theOutputLimitCapsATmpfsThatIsLargerNeverBelowOnePage() {
        assertThat(FilesystemPlan.capped(ByteSize.mb(64), Optional.of(ByteSize.mb(1)))).isEqualTo(ByteSize.mb(1));
        assertThat(FilesystemPlan.capped(ByteSize.kb(8), Optional.of(ByteSize.mb(1)))).isEqualTo(ByteSize.kb(8));
        assertThat(FilesystemPlan.capped(ByteSize.mb(64), Optional.empty())).isEqualTo(ByteSize.mb(64));
        assertThat(FilesystemPlan.capped(ByteSize.mb(64), Optional.of(ByteSize.ZERO)))
                .as("size=0 would be an unlimited tmpfs").isEqualTo(ByteSize.kb(4));
    }
}
