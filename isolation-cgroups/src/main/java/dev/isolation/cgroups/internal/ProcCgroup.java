package dev.isolation.cgroups.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** {@code /proc/self/cgroup} (cgroups(7)): {@code hierarchy-ID:controller-list:cgroup-path}. */
public final class ProcCgroup {
    /** One line; {@code controllers} is empty for the v2 line {@code 0::/path}. */
    public record Entry(int id, Set<String> controllers, String path) {
        public boolean isV2() {
            return id == 0 && controllers.isEmpty();
        }
    }

    private ProcCgroup() {
    }

    public static List<Entry> parse(Path procSelfCgroup) throws IOException {
        List<Entry> out = new ArrayList<>();
        for (String line : Files.readAllLines(procSelfCgroup)) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(":", 3);
            if (f.length != 3) {
                continue;
            }
            Set<String> ctrls = f[1].isEmpty() ? Set.of() : Set.of(f[1].split(","));
            out.add(new Entry(Integer.parseInt(f[0]), ctrls, f[2]));
        }
        return out;
    }
}
