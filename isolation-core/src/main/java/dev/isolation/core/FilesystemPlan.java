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
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Decides the sandbox's root file system and turns it into the helper's mount operations. The new
 * root is always a tmpfs of the sandbox's own (the skeleton) on which everything else is mounted:
 * read-only binds of host directories (or of a rootfs's top-level entries), a minimal /dev, /proc,
 * /tmp, then the caller's binds and tmpfs mounts; the helper enters it with pivot_root and detaches
 * the host's root. Mount points missing from it are created there by the helper, never in a host
 * directory or in a user's rootfs.
 *
 * <p>Sources are host paths resolved once, when the policy is built ({@link #source}); the helper
 * opens them without following any symlink, so a source that an earlier sandbox replaced by a
 * symlink is refused rather than followed.
 */
final class FilesystemPlan {
    /** What the default minimal root binds read-only from the host, where present. */
    static final List<String> SYSTEM_DIRS = List.of("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32");
    private static final List<String> ETC_FILES = List.of("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
            "/etc/nsswitch.conf", "/etc/localtime", "/etc/alternatives", "/etc/java-17-openjdk", "/etc/java-21-openjdk",
            "/etc/ssl/certs", "/etc/mime.types", "/etc/gai.conf");
    private static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");
    /** Top-level entries of a rootfs that the sandbox gets its own of instead. */
    private static final Set<String> OWN_MOUNTS = Set.of("dev", "proc", "tmp");
    private static final long READ_ONLY_BIND = MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV;
    private static final String DEV_SHM = "/dev/shm";

    /** A bind mount of a host path ({@link #source resolved}: absolute, no symlinks). */
    record Bind(Path host, String inside, boolean writable) {}

    /** A tmpfs of the given size. */
    record Tmpfs(String inside, ByteSize size) {}

    /**
     * An image's layers as the root: {@code layers} bottom first (cache directories, resolved),
     * with setuid programs working if {@code keepSetuid}, read through {@code user.overlay.*}
     * xattrs if {@code userxattr} (in a user namespace).
     */
    record ImageRoot(List<Path> layers, boolean keepSetuid, boolean userxattr) {}

    private FilesystemPlan() {}

    /** Size of the minimal /dev's {@code /dev/shm}. */
    static final ByteSize SHM_SIZE = ByteSize.mb(64);

    /**
     * Appends the mount operations. {@code rootfs} empty means the default minimal root. {@code
     * storageCap}: the most any writable tmpfs of the sandbox ({@code /tmp}, {@code /dev/shm},
     * {@code tmpfs} mounts) may hold, whatever its own size.
     *
     * @throws NativeCallException naming a rootfs that cannot be listed, before anything runs
     */
    static void append(LaunchPlan plan, Optional<Path> rootfs, List<Bind> binds, List<Tmpfs> tmpfs, Set<String> noexec,
            ByteSize tmpSize, Optional<ByteSize> storageCap, boolean proc, int uid, int gid) {
        append(plan, rootfs, Optional.empty(), binds, tmpfs, noexec, tmpSize, storageCap, proc, uid, gid);
    }

    /**
     * {@link #append} with an image as the root: instead of the skeleton tmpfs, an overlayfs of the
     * image's layers whose writes land in a tmpfs of {@code tmpSize} (capped like the others) that
     * goes with the sandbox; the root stays writable (that is the point), everything mounted on it
     * follows the same rules as for a rootfs. The mount points the sandbox needs ({@code /dev},
     * {@code /proc}, {@code /tmp}, bind targets) are made there, in the writable layer, never in
     * the image.
     */
    static void append(LaunchPlan plan, Optional<Path> rootfs, Optional<ImageRoot> image, List<Bind> binds, List<Tmpfs> tmpfs,
            Set<String> noexec, ByteSize tmpSize, Optional<ByteSize> storageCap, boolean proc, int uid, int gid) {
        plan.newRoot();
        if (image.isPresent()) {
            ImageRoot img = image.get();
            List<String> topFirst = new java.util.ArrayList<>();
            img.layers().forEach(l -> topFirst.add(0, l.toString()));
            plan.mount(MountKind.OVERLAY, MS_NODEV | (img.keepSetuid() ? 0 : MS_NOSUID), img.userxattr() ? LaunchPlan.MOUNT_USERXATTR : 0,
                    String.join(":", topFirst), "/", null, Long.toString(capped(tmpSize, storageCap).bytes()),
                    "\"overlay\" -> \"/\" (the image's " + img.layers().size() + " layers)");
        } else if (rootfs.isPresent()) {
            plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV, "isolation-tmpfs", "/", "tmpfs", "mode=0755,size=1m", "\"tmpfs\" -> \"/\"");
            rootfsEntries(plan, rootfs.get());
        } else {
            plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV, "isolation-tmpfs", "/", "tmpfs", "mode=0755,size=1m", "\"tmpfs\" -> \"/\"");
            for (String dir : SYSTEM_DIRS) {
                Path p = Path.of(dir);
                if (Files.isSymbolicLink(p)) {
                    plan.mount(MountKind.SYMLINK, 0, readLink(p), dir, null, null, dir);
                } else if (Files.isDirectory(p)) {
                    bind(plan, p, dir, READ_ONLY_BIND);
                }
            }
            plan.mount(MountKind.MKDIR, 0, null, "/etc", null, null, "/etc");
            for (String f : ETC_FILES) {
                Path p = Path.of(f);
                if (Files.exists(p)) {
                    try {
                        bind(plan, p.toRealPath(), f, READ_ONLY_BIND);
                    } catch (IOException e) {
                        // gone since we looked: the sandbox does without it
                    }
                }
            }
            plan.mount(MountKind.WRITE, 0, null, "/etc/passwd", null,
                    "root:x:0:0:root:/root:/bin/sh\n" + (uid != 0 ? "sandbox:x:" + uid + ":" + gid + ":sandbox:/tmp:/bin/sh\n" : ""),
                    "/etc/passwd");
            plan.mount(MountKind.WRITE, 0, null, "/etc/group", null,
                    "root:x:0:\n" + (gid != 0 ? "sandbox:x:" + gid + ":\n" : ""), "/etc/group");
            plan.mount(MountKind.WRITE, 0, null, "/etc/hosts", null, "127.0.0.1 localhost\n::1 localhost\n", "/etc/hosts");
        }
        devices(plan, capped(SHM_SIZE, storageCap));
        if (proc) {
            plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc", "/proc", "proc", null, "\"proc\" -> \"/proc\"");
        }
        tmpfs(plan, new Tmpfs("/tmp", capped(tmpSize, storageCap)), noexec);
        // parents before children, so that a bind inside another lands on top of it
        binds.stream().sorted(Comparator.comparingInt(b -> depth(b.inside()))).forEach(b -> bind(plan, b.host(), b.inside(),
                MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | (b.writable() ? 0 : MS_RDONLY) | (noexec.contains(b.inside()) ? MS_NOEXEC : 0)));
        tmpfs.stream().sorted(Comparator.comparingInt(t -> depth(t.inside()))).forEach(t -> tmpfs(plan, new Tmpfs(t.inside(), capped(t.size(), storageCap)), noexec));
        if (image.isEmpty()) {
            plan.mount(MountKind.REMOUNT, MS_RDONLY | MS_NOSUID | MS_NODEV, null, "/", null, null, "/ (read-only)");
        }
    }

    private static void tmpfs(LaunchPlan plan, Tmpfs t, Set<String> noexec) {
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | (noexec.contains(t.inside()) ? MS_NOEXEC : 0), "isolation-tmpfs", t.inside(),
                "tmpfs", "mode=1777,size=" + t.size().bytes(), "\"tmpfs\" -> \"" + t.inside() + "\"");
    }

    /** {@code /dev/shm} of a minimal /dev: the same in every root of its own. */
    private static void devShm(LaunchPlan plan, ByteSize size) {
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "isolation-tmpfs", DEV_SHM, "tmpfs", "mode=1777,size=" + size.bytes(),
                "\"tmpfs\" -> \"" + DEV_SHM + "\"");
    }

    /**
     * The mounts of one run of a persistent sandbox, which joins the session's mount namespace:
     * with {@code resetWorkDir}, first a fresh {@code workDir} there (the old one detached); then,
     * in a private copy of the namespace (the run's own, gone with it), fresh empty tmpfs mounts in
     * place of the session's {@code /tmp}, {@code /dev/shm} and {@code tmpfs} mounts, and of {@code
     * workDir} unless {@code persistentWorkDir}. So nothing a run writes there reaches a later run
     * (or a run beside it), and its memory is freed when the run ends. Binds below a refreshed mount
     * are kept and attached again on top of the fresh one.
     */
    static void appendRunMounts(LaunchPlan plan, List<Bind> binds, List<Tmpfs> tmpfs, Set<String> noexec, ByteSize tmpSize,
            String workDir, boolean persistentWorkDir, boolean resetWorkDir) {
        Optional<Tmpfs> work = tmpfs.stream().filter(t -> t.inside().equals(workDir)).findFirst();
        if (resetWorkDir && work.isPresent()) {
            refresh(plan, List.of(work.get()), List.of(), noexec, true);
        }
        // binds are mounted after /tmp and /dev/shm but before the tmpfs mounts, which cover what they are on
        List<Bind> visible = binds.stream().filter(b -> (below(b.inside(), "/tmp") || below(b.inside(), DEV_SHM))
                && tmpfs.stream().noneMatch(t -> below(b.inside(), t.inside()))).toList();
        plan.mount(MountKind.UNSHARE, 0, null, "/", null, null, "the run's own mounts");
        List<Tmpfs> fresh = new java.util.ArrayList<>();
        fresh.add(new Tmpfs("/tmp", tmpSize));
        fresh.add(new Tmpfs(DEV_SHM, ByteSize.mb(64)));
        tmpfs.stream().filter(t -> !persistentWorkDir || !t.inside().equals(workDir)).forEach(fresh::add);
        refresh(plan, fresh, visible, noexec, false);
    }

    /** Fresh tmpfs mounts at the places of {@code fresh}, parents first, the binds below them kept and attached again. */
    private static void refresh(LaunchPlan plan, List<Tmpfs> fresh, List<Bind> binds, Set<String> noexec, boolean detachFirst) {
        List<Bind> covered = binds.stream().filter(b -> fresh.stream().anyMatch(t -> below(b.inside(), t.inside())))
                .sorted(Comparator.comparingInt(b -> depth(b.inside()))).toList();
        // a bind below another covered bind travels with it (the copy is recursive)
        List<Bind> kept = covered.stream().filter(b -> covered.stream().noneMatch(o -> below(b.inside(), o.inside()))).toList();
        kept.forEach(b -> plan.mount(MountKind.KEEP, 0, null, b.inside(), null, null, "\"" + b.inside() + "\" (kept)"));
        if (detachFirst) {
            fresh.forEach(t -> plan.mount(MountKind.DETACH, 0, null, t.inside(), null, null, "\"" + t.inside() + "\" (detached)"));
        }
        record Step(String inside, Runnable mount) {}
        List<Step> steps = new java.util.ArrayList<>();
        fresh.forEach(t -> steps.add(new Step(t.inside(), () -> {
            if (t.inside().equals(DEV_SHM)) {
                devShm(plan, SHM_SIZE);
            } else {
                tmpfs(plan, t, noexec);
            }
        })));
        kept.forEach(b -> steps.add(new Step(b.inside(),
                () -> plan.mount(MountKind.REATTACH, 0, null, b.inside(), null, null, "\"" + b.inside() + "\" (attached again)"))));
        // by depth, a fresh mount before what is attached at the same depth (stable sort): nothing covers what comes later
        steps.stream().sorted(Comparator.comparingInt(st -> depth(st.inside()))).forEach(st -> st.mount().run());
    }

    private static boolean below(String path, String dir) {
        return path.startsWith(dir + "/");
    }

    /**
     * A user's rootfs: its top-level directories and files bound read-only onto the skeleton, its
     * top-level symlinks copied; the helper writes nothing into it.
     */
    private static void rootfsEntries(LaunchPlan plan, Path rootfs) {
        List<Path> entries;
        try (Stream<Path> list = Files.list(rootfs)) {
            entries = list.sorted().toList();
        } catch (IOException e) {
            throw new NativeCallException("open", rootfs.toString(), Files.exists(rootfs, LinkOption.NOFOLLOW_LINKS) ? 13 : 2);
        }
        for (Path entry : entries) {
            String name = entry.getFileName().toString();
            if (OWN_MOUNTS.contains(name)) {
                continue;
            }
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                continue; // gone since the listing
            }
            if (a.isSymbolicLink()) {
                plan.mount(MountKind.SYMLINK, 0, readLink(entry), "/" + name, null, null, "/" + name);
            } else if (a.isDirectory() || a.isRegularFile()) {
                bind(plan, entry, "/" + name, READ_ONLY_BIND, a.isDirectory());
            }
        }
    }

    /** The smaller of {@code size} and the cap; never under a page (the builders refuse a smaller tmpfs). */
    static ByteSize capped(ByteSize size, Optional<ByteSize> cap) {
        return cap.filter(c -> c.bytes() < size.bytes()).map(c -> ByteSize.ofBytes(Math.max(c.bytes(), 4096))).orElse(size);
    }

    /** A minimal /dev, read-only once made: a few host device nodes, no others; fresh devpts and shm. */
    private static void devices(LaunchPlan plan, ByteSize shmSize) {
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NODEV | MS_NOEXEC, "isolation-tmpfs", "/dev", "tmpfs", "mode=0755,size=64k", "\"tmpfs\" -> \"/dev\"");
        for (String d : DEVICES) {
            plan.mount(MountKind.FILE, MS_BIND | MS_NOSUID | MS_NOEXEC, LaunchPlan.MOUNT_DEVICE_SOURCE, "/dev/" + d, "/dev/" + d, null, null,
                    "\"/dev/" + d + "\" -> \"/dev/" + d + "\"");
        }
        plan.mount(MountKind.SYMLINK, 0, "/proc/self/fd", "/dev/fd", null, null, "/dev/fd");
        for (int i = 0; i < 3; i++) {
            String name = new String[] {"stdin", "stdout", "stderr"}[i];
            plan.mount(MountKind.SYMLINK, 0, "/proc/self/fd/" + i, "/dev/" + name, null, null, "/dev/" + name);
        }
        plan.mount(MountKind.DIR, MS_NOSUID | MS_NOEXEC, "devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=620",
                "\"devpts\" -> \"/dev/pts\"");
        plan.mount(MountKind.SYMLINK, 0, "pts/ptmx", "/dev/ptmx", null, null, "/dev/ptmx");
        devShm(plan, shmSize);
        // nothing in the sandbox re-points /dev/stdout or adds nodes for a later run of a session
        plan.mount(MountKind.REMOUNT, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null, "/dev", null, null, "/dev (read-only)");
    }

    private static void bind(LaunchPlan plan, Path host, String inside, long flags) {
        bind(plan, host, inside, flags, Files.isDirectory(host, LinkOption.NOFOLLOW_LINKS));
    }

    private static void bind(LaunchPlan plan, Path host, String inside, long flags, boolean directory) {
        plan.mount(directory ? MountKind.DIR : MountKind.FILE, flags, host.toString(), inside, null, null,
                "\"" + host + "\" -> \"" + inside + "\"");
    }

    /**
     * A bind source or rootfs resolved once, when the policy is built: absolute, without symlinks.
     * The helper later opens exactly this path and refuses it if a symlink appeared on it since.
     *
     * @throws IllegalArgumentException if it does not exist or cannot be resolved
     */
    static Path source(Path host, String what) {
        try {
            return host.toAbsolutePath().toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": \"" + host + "\": "
                    + (Files.exists(host, LinkOption.NOFOLLOW_LINKS) ? "cannot be resolved (" + e.getMessage() + ")" : "no such file or directory"));
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
