package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which clone path the helper takes, read from the system calls it makes (strace of a JVM of the
 * test's own): clone3 with {@code CLONE_PIDFD} (the monitor waits on a pidfd), and on a pure
 * cgroup v2 host of Linux 5.7+ {@code CLONE_INTO_CGROUP} (the first process is born in its cgroup,
 * and never writes itself into one); on v1 and hybrid hosts the child joins its cgroups by writing
 * to their {@code cgroup.procs}. Runs on this host and in the v1 and v2 guests.
 */
@KernelTest
class ClonePathCgroupIT {
    @Test
    @Timeout(600)
    void theSandboxIsClonedWithAPidfdAndOnCgroupV2IntoItsCgroup(@TempDir Path dir) throws Exception {
        Skip.unless(Files.isExecutable(Path.of("/usr/bin/strace")), "strace (apt-get install strace)");
        Path trace = dir.resolve("trace");
        Process jvm = new ProcessBuilder(
                JavaCommand.after(List.of("/usr/bin/strace", "-f", "-qq", "-s", "512", "-e", "trace=clone,clone3,open,openat,write", "-e", "signal=none", "-o", trace.toString()),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Holder.class.getName())).redirectErrorStream(true).start();
        java.util.concurrent.Future<String> out = Bounded.drain(jvm.getInputStream());
        try {
            assertThat(jvm.waitFor(540, TimeUnit.SECONDS)).as("the traced JVM ended").isTrue();
        } finally {
            jvm.destroyForcibly();
        }
        assertThat(Bounded.get(out, "its output")).contains("done OK");
        List<String> lines = Files.readAllLines(trace);

        // the sandbox's clone: the one that makes a pid namespace
        List<Integer> clones = new java.util.ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("clone3(") && lines.get(i).contains("CLONE_NEWPID")) {
                clones.add(i);
            }
        }
        assertThat(clones).as("clone3 calls with CLONE_NEWPID").hasSize(1);
        String clone = lines.get(clones.get(0));
        assertThat(clone).contains("CLONE_PIDFD");
        String pid = result(lines, clones.get(0));
        // what the child itself opens for writing among cgroup files: its cgroup.procs, or nothing
        // (open with musl's open() on x86_64, openat with glibc's and on aarch64)
        List<String> joins = lines.stream().filter(l -> l.startsWith(pid + " ") && (l.contains(" open(") || l.contains("openat("))
                && (l.contains("/cgroup.procs\"") || l.contains("/tasks\"")) && l.contains("O_WRONLY")).toList();
        boolean v2 = CgroupHost.detect().layout() == CgroupLayout.UNIFIED;
        if (v2 && KernelVersion.atLeast(5, 7)) {
            assertThat(clone).as("the clone on a cgroup v2 host of Linux 5.7+").contains("CLONE_INTO_CGROUP").containsPattern("cgroup=\\d+");
            assertThat(joins).as("cgroup.procs written by the child, which was born in its cgroup").isEmpty();
        } else {
            assertThat(clone).doesNotContain("CLONE_INTO_CGROUP");
            assertThat(joins).as("the child joins each of its cgroups").isNotEmpty()
                    .allSatisfy(l -> assertThat(l).contains("/isolation-"));
        }
    }

    /**
     * What the call on line {@code i} returned: on that line, or, where strace shows it {@code
     * <unfinished ...>} (another thread's call came between), on the caller's {@code resumed} line.
     */
    private static String result(List<String> lines, int i) {
        String caller = lines.get(i).substring(0, lines.get(i).indexOf(' '));
        Pattern returned = Pattern.compile("\\) += (\\d+)$");
        Pattern resumed = Pattern.compile("^" + caller + " +<\\.\\.\\. clone3 resumed>");
        for (int j = i; j < lines.size(); j++) {
            String l = lines.get(j);
            if (j == i || resumed.matcher(l).find()) {
                Matcher m = returned.matcher(l);
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        throw new AssertionError("no result of " + lines.get(i));
    }

    /** The traced JVM: one sandbox with a pid namespace and a limit, run to its end. */
    static final class Holder {
        public static void main(String[] args) {
            Outcome o = Sandbox.builder().pidNs().pidsLimit(32).build().run("true");
            System.out.println("done " + o.status() + " " + o.message());
        }
    }
}
