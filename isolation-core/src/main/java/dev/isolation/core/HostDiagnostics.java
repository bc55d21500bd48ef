package dev.isolation.core;

import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Turns the common refusals of a host into an {@link UnsupportedHostException} that says how to fix it. */
final class HostDiagnostics {
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int ENOEXEC = 8;
    private static final int ENOTDIR = 20;
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

    /**
     * A program that could not be executed, or a working directory that could not be entered,
     * said in the caller's terms: what is wrong and what to do, after the call's own message.
     * Built here from the helper's (call, errno, argument) report and what the caller asked for;
     * a failure already explained (a seccomp policy that denies execve) is returned as it is.
     *
     * @param command the command as the caller gave it
     * @param environment the program's environment, whose {@code PATH} was searched
     */
    static SandboxSetupException explainStart(SandboxSetupException e, Sandbox sandbox, List<String> command,
            Map<String, String> environment) {
        if (!(e.getCause() instanceof NativeCallException failure) || !failure.getMessage().equals(e.getMessage())
                || e.getClass() != SandboxSetupException.class || command.isEmpty()) {
            return e;
        }
        String why = switch (failure.call()) {
            case "execve" -> execFailure(failure, sandbox, command.get(0), environment.getOrDefault("PATH", Sandbox.DEFAULT_PATH));
            case "chdir" -> chdirFailure(failure, sandbox);
            default -> null;
        };
        return why == null ? e : new SandboxSetupException(failure, e.getMessage() + ": " + why);
    }

    private static String execFailure(NativeCallException e, Sandbox sandbox, String program, String path) {
        String tried = e.argument();
        boolean searched = !program.contains("/");
        String where = sandbox.rootfsDirectory().map(r -> " (the sandbox's root is " + r + ")").orElse("");
        if (searched && e.errno() == ENOENT) {
            return "no command \"" + program + "\" in any directory of the sandbox's PATH (" + path + ")" + where
                    + ". Give the program's absolute path as the sandbox sees it, or set a PATH that has it"
                    + (sandbox.hasOwnRoot() ? "; with a root of its own, only what is in that root or bound into it exists" : "");
        }
        if (searched && e.errno() == EACCES) {
            Path dir = Path.of(tried).getParent();
            String found = !sandbox.hasOwnRoot() && !exists(Path.of(tried))
                    ? "no runnable \"" + program + "\" in the sandbox's PATH (" + path + "), and the sandbox's user may not search "
                            + dir + " (a directory on the way has no x permission for it, e.g. /root, mode 0700)"
                    : "\"" + program + "\" in PATH is " + tried + ", which the sandbox's user may not execute (the file has no x"
                            + " permission for it, or a directory on the way cannot be searched by it)";
            return found + ". Give the absolute path of a program the sandbox's user may run, or set a PATH without " + dir
                    + " (env(\"PATH\", ...))";
        }
        if (e.errno() == ENOENT) {
            Optional<Boolean> there = fileExists(sandbox, tried);
            if (there.isPresent() && !there.get()) {
                String rootfs = sandbox.rootfsDirectory().map(Path::toString).orElse("");
                return sandbox.rootfsDirectory().isPresent() && isEmptyDirectory(Path.of(rootfs))
                        ? "the sandbox's root file system " + rootfs + " is empty: extract an image into it (its /bin, /lib, /usr)"
                                + ", or use the minimal root (no rootfs), which has the host's /usr"
                        : "no file " + tried + " in the sandbox" + where + ": give a path that exists there";
            }
            return (there.isPresent() ? tried + " exists there, so" : "either there is no file " + tried + " in the sandbox" + where + ", or")
                    + " what it needs to start is missing: the interpreter of its #! line or its dynamic loader"
                    + " (e.g. /lib64/ld-linux-x86-64.so.2). Bind them in, or use a statically linked program";
        }
        if (e.errno() == EACCES) {
            return "the sandbox's user may not execute " + tried + ": it is a directory or has no x permission for that user, or"
                    + " a directory on the way cannot be searched by it (mode 0700 of another owner). Make them executable by"
                    + " others (chmod o+x), or run as their owner (runAs(uid, gid))";
        }
        if (e.errno() == ENOEXEC) {
            return tried + " is neither a #! script nor an executable of this machine's architecture";
        }
        return null;
    }

    private static String chdirFailure(NativeCallException e, Sandbox sandbox) {
        String dir = e.argument();
        String inside = sandbox.hasOwnRoot() ? " inside the sandbox's own root" : "";
        if (e.errno() == ENOENT || e.errno() == ENOTDIR) {
            return "the working directory " + dir + " does not exist" + inside + ": give a directory as the sandbox sees it"
                    + (sandbox.hasOwnRoot() ? " (an absolute path inside its root, e.g. /tmp)" : "");
        }
        if (e.errno() == EACCES) {
            return "the sandbox's user may not enter " + dir + inside + ": it, or a directory on the way, has no x permission for"
                    + " that user (e.g. mode 0700 of another owner). Make it searchable by others (chmod o+x), or run as its owner"
                    + " (runAs(uid, gid))";
        }
        return null;
    }

    /** Whether {@code inside} exists in the sandbox, where the host can tell: its own file system, or a rootfs's. */
    private static Optional<Boolean> fileExists(Sandbox sandbox, String inside) {
        try {
            if (!sandbox.hasOwnRoot()) {
                return Optional.of(exists(Path.of(inside)));
            }
            if (sandbox.rootfsDirectory().isEmpty() && !sandbox.hasOwnMounts() && inside.startsWith("/") && !inside.equals("/")) {
                // the minimal root: the host's system directories, its own /dev, /proc, /tmp and a few /etc files
                String top = "/" + Path.of(inside).getName(0);
                if (FilesystemPlan.SYSTEM_DIRS.contains(top)) {
                    return existsBeneath(Path.of("/"), Path.of(inside.substring(1)));
                }
                return List.of("/dev", "/proc", "/tmp", "/etc").contains(top) ? Optional.empty() : Optional.of(false);
            }
            if (sandbox.rootfsDirectory().isPresent() && inside.startsWith("/")) {
                String first = Path.of(inside).getName(0).toString();
                if (List.of("dev", "proc", "tmp").contains(first)) {
                    return Optional.empty(); // the sandbox's own, not the rootfs's
                }
                return existsBeneath(sandbox.rootfsDirectory().get(), Path.of(inside.substring(1)));
            }
        } catch (IllegalArgumentException e) { // an InvalidPathException
            return Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * Whether {@code relative} exists under {@code root}, walked one name at a time without
     * following a link: a rootfs holds what its owner put there, and a link in it may point
     * anywhere on the host. Empty when a link is on the way (the sandbox resolves it in its root).
     */
    private static Optional<Boolean> existsBeneath(Path root, Path relative) {
        Path p = root;
        for (int i = 0; i < relative.getNameCount(); i++) {
            String name = relative.getName(i).toString();
            if (name.equals("..")) {
                return Optional.empty();
            }
            p = p.resolve(name);
            if (!exists(p)) {
                return Optional.of(false);
            }
            if (Files.isSymbolicLink(p)) {
                return Optional.empty();
            }
        }
        return Optional.of(true);
    }

    private static boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    private static boolean isEmptyDirectory(Path dir) {
        try (java.util.stream.Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
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
