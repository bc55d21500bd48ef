package dev.isolation.examples;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** The gate of every {@code *IT}: a Linux kernel with namespaces, and root to create them. */
public final class RealKernel {
    private RealKernel() {}

    /**
     * Skips the calling test class visibly, with the reason, where the machine cannot run it. With
     * {@code CI=true} it fails instead: a CI machine that silently skipped every kernel test would
     * report green while proving nothing.
     */
    public static void require() {
        String missing = missing();
        if (missing == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but this machine cannot run kernel tests: " + missing);
        }
        Assumptions.abort("kernel test skipped: " + missing);
    }

    private static String missing() {
        if (!Files.isDirectory(Path.of("/proc/self/ns"))) {
            return "/proc/self/ns is missing (not Linux, or no namespace support)";
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String effective = line.split("\\s+")[2];
                    return effective.equals("0") ? null : "not root (effective uid " + effective + ")";
                }
            }
            return "no Uid line in /proc/self/status";
        } catch (IOException e) {
            return "cannot read /proc/self/status: " + e.getMessage();
        }
    }
}
