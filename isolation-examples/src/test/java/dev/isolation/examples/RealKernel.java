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
     * Skips the calling test class visibly, with the reason, where the machine cannot run it. Under
     * CI ({@link #underCi()}) it fails instead: a CI machine that silently skipped every kernel test
     * would report green while proving nothing.
     */
    public static void require() {
        String missing = missing();
        if (missing == null) {
            return;
        }
        skipUnless(false, "a kernel test: " + missing);
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
        skipUnless(false, "a cgroup test: " + missing);
    }

    /**
     * Whether this is a CI run: the environment variable {@code CI} is set to anything but
     * {@code false} or {@code 0} (CI services set {@code true}, {@code 1} or {@code TRUE}).
     */
    public static boolean underCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isBlank() && !ci.strip().equalsIgnoreCase("false") && !ci.strip().equals("0");
    }

    /**
     * Skips the calling test visibly, with the reason, unless {@code can}: this machine lacks what
     * the test needs. Under CI it fails the test instead.
     */
    public static void skipUnless(boolean can, String reason) {
        if (can) {
            return;
        }
        if (underCi()) {
            fail("CI=" + System.getenv("CI") + " but this machine cannot run " + reason);
        }
        System.err.println("[skip] " + reason);
        Assumptions.abort("skipped, this machine cannot run " + reason);
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
