package dev.isolation.core;

import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Turns the common refusals of a host into an {@link UnsupportedHostException} that says how to fix it. */
final class HostDiagnostics {
    private static final int EPERM = 1;
    private static final int EACCES = 13;
    private static final int EINVAL = 22;
    private static final int ENOSPC = 28;

    private HostDiagnostics() {}

    private static final int ENOSYS = 38;
    /** The calls a root of its own is assembled with (Linux 5.12+). */
    private static final java.util.Set<String> MOUNT_API = java.util.Set.of("openat2", "open_tree", "fsopen", "fsconfig", "fsmount",
            "move_mount", "mount_setattr");

    /** The exception for a failed setup step: a host problem with its fix, or the plain setup failure. */
    static SandboxException explain(NativeCallException e, Sandbox sandbox) {
        if (e.errno() == ENOSYS && MOUNT_API.contains(e.call())) {
            return new UnsupportedHostException(e.getMessage() + ": a root of its own (minimalRoot, rootfs, bind, tmpfs) needs "
                    + "Linux 5.12+, whose openat2, open_tree, fsmount, mount_setattr and move_mount make every mount through "
                    + "descriptors; this kernel is " + System.getProperty("os.version")
                    + ". Upgrade the kernel, or run without a root of its own.", e);
        }
        boolean clone = e.call().equals("clone3") || e.call().equals("clone");
        if (clone && (e.errno() == EPERM || e.errno() == ENOSPC || e.errno() == EACCES || e.errno() == EINVAL)) {
            StringBuilder fix = new StringBuilder(e.getMessage()).append(": this host refuses to create the namespaces. ");
            if (sandbox.namespaces().contains(Sandbox.Namespace.USER)) {
                fix.append("Unprivileged user namespaces look disabled:");
                sysctl(fix, "user.max_user_namespaces", "/proc/sys/user/max_user_namespaces", "must be > 0");
                sysctl(fix, "kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone", "must be 1 (Debian)");
                sysctl(fix, "kernel.apparmor_restrict_unprivileged_userns", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
                        "must be 0, or an AppArmor profile must allow userns (Ubuntu 24.04)");
                fix.append(". ");
            } else {
                fix.append("Namespaces other than a user namespace need root (or add userNs()). ");
            }
            fix.append("Inside a container, its seccomp profile may block clone/unshare: allow them "
                    + "(e.g. docker run --security-opt seccomp=unconfined). `isolation doctor` checks this host.");
            return new UnsupportedHostException(fix.toString(), e);
        }
        return new SandboxSetupException(e);
    }

    private static void sysctl(StringBuilder out, String name, String file, String want) {
        Path p = Path.of(file);
        if (Files.exists(p)) {
            String value;
            try {
                value = Files.readAllLines(p).get(0).trim();
            } catch (IOException | IndexOutOfBoundsException e) {
                value = "unreadable";
            }
            out.append(' ').append(name).append('=').append(value).append(" (").append(want).append(");");
        }
    }
}
