package dev.isolation.cgroups.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The cgroup mounts of {@code /proc/self/mountinfo} (proc(5)): {@code id parent maj:min root
 * mountpoint options [optional fields...] - fstype source superoptions}.
 */
public final class MountInfo {
    /** One cgroup or cgroup2 mount. {@code root} is the hierarchy path mounted at {@code mountPoint}. */
    public record Mount(String root, Path mountPoint, String fsType, Set<String> superOptions) {
        public boolean isV2() {
            return fsType.equals("cgroup2");
        }
    }

    private MountInfo() {
    }

    /** The cgroup and cgroup2 mounts in file order. */
    public static List<Mount> cgroupMounts(Path mountinfo) throws IOException {
        List<Mount> out = new ArrayList<>();
        for (String line : Files.readAllLines(mountinfo)) {
            Mount m = parseLine(line);
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    static Mount parseLine(String line) {
        String[] f = line.trim().split(" ");
        int sep = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                sep = i;
                break;
            }
        }
        if (f.length < 7 || sep < 0 || sep + 3 > f.length) {
            return null;
        }
        String fsType = f[sep + 1];
        if (!fsType.equals("cgroup") && !fsType.equals("cgroup2")) {
            return null;
        }
        String superOpts = sep + 3 < f.length ? f[sep + 3] : "";
        return new Mount(unescape(f[3]), Path.of(unescape(f[4])), fsType, Set.of(superOpts.split(",")));
    }

    /** Undoes the kernel's octal escapes ({@code \040} for space, etc.). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
