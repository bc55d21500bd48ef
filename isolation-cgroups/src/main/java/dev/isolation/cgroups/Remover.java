package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupFs;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one kill-and-remove algorithm of {@link Teardown}, used by {@link SandboxCgroup#kill()},
 * {@link SandboxCgroup#close()} and {@link CgroupHost#cleanLeftovers()}; the native monitor runs
 * the same steps from the same data when the JVM is gone ({@code remove_orphan_cgroups}).
 */
final class Remover {
    private Remover() {
    }

    /** Kills every process listed in the teardown's procs files; returns once none is left. */
    static void kill(Teardown t, Duration patience) throws CgroupException {
        run(t, patience, false);
    }

    /** Kills, then removes every directory in order; returns once all are gone. */
    static void killAndRemove(Teardown t, Duration patience) throws CgroupException {
        run(t, patience, true);
    }

    private static void run(Teardown t, Duration patience, boolean remove) throws CgroupException {
        long deadline = System.nanoTime() + patience.toNanos();
        long self = ProcessHandle.current().pid();
        while (true) {
            // A frozen task acts on SIGKILL only once thawed: thaw every freezer, every round.
            thaw(t);
            Set<Long> pids = new LinkedHashSet<>();
            for (Path procs : t.procsFiles()) {
                pids.addAll(CgroupFs.pids(procs));
            }
            if (pids.contains(self)) {
                throw new CgroupException("refusing to kill the cgroup of " + t.procsFiles() + ": it contains this JVM (pid "
                        + self + ")");
            }
            List<Path> left = new ArrayList<>();
            if (!pids.isEmpty()) {
                if (t.killFile().isPresent()) {
                    CgroupFs.tryWrite(t.killFile().get(), "1");
                } else {
                    // Freeze so nothing forks while we look, SIGKILL each pid, thaw so the kills take effect.
                    boolean froze = !t.freezers().isEmpty()
                            && CgroupFs.tryWrite(t.freezers().get(0).file(), t.freezers().get(0).freezeValue());
                    for (long pid : pids) {
                        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                    }
                    if (froze) {
                        thaw(t);
                    }
                }
            } else if (!remove) {
                return;
            } else {
                for (Path dir : t.directories()) {
                    if (!CgroupFs.tryRmdir(dir)) {
                        left.add(dir);
                    }
                }
                if (left.isEmpty()) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new CgroupException(!pids.isEmpty()
                        ? "processes " + pids + " still in " + t.procsFiles() + " after " + patience.toSeconds() + " s"
                        : "rmdir(" + left + "): EBUSY (Device or resource busy) for " + patience.toSeconds() + " s");
            }
            CgroupFs.sleep(2);
        }
    }

    private static void thaw(Teardown t) {
        for (Freezer f : t.freezers()) {
            CgroupFs.tryWrite(f.file(), f.thawValue());
        }
    }
}
