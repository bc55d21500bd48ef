package dev.isolation.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Host checks for {@code isolation doctor} beyond the cgroup probe: the kernel release, whether
 * user namespaces can be created, whether seccomp filters can be built, whether the cgroup
 * filesystems are writable. Each finding says what was read, what it means and how to fix the
 * host. Reads files only; thread-safe.
 *
 * <p>Plain Java and free of the tool, so that the core can take these checks over.
 */
final class HostChecks {
    /** How a finding bears on sandboxes. */
    enum Verdict {
        /** As sandboxes need it. */
        OK,
        /** Something works only in part (e.g. only for root). */
        WARN,
        /** Sandboxes that need this will fail. */
        PROBLEM,
        /** Neither good nor bad: context. */
        INFO
    }

    /**
     * One finding.
     *
     * @param check what was looked at, e.g. {@code user.max_user_namespaces}
     * @param verdict how it bears on sandboxes
     * @param detail what was found and what it means
     * @param fix how to fix the host, when there is something to fix
     */
    record Finding(String check, Verdict verdict, String detail, Optional<String> fix) {
        static Finding of(String check, Verdict verdict, String detail) {
            return new Finding(check, verdict, detail, Optional.empty());
        }

        static Finding of(String check, Verdict verdict, String detail, String fix) {
            return new Finding(check, verdict, detail, Optional.of(fix));
        }
    }

    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

    private final Path proc;

    /** Checks of this host, reading {@code /proc}. */
    HostChecks() {
        this(Path.of("/proc"));
    }

    /** Checks reading {@code proc} instead of {@code /proc} (a fixture directory in tests). */
    HostChecks(Path proc) {
        this.proc = proc;
    }

    /** {@code uname -r}, from {@code /proc/sys/kernel/osrelease}. */
    Finding kernelRelease() {
        Path file = proc.resolve("sys/kernel/osrelease");
        return read(file)
                .map(r -> Finding.of("kernel", Verdict.INFO, r))
                .orElseGet(() -> Finding.of("kernel", Verdict.WARN, "cannot read " + file));
    }

    /**
     * The three knobs that decide whether a user namespace can be created: the count limit (for
     * everyone, root included), Debian's and older Ubuntu's switch for unprivileged users, and
     * Ubuntu 23.10+'s AppArmor restriction.
     */
    List<Finding> userNamespaces() {
        List<Finding> out = new ArrayList<>();
        Path max = proc.resolve("sys/user/max_user_namespaces");
        Optional<String> maxValue = read(max);
        if (maxValue.isEmpty()) {
            out.add(Finding.of("user.max_user_namespaces", Verdict.PROBLEM, max + " is missing: this kernel seems to be"
                    + " built without user namespaces", "use a kernel with CONFIG_USER_NS=y"));
        } else if (maxValue.get().equals("0")) {
            out.add(Finding.of("user.max_user_namespaces", Verdict.PROBLEM, "0: nobody, not even root, may create a user"
                    + " namespace (--user fails)", "sysctl -w user.max_user_namespaces=15000, and persist it in /etc/sysctl.d/"));
        } else {
            out.add(Finding.of("user.max_user_namespaces", Verdict.OK, maxValue.get() + ": user namespaces may be created"));
        }

        Path clone = proc.resolve("sys/kernel/unprivileged_userns_clone");
        Optional<String> cloneValue = read(clone);
        if (cloneValue.isEmpty()) {
            out.add(Finding.of("kernel.unprivileged_userns_clone", Verdict.INFO, "not present (a Debian/Ubuntu patch):"
                    + " no extra switch for unprivileged users"));
        } else if (cloneValue.get().equals("0")) {
            out.add(Finding.of("kernel.unprivileged_userns_clone", Verdict.WARN, "0: only root (CAP_SYS_ADMIN) may create"
                    + " user namespaces; --user fails for other users",
                    "sysctl -w kernel.unprivileged_userns_clone=1, and persist it in /etc/sysctl.d/"));
        } else {
            out.add(Finding.of("kernel.unprivileged_userns_clone", Verdict.OK, cloneValue.get()
                    + ": unprivileged users may create user namespaces"));
        }

        Path apparmor = proc.resolve("sys/kernel/apparmor_restrict_unprivileged_userns");
        Optional<String> apparmorValue = read(apparmor);
        if (apparmorValue.isEmpty()) {
            out.add(Finding.of("kernel.apparmor_restrict_unprivileged_userns", Verdict.INFO, "not present (Ubuntu 23.10+"
                    + " only): AppArmor does not restrict user namespaces"));
        } else if (!apparmorValue.get().equals("0")) {
            out.add(Finding.of("kernel.apparmor_restrict_unprivileged_userns", Verdict.WARN, apparmorValue.get()
                    + ": an unprivileged process without an AppArmor profile allowing 'userns' gets a user namespace"
                    + " without capabilities (setting up --user fails with EPERM); root is not affected",
                    "give java an AppArmor profile with the 'userns,' rule, or sysctl -w"
                    + " kernel.apparmor_restrict_unprivileged_userns=0"));
        } else {
            out.add(Finding.of("kernel.apparmor_restrict_unprivileged_userns", Verdict.OK, "0: AppArmor does not restrict"
                    + " user namespaces"));
        }
        return out;
    }

    /** One verdict for all three knobs, as this process (root or not) will meet them. */
    static Finding userNamespaceSummary(List<Finding> userNamespaceFindings, boolean root) {
        boolean none = userNamespaceFindings.stream()
                .anyMatch(f -> f.check().equals("user.max_user_namespaces") && f.verdict() == Verdict.PROBLEM);
        boolean unprivilegedLimited = userNamespaceFindings.stream().anyMatch(f -> f.verdict() == Verdict.WARN);
        if (none) {
            return Finding.of("user namespaces", Verdict.PROBLEM, "disabled for everyone");
        }
        if (unprivilegedLimited) {
            return Finding.of("user namespaces", root ? Verdict.OK : Verdict.PROBLEM, "enabled for root, restricted for"
                    + " unprivileged users" + (root ? " (this process is root)" : " (this process is not root)"));
        }
        return Finding.of("user namespaces", Verdict.OK, "enabled, unprivileged ones too");
    }

    /**
     * Whether sandboxes can have a seccomp filter (every run has one unless {@code --seccomp none}):
     * the kernel must offer the filter's kill-process action, listed in
     * {@code /proc/sys/kernel/seccomp/actions_avail} (Linux 4.14+ with CONFIG_SECCOMP_FILTER), and
     * libseccomp, which compiles the filters, must load.
     *
     * @param libseccompLoads whether {@code libseccomp.so.2} loads into this JVM
     */
    Finding seccomp(boolean libseccompLoads) {
        Path actionsFile = proc.resolve("sys/kernel/seccomp/actions_avail");
        Optional<String> actions = read(actionsFile);
        String noneHint = "; until then only --seccomp none runs";
        if (actions.isEmpty()) {
            return Finding.of("seccomp", Verdict.PROBLEM, actionsFile + " is missing: this kernel has no seccomp filters or"
                    + " is older than 4.14" + noneHint, "use Linux 4.14 or later built with CONFIG_SECCOMP_FILTER=y");
        }
        if (!Arrays.asList(actions.get().split("\\s+")).contains("kill_process")) {
            return Finding.of("seccomp", Verdict.PROBLEM, "the kernel lacks the kill_process action (it offers: "
                    + actions.get() + ")" + noneHint, "use Linux 4.14 or later");
        }
        if (!libseccompLoads) {
            return Finding.of("seccomp", Verdict.PROBLEM, "libseccomp.so.2 cannot be loaded, so no filter can be built"
                    + noneHint, "install libseccomp 2.5 or later (its user notifications name a denied call): apt-get install libseccomp2, or dnf install libseccomp");
        }
        return Finding.of("seccomp", Verdict.OK, "filters available: libseccomp.so.2 loads, the kernel offers "
                + actions.get());
    }

    /** Whether this process's effective uid is 0, from the {@code Uid:} line of /proc/self/status. */
    boolean effectiveRoot() {
        try {
            for (String line : Files.readAllLines(proc.resolve("self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    String[] ids = line.split("\\s+");
                    return ids.length > 2 && ids[2].equals("0");
                }
            }
        } catch (IOException e) {
            // not root as far as we can tell
        }
        return false;
    }

    /**
     * Whether {@code /sys/fs/cgroup} and the cgroup filesystems under it are mounted read-only, as
     * in a container without a writable cgroup mount: then no sandbox can get a cgroup.
     */
    Finding cgroupMounts() {
        Path mountinfo = proc.resolve("self/mountinfo");
        List<String> lines;
        try {
            lines = Files.readAllLines(mountinfo, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return Finding.of("cgroup mounts", Verdict.WARN, "cannot read " + mountinfo + ": " + e.getMessage());
        }
        List<String> readOnly = new ArrayList<>();
        int seen = 0;
        for (String line : lines) {
            Optional<Mount> m = Mount.parse(line);
            if (m.isEmpty() || !m.get().mountPoint().startsWith(CGROUP_ROOT)) {
                continue;
            }
            seen++;
            if (m.get().readOnly()) {
                readOnly.add(m.get().mountPoint() + " (" + m.get().fsType() + ")");
            }
        }
        if (seen == 0) {
            return Finding.of("cgroup mounts", Verdict.PROBLEM, "nothing is mounted at or under " + CGROUP_ROOT,
                    "mount cgroup2: mount -t cgroup2 none " + CGROUP_ROOT);
        }
        if (!readOnly.isEmpty()) {
            return Finding.of("cgroup mounts", Verdict.PROBLEM, "mounted read-only: " + String.join(", ", readOnly)
                    + "; sandboxes cannot get a cgroup (limits, --cgroup)",
                    "in a container, run it with a writable cgroup mount (docker/podman: --cgroupns=private with"
                    + " --privileged, or a delegated cgroup); on a host, mount -o remount,rw " + CGROUP_ROOT);
        }
        return Finding.of("cgroup mounts", Verdict.OK, "all " + seen + " mounts at or under " + CGROUP_ROOT + " are read-write");
    }

    /** One line of /proc/self/mountinfo, the fields these checks need. */
    record Mount(Path mountPoint, Set<String> mountOptions, String fsType, Set<String> superOptions) {
        boolean readOnly() {
            return mountOptions.contains("ro") || superOptions.contains("ro");
        }

        /**
         * {@code 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue}:
         * mount point is field 5, per-mount options field 6; after the optional fields and
         * {@code -} come the fs type, the source and the superblock options.
         */
        static Optional<Mount> parse(String line) {
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (f.length < 7 || dash < 6 || f.length < dash + 4) {
                return Optional.empty();
            }
            return Optional.of(new Mount(Path.of(unescape(f[4])), options(f[5]), f[dash + 1], options(f[dash + 3])));
        }

        private static Set<String> options(String field) {
            return Set.copyOf(Arrays.asList(field.split(",")));
        }

        /** The kernel writes space, tab, newline and backslash as {@code \040} and so on. */
        static String unescape(String s) {
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

    /**
     * The whole file in one read: an integer sysctl answers only a read at offset 0, and
     * {@code Files.readString} reads a file whose size is 0 (all of /proc) one byte first, so it
     * turns {@code 96363} into {@code 9}.
     */
    private static Optional<String> read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) > 0; ) {
                content.write(buffer, 0, n);
            }
            return Optional.of(content.toString(StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            // missing (an older or unpatched kernel) or unreadable: the caller explains which knob
            return Optional.empty();
        }
    }
}
