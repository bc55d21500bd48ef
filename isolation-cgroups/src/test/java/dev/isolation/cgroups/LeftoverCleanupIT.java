package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.internal.CgroupFs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

@RequiresCgroups
class LeftoverCleanupIT {

    @Test
    void removesDirectoriesOfDeadPidsAndKeepsThoseOfLivePids() throws Exception {
        CgroupHost host = CgroupHost.detect();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        long livePid = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);

        List<Path> dead = new ArrayList<>();
        List<Path> live = new ArrayList<>();
        try {
            for (HostReport.Hierarchy h : host.probe().hierarchies()) {
                if (h.controllers().contains("memory") || h.version() == 2) {
                    Path d = h.ownDirectory().resolve("isolation-" + deadPid + "-1");
                    Files.createDirectory(d);
                    dead.add(d);
                    Path l = h.ownDirectory().resolve("isolation-" + livePid + "-1");
                    Files.createDirectory(l);
                    live.add(l);
                }
            }
            assertThat(dead).isNotEmpty();

            List<Path> removed = host.cleanLeftovers();

            assertThat(removed).containsAll(dead);
            assertThat(dead).allSatisfy(d -> assertThat(d).doesNotExist());
            assertThat(live).allSatisfy(d -> assertThat(d).isDirectory());
            assertThat(removed).doesNotContainAnyElementsOf(live);
        } finally {
            for (Path p : live) {
                CgroupFs.rmdir(p, Duration.ofSeconds(1));
            }
            for (Path p : dead) {
                CgroupFs.rmdir(p, Duration.ofSeconds(1));
            }
        }
    }

    @Test
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
