package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.internal.CgroupFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a JVM that died without closing its sandboxes leaves behind: its cgroups, still holding
 * processes, perhaps frozen (a paused sandbox). The next JVM removes them and kills what is inside;
 * the cgroups of a live JVM, and their processes, stay.
 */
@RequiresCgroups
class LeftoverCleanupIT {

    @Test
    @Timeout(60)
    void removesLeftoversOfDeadPidsKillingTheirProcessesAndKeepsThoseOfLivePids() throws Exception {
        CgroupHost host = CgroupHost.detect();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        long livePid = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);

        List<Path> dead = new ArrayList<>();
        List<Path> live = new ArrayList<>();
        // one process for each JVM's sandbox, in every hierarchy, as the library places a sandbox's processes
        Process inDead = new ProcessBuilder("sleep", "600").start();
        Process inLive = new ProcessBuilder("sleep", "600").start();
        try {
            for (HostReport.Hierarchy h : host.probe().hierarchies()) {
                if (h.controllers().contains("name=systemd")) {
                    continue; // not ours to rearrange: systemd's own tracking
                }
                Path d = Files.createDirectory(h.ownDirectory().resolve("isolation-" + deadPid + "-1"));
                dead.add(d);
                join(d, inDead);
                Path l = Files.createDirectory(h.ownDirectory().resolve("isolation-" + livePid + "-1"));
                live.add(l);
                join(l, inLive);
            }
            assertThat(dead).isNotEmpty();
            // the dead JVM's sandbox was paused: frozen as the library freezes, by cgroup.freeze (v2) where there is one,
            // else by the v1 freezer
            boolean frozen = false;
            for (Path d : dead) {
                if (Files.exists(d.resolve("cgroup.freeze"))) {
                    CgroupFs.write(d.resolve("cgroup.freeze"), "1", null);
                    awaitContent(d.resolve("cgroup.events"), "frozen 1");
                    frozen = true;
                }
            }
            for (Path d : dead) {
                if (!frozen && Files.exists(d.resolve("freezer.state"))) {
                    CgroupFs.write(d.resolve("freezer.state"), "FROZEN", null);
                    awaitContent(d.resolve("freezer.state"), "FROZEN");
                    frozen = true;
                }
            }
            assertThat(frozen).as("a freezer in one of %s", dead).isTrue();

            List<Path> removed = host.cleanLeftovers();

            assertThat(removed).containsAll(dead);
            assertThat(dead).allSatisfy(d -> assertThat(d).doesNotExist());
            assertThat(inDead.waitFor(10, TimeUnit.SECONDS)).as("the dead JVM's process was killed").isTrue();
            assertThat(inDead.exitValue()).isEqualTo(128 + 9);
            assertThat(live).allSatisfy(d -> assertThat(d).isDirectory());
            assertThat(removed).doesNotContainAnyElementsOf(live);
            assertThat(inLive.isAlive()).as("the live JVM's process").isTrue();
            for (Path l : live) {
                assertThat(CgroupFs.pids(l.resolve("cgroup.procs"))).as(l.toString()).containsExactly(inLive.pid());
            }
        } finally {
            inDead.destroyForcibly();
            inLive.destroyForcibly();
            inDead.waitFor(10, TimeUnit.SECONDS);
            inLive.waitFor(10, TimeUnit.SECONDS);
            for (Path d : dead) {
                if (Files.exists(d.resolve("freezer.state"))) {
                    CgroupFs.write(d.resolve("freezer.state"), "THAWED", null);
                }
            }
            for (Path p : live) {
                CgroupFs.rmdir(p, Duration.ofSeconds(5));
            }
            for (Path p : dead) {
                CgroupFs.rmdir(p, Duration.ofSeconds(5));
            }
        }
    }

    private static void join(Path cgroup, Process p) throws IOException {
        boolean v1 = !Files.exists(cgroup.resolve("cgroup.controllers"));
        for (String f : new String[] {"cpuset.cpus", "cpuset.mems"}) { // a new v1 cpuset has neither: copy the parent's
            if (v1 && Files.exists(cgroup.resolve(f)) && Files.readString(cgroup.resolve(f)).isBlank()) {
                CgroupFs.write(cgroup.resolve(f), Files.readString(cgroup.getParent().resolve(f)).strip(), null);
            }
        }
        CgroupFs.write(cgroup.resolve("cgroup.procs"), Long.toString(p.pid()), null);
    }

    private static void awaitContent(Path file, String content) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(file).contains(content)) {
            assertThat(System.nanoTime()).as("%s to contain %s", file, content).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    @Timeout(60)
    void removesTheCgroupsNestedInALeftoverFirst() throws Exception {
        CgroupHost host = CgroupHost.detect();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        List<Path> outer = new ArrayList<>();
        List<Path> inner = new ArrayList<>();
        try {
            for (HostReport.Hierarchy h : host.probe().hierarchies()) {
                if (h.controllers().contains("memory") || h.version() == 2) {
                    // a dead JVM's persistent sandbox: its cgroup, the keeper's leaf and a run's cgroup in it
                    Path d = h.ownDirectory().resolve("isolation-" + deadPid + "-1");
                    Files.createDirectory(d);
                    outer.add(d);
                    for (String name : List.of("isolation-" + deadPid + "-2", "isolation-" + deadPid + "-3")) {
                        inner.add(Files.createDirectory(d.resolve(name)));
                    }
                }
            }
            assertThat(outer).isNotEmpty();

            List<Path> removed = host.cleanLeftovers();

            assertThat(removed).containsAll(outer);
            assertThat(inner).allSatisfy(d -> assertThat(d).doesNotExist());
            assertThat(outer).allSatisfy(d -> assertThat(d).doesNotExist());
        } finally {
            for (Path p : inner) {
                CgroupFs.rmdir(p, Duration.ofSeconds(1));
            }
            for (Path p : outer) {
                CgroupFs.rmdir(p, Duration.ofSeconds(1));
            }
        }
    }
}
