package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.example.CgroupsAlone;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs the README's standalone example and checks what it printed and that it left nothing behind. */
@RequiresCgroups
class CgroupsAloneIT {
    @Test
    @Timeout(300)
    void theStandaloneExampleCreatesLimitsMeasuresFreezesKillsAndRemoves() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            CgroupsAlone.main(new String[0]);
        } finally {
            System.setOut(out);
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        out.print(printed);
        assertThat(printed).containsPattern("cpu \\d+ ms, memory \\d+ \\S+, tasks [1-9]")
                .contains("frozen: cpu unchanged true")
                .contains("killed: exit 137")
                .contains("memoryLimit").contains("pidsLimit").contains("cpuQuota")
                .endsWith("removed\n");
        assertThat(HostCgroupMounts.directoriesNamed("isolation-" + ProcessHandle.current().pid() + "-")).isEmpty();
    }
}
