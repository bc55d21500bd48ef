package dev.isolation.core;

import static dev.isolation.core.internal.launch.LaunchPlan.MS_BIND;
import static dev.isolation.core.internal.launch.LaunchPlan.MS_NODEV;
import static dev.isolation.core.internal.launch.LaunchPlan.MS_NOEXEC;
import static dev.isolation.core.internal.launch.LaunchPlan.MS_NOSUID;
import static dev.isolation.core.internal.launch.LaunchPlan.MS_RDONLY;
import static dev.isolation.core.internal.launch.LaunchPlan.MS_REC;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.LaunchPlan.MountKind;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Decides the sandbox's root file system and turns it into the helper's mount operations: a root
 * assembled at {@code /newroot} of a staging tmpfs from read-only binds (host paths are reached at
 * {@code /oldroot}), then entered with pivot_root, the host's root detached.
 */
final class FilesystemPlan {
    /** What the default minimal root binds read-only from the host, where present. */
    private static final List<String> SYSTEM_DIRS = List.of("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32");
    private static final List<String> ETC_FILES = List.of("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
            "/etc/nsswitch.conf", "/etc/localtime", "/etc/alternatives", "/etc/java-17-openjdk", "/etc/java-21-openjdk",
            "/etc/ssl/certs", "/etc/mime.types", "/etc/gai.conf");
    private static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");

    /** A bind mount of a host path. */
    record Bind(Path host, String inside, boolean writable) {}

    /** A tmpfs of the given size. */
    record Tmpfs(String inside, ByteSize size) {}

    private FilesystemPlan() {}

    /**
     * Appends the mount operations. {@code rootfs} empty means the default minimal root.
     *
     * @throws NativeCallException naming a bind source that does not exist, before anything runs
     */
    static void append(LaunchPlan plan, Optional<Path> rootfs, List<Bind> binds, List<Tmpfs> tmpfs, Set<String> noexec,
            ByteSize tmpSize, boolean proc, int uid, int gid) {
        plan.newRoot();
        if (rootfs.isPresent()) {
            bind(plan, realPath(rootfs.get(), "/"), "/", false, false);
        } else {
            plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV, "isolation-tmpfs", "/newroot", "tmpfs", "mode=0755,size=1m", "\"tmpfs\" -> \"/\"");
            for (String dir : SYSTEM_DIRS) {
                Path p = Path.of(dir);
                if (Files.isSymbolicLink(p)) {
                    plan.mount(MountKind.SYMLINK, 0, readLink(p), "/newroot" + dir, null, null, dir);
                } else if (Files.isDirectory(p)) {
                    bind(plan, p, dir, false, false);
                }
            }
            plan.mount(MountKind.MKDIR, 0, null, "/newroot/etc", null, null, "/etc");
            for (String f : ETC_FILES) {
                Path p = Path.of(f);
                if (Files.exists(p)) {
                    bind(plan, realPath(p, f), f, false, false);
                }
            }
            plan.mount(MountKind.WRITE, 0, null, "/newroot/etc/passwd", null,
                    "root:x:0:0:root:/root:/bin/sh\n" + (uid != 0 ? "sandbox:x:" + uid + ":" + gid + ":sandbox:/tmp:/bin/sh\n" : ""),
                    "/etc/passwd");
            plan.mount(MountKind.WRITE, 0, null, "/newroot/etc/group", null,
                    "root:x:0:\n" + (gid != 0 ? "sandbox:x:" + gid + ":\n" : ""), "/etc/group");
            plan.mount(MountKind.WRITE, 0, null, "/newroot/etc/hosts", null, "127.0.0.1 localhost\n::1 localhost\n", "/etc/hosts");
        }
        devices(plan);
        if (proc) {
            plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc", "/newroot/proc", "proc", null, "\"proc\" -> \"/proc\"");
        }
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | (noexec.contains("/tmp") ? MS_NOEXEC : 0), "isolation-tmpfs", "/newroot/tmp",
                "tmpfs", "mode=1777,size=" + tmpSize.bytes(), "\"tmpfs\" -> \"/tmp\"");
        // parents before children, so that a bind inside another lands on top of it
        binds.stream().sorted(Comparator.comparingInt(b -> depth(b.inside()))).forEach(b -> {
            Path real = realPath(b.host(), b.inside());
            bind(plan, real, b.inside(), b.writable(), noexec.contains(b.inside()));
        });
        tmpfs.stream().sorted(Comparator.comparingInt(t -> depth(t.inside()))).forEach(t -> plan.mount(MountKind.DIR,
                MS_NOSUID | MS_NODEV | (noexec.contains(t.inside()) ? MS_NOEXEC : 0), "isolation-tmpfs", "/newroot" + t.inside(), "tmpfs",
                "mode=1777,size=" + t.size().bytes(), "\"tmpfs\" -> \"" + t.inside() + "\""));
        plan.mount(MountKind.REMOUNT, MS_RDONLY | MS_NOSUID | MS_NODEV, null, "/newroot", null, null, "/ (read-only)");
    }

    /** A minimal /dev: a few host device nodes, no others; fresh devpts and shm. */
    private static void devices(LaunchPlan plan) {
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "isolation-tmpfs", "/newroot/dev", "tmpfs", "mode=0755,size=64k", "\"tmpfs\" -> \"/dev\"");
        for (String d : DEVICES) {
            String display = "\"/dev/" + d + "\" -> \"/dev/" + d + "\"";
            plan.mount(MountKind.FILE, MS_BIND, "/oldroot/dev/" + d, "/newroot/dev/" + d, null, null, display);
            plan.mount(MountKind.REMOUNT, MS_NOSUID | MS_NOEXEC, null, "/newroot/dev/" + d, null, null, display);
        }
        plan.mount(MountKind.SYMLINK, 0, "/proc/self/fd", "/newroot/dev/fd", null, null, "/dev/fd");
        for (int i = 0; i < 3; i++) {
            String name = new String[] {"stdin", "stdout", "stderr"}[i];
            plan.mount(MountKind.SYMLINK, 0, "/proc/self/fd/" + i, "/newroot/dev/" + name, null, null, "/dev/" + name);
        }
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NOEXEC, "devpts", "/newroot/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=620",
                "\"devpts\" -> \"/dev/pts\"");
        plan.mount(MountKind.SYMLINK, 0, "pts/ptmx", "/newroot/dev/ptmx", null, null, "/dev/ptmx");
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "isolation-tmpfs", "/newroot/dev/shm", "tmpfs", "mode=1777,size=64m",
                "\"tmpfs\" -> \"/dev/shm\"");
    }

    private static void bind(LaunchPlan plan, Path host, String inside, boolean writable, boolean noexec) {
        String target = inside.equals("/") ? "/newroot" : "/newroot" + inside;
        String display = "\"" + host + "\" -> \"" + inside + "\"";
        MountKind kind = Files.isDirectory(host) ? MountKind.DIR : MountKind.FILE;
        plan.mount(kind, MS_BIND | MS_REC, "/oldroot" + host, target, null, null, display);
        if (!inside.equals("/")) { // the root is made read-only last, after everything is mounted on it
            plan.mount(MountKind.REMOUNT, MS_NOSUID | MS_NODEV | (writable ? 0 : MS_RDONLY) | (noexec ? MS_NOEXEC : 0),
                    null, target, null, null, display);
        }
    }

    /** The real path of a bind source (symlinks resolved on the host), or the error the mount would give. */
    private static Path realPath(Path host, String inside) {
        try {
            return host.toAbsolutePath().toRealPath();
        } catch (IOException e) {
            throw new NativeCallException("mount", "\"" + host + "\" -> \"" + inside + "\"", Files.exists(host, LinkOption.NOFOLLOW_LINKS) ? 13 : 2);
        }
    }

    private static String readLink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
            throw new NativeCallException("readlink", p.toString(), 2);
        }
    }

    private static int depth(String path) {
        return (int) path.chars().filter(c -> c == '/').count();
    }

    /** Checks a path inside the sandbox: absolute, normalized, not the root. */
    static String insidePath(String inside, String what) {
        if (!inside.startsWith("/") || !Path.of(inside).normalize().toString().equals(inside) || inside.equals("/")) {
            throw new IllegalArgumentException(what + ": \"" + inside + "\" must be an absolute, normalized path other than /");
        }
        if (inside.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": NUL in path");
        }
        return inside;
    }
}
