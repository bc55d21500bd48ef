package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The README's example runs and shows what it claims. */
class QuickStartIT {
    @BeforeAll
    static void requireKernel() {
        RealKernel.require();
    }

    @Test
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
        assertThat(Integer.parseInt(lines[0])).as("the shell's pid inside").isLessThan(10);
        assertThat(lines[1]).isEqualTo("box");
        assertThat(Integer.parseInt(lines[2])).as("processes in /proc").isBetween(1, 10);
        assertThat(lines[3]).startsWith("Outcome[OK exitCode=0");
    }
}
