package dev.isolation.cgroups.example;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.cgroups.SandboxCgroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** isolation-cgroups used alone: create, limit, measure, freeze, kill, remove. Run as root. */
public final class CgroupsAlone {
    public static void main(String[] args) throws Exception {
        CgroupHost host = CgroupHost.detect(); // v1, v2 or hybrid, from /proc/self/mountinfo
        CgroupLimits limits = CgroupLimits.builder()
                .memoryLimit(ByteSize.mb(64)) // and no swap beyond it
                .pidsLimit(16)
                .cpuQuota(0.5) // half a core
                .build();
        try (SandboxCgroup box = host.create(limits)) { // close() kills what is left and removes it
            // The child joins every hierarchy of the box, then becomes a busy loop.
            StringBuilder join = new StringBuilder();
            for (Path procs : box.procsFiles()) {
                join.append("echo $$ > ").append(procs).append("; ");
            }
            Process p = new ProcessBuilder("sh", "-c", join + "exec sh -c 'while :; do :; done'").start();
            while (!box.procsFiles().stream().allMatch(f -> contains(f, p.pid()))) {
                Thread.sleep(10);
            }
            Thread.sleep(300);

            CgroupStats s = box.stats();
            System.out.println("cpu " + s.cpuTotal().toMillis() + " ms, memory " + s.memoryCurrent().orElse(ByteSize.ZERO)
                    + ", tasks " + s.pidsCurrent().orElse(0));

            box.freeze(); // every process stops where it is
            Duration frozenAt = box.stats().cpuTotal();
            Thread.sleep(200);
            System.out.println("frozen: cpu unchanged " + box.stats().cpuTotal().equals(frozenAt));
            box.thaw();

            box.kill(); // SIGKILL to everything in it; returns once it is empty
            System.out.println("killed: exit " + p.waitFor());
            System.out.println("applied " + box.appliedLimits());
        }
        System.out.println("removed");
    }

    private static boolean contains(Path procs, long pid) {
        try {
            return Files.readAllLines(procs).contains(Long.toString(pid));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
