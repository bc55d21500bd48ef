package dev.isolation.examples;

import static org.junit.jupiter.api.Assertions.fail;

import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.HostReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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

    /**
     * As {@link #require()}, and also that sandboxes can use each of {@code controllers} here (per
     * {@link CgroupHost#probe()}), skipping with the probe's reason and fix where not.
     */
    public static void requireCgroups(CgroupController... controllers) {
        require();
        String missing;
        try {
            HostReport report = CgroupHost.detect().probe();
            missing = Arrays.stream(controllers).map(report::controller).filter(c -> !c.usable())
                    .map(c -> c.controller() + ": " + c.detail()).reduce((a, b) -> a + "; " + b).orElse(null);
        } catch (IOException e) {
            missing = "no cgroups: " + e.getMessage();
        }
        if (missing == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but this machine cannot run cgroup tests: " + missing);
        }
        Assumptions.abort("cgroup test skipped: " + missing);
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
