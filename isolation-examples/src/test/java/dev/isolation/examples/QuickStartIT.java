package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's example runs and shows what it claims. */
class QuickStartIT {
    @BeforeAll
    static void requireKernel() {
        RealKernel.require();
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the example reads to the end unbounded
    void shellSeesHostnameBoxAndOnlyTheSandboxsProcesses() throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(new String[0]);
        } finally {
            System.setOut(original);
        }
        String[] lines = captured.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(4);
        assertThat(lines[0]).as("the shell's pid inside: init's child").isEqualTo("2");
        assertThat(lines[1]).isEqualTo("box");
        // The README's 4: init, sh, ls, grep. ls may read /proc before the shell has started grep (measured: 3 in
        // about 1 run of 100), so 3 is the other exact answer; a host process or a helper seen inside would make 5 or more.
        assertThat(lines[2]).as("processes in /proc").isIn("4", "3");
        assertThat(lines[3]).startsWith("Outcome[OK exitCode=0");
    }
}
