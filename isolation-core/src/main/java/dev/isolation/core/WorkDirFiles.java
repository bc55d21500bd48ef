package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * Files into and out of a session's work directory, from the host, through {@code
 * /proc/KEEPER/root/box} (the keeper's mount namespace, where the session's {@value
 * SandboxSession#WORK_DIR} is mounted). Everything in there was written by sandboxed programs and
 * is hostile: each component is opened relative to its parent's descriptor with {@code O_NOFOLLOW}
 * (a symbolic link anywhere fails with ELOOP, a file where a directory should be with ENOTDIR), a
 * file is written only after it was created by this call ({@code O_CREAT|O_EXCL}, so never through
 * a planted link or FIFO), and read only when {@code fstat} of the descriptor opened without
 * following and without blocking ({@code O_NONBLOCK}) says it is a regular file. The caller makes
 * sure no run of the session is live meanwhile; these checks hold even if one were.
 */
final class WorkDirFiles {
    private static final Kernel K = Kernel.get();
    private static final int ENOENT = 2, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, ELOOP = 40, ENOSPC = 28, EDQUOT = 122;
    private static final int DIR_FLAGS = Kernel.O_RDONLY | Kernel.O_DIRECTORY | Kernel.O_NOFOLLOW;
    /** Deeper trees than this are not emptied from the host (see {@link #empty}). */
    static final int MAX_EMPTY_DEPTH = 512;

    private WorkDirFiles() {}

    /** The components of {@code inside} below the work directory: {@code "/box/a/b"} or {@code "a/b"}. */
    static List<String> components(String inside) {
        String root = SandboxSession.WORK_DIR + "/";
        if (inside.isEmpty() || inside.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a path in " + SandboxSession.WORK_DIR + ": \"" + inside + "\"");
        }
        String rel = inside;
        if (inside.startsWith("/")) {
            if (!inside.startsWith(root)) {
                throw new IllegalArgumentException("\"" + inside + "\" is not in " + SandboxSession.WORK_DIR
                        + ": files are copied into and out of the work directory only (e.g. " + root + "main.c, or main.c)");
            }
            rel = inside.substring(root.length());
        }
        List<String> parts = Arrays.asList(rel.split("/", -1));
        for (String p : parts) {
            if (p.isEmpty() || p.equals(".") || p.equals("..") || p.length() > 255) {
                throw new IllegalArgumentException("\"" + inside + "\": each part of the path must be a plain name"
                        + " (not empty, \".\" or \"..\", at most 255 bytes)");
            }
        }
        return parts;
    }

    /**
     * The work directory of the keeper {@code pid} that started at {@code startTime} (clock ticks
     * after boot, as {@code /proc/PID/stat} says), opened without following a link at its own place.
     * The keeper's {@code /proc/PID} directory is opened first and everything else relative to it:
     * that descriptor stays bound to the process it named when it was opened, so a keeper that died
     * and whose pid was reused by another process fails the start-time check, and one that dies
     * afterwards fails the open of {@code root}; the copy never reaches another process's files.
     */
    static int openWorkDir(int pid, long startTime) {
        int proc = openProcess(pid, startTime);
        try {
            int root = K.openat(proc, "root", Kernel.O_PATH | Kernel.O_DIRECTORY, 0);
            try {
                return K.openat(root, SandboxSession.WORK_DIR.substring(1), DIR_FLAGS, 0);
            } finally {
                K.close(root);
            }
        } finally {
            K.close(proc);
        }
    }

    /**
     * {@code /proc/PID} of the process {@code pid} that started at {@code startTime}, as an {@code
     * O_PATH} descriptor; an {@link IllegalStateException} if that pid is now another process's.
     */
    static int openProcess(int pid, long startTime) {
        int proc = K.open("/proc/" + pid, Kernel.O_PATH | Kernel.O_DIRECTORY, 0);
        try {
            long now = SandboxSession.startTimeOf(readStat(proc));
            if (now != startTime) {
                throw new IllegalStateException("pid " + pid + " is no longer the session's PID 1 (it started at tick " + now
                        + ", the session's at " + startTime + "): the session's sandbox is gone");
            }
            return proc;
        } catch (RuntimeException e) {
            K.close(proc);
            throw e;
        }
    }

    private static String readStat(int proc) {
        int fd = K.openat(proc, "stat", Kernel.O_RDONLY, 0);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1024];
            for (int n; (n = K.read(fd, buf)) > 0; ) {
                out.write(buf, 0, n);
            }
            return out.toString(java.nio.charset.StandardCharsets.UTF_8);
        } finally {
            K.close(fd);
        }
    }

    /**
     * Writes {@code size} bytes from {@code in} to a new file at {@code parts} below {@code box},
     * replacing a file (or link, FIFO...) of that name, creating missing parent directories (0755).
     * New files and directories are given to {@code owner} if present (the session's id).
     */
    static void copyIn(int box, List<String> parts, InputStream in, long size, int mode, OptionalInt owner, String what)
            throws IOException {
        List<Integer> open = new ArrayList<>();
        try {
            int dir = box;
            for (int i = 0; i < parts.size() - 1; i++) {
                dir = openDir(dir, i, true, owner, what, parts);
                open.add(dir);
            }
            String name = parts.get(parts.size() - 1);
            try {
                K.unlinkat(dir, name, false);
            } catch (NativeCallException e) {
                if (e.errno() == EISDIR) {
                    throw new SandboxException(what + ": " + SandboxSession.WORK_DIR + "/" + String.join("/", parts)
                            + " is a directory; nothing was copied");
                }
                if (e.errno() != ENOENT) {
                    throw failure(what, e);
                }
            }
            int fd;
            try {
                fd = K.openat(dir, name, Kernel.O_WRONLY | Kernel.O_CREAT | Kernel.O_EXCL | Kernel.O_NOFOLLOW, mode);
            } catch (NativeCallException e) {
                throw e.errno() == EEXIST ? new SandboxException(what + ": " + pathOf(parts)
                        + " was created again by a process of the sandbox while it was being replaced; nothing was copied", e)
                        : failure(what, e);
            }
            try {
                owner.ifPresent(id -> K.fchown(fd, id, id));
                byte[] buf = new byte[(int) Math.min(64 * 1024, Math.max(1, size))];
                long left = size;
                while (left > 0) {
                    int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
                    if (n == 0) {
                        throw new SandboxException(what + ": the source ended after " + (size - left) + " of " + size + " bytes");
                    }
                    K.write(fd, n == buf.length ? buf : Arrays.copyOf(buf, n));
                    left -= n;
                }
            } catch (NativeCallException | IOException e) {
                K.close(fd);
                unlinkQuietly(dir, name);
                if (e instanceof NativeCallException n) {
                    throw n.errno() == ENOSPC || n.errno() == EDQUOT ? new SandboxException(what + ": " + SandboxSession.WORK_DIR
                            + " is full (" + n.errnoName() + "): raise SandboxSession.Options.Builder.workSize; nothing was copied", n)
                            : failure(what, n);
                }
                throw e;
            }
            K.close(fd);
        } catch (NativeCallException e) {
            throw failure(what, e);
        } finally {
            open.forEach(K::close);
        }
    }

    /** The bytes of the regular file at {@code parts} below {@code box}, at most {@code limit} of them. */
    static byte[] copyOut(int box, List<String> parts, ByteSize limit, String what) throws IOException {
        List<Integer> open = new ArrayList<>();
        try {
            int dir = box;
            for (int i = 0; i < parts.size() - 1; i++) {
                dir = openDir(dir, i, false, OptionalInt.empty(), what, parts);
                open.add(dir);
            }
            String name = parts.get(parts.size() - 1);
            int fd;
            try {
                fd = K.openat(dir, name, Kernel.O_RDONLY | Kernel.O_NOFOLLOW | Kernel.O_NONBLOCK, 0);
            } catch (NativeCallException e) {
                if (e.errno() == ENOENT) {
                    throw new NoSuchFileException(pathOf(parts), null, "no such file in the sandbox");
                }
                if (e.errno() == ELOOP) {
                    throw new SandboxException(what + ": " + pathOf(parts) + " is a symbolic link; it is not followed", e);
                }
                throw failure(what, e);
            }
            open.add(fd);
            Kernel.Stat st = K.fstat(fd);
            if (!st.regularFile()) {
                throw new SandboxException(what + ": " + pathOf(parts) + " is not a regular file (a directory, FIFO, socket"
                        + " or device): only regular files are copied out");
            }
            if (st.size() > limit.bytes()) {
                throw new SandboxException(what + ": " + pathOf(parts) + " is " + ByteSize.ofBytes(st.size())
                        + ", above the copy limit of " + limit + ": raise SandboxSession.Options.Builder.copyLimit");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) st.size());
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n = K.read(fd, buf);
                if (n == 0) {
                    break;
                }
                if (out.size() + (long) n > limit.bytes()) {
                    throw new SandboxException(what + ": " + pathOf(parts) + " grew past the copy limit of " + limit + " while read");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (NativeCallException e) {
            throw failure(what, e);
        } finally {
            open.forEach(K::close);
        }
    }

    /**
     * Removes everything in the directory {@code dir} (not following links, not descending into
     * what is not a directory).
     *
     * @throws SandboxException if the tree is deeper than {@value #MAX_EMPTY_DEPTH} directories
     */
    static void empty(int dir, int depth) throws IOException {
        if (depth > MAX_EMPTY_DEPTH) {
            throw new SandboxException(SandboxSession.WORK_DIR + " holds directories more than " + MAX_EMPTY_DEPTH
                    + " deep: it is not emptied from the host; start a run, which gets a fresh " + SandboxSession.WORK_DIR
                    + ", and copy in after it");
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc/self/fd/" + dir))) {
            entries.forEach(p -> names.add(p.getFileName().toString()));
        }
        for (String name : names) {
            try {
                K.unlinkat(dir, name, false);
            } catch (NativeCallException e) {
                if (e.errno() == ENOENT) {
                    continue;
                }
                if (e.errno() != EISDIR) {
                    throw failure("resetWorkDir", e);
                }
                int child = K.openat(dir, name, DIR_FLAGS, 0);
                try {
                    empty(child, depth + 1);
                } finally {
                    K.close(child);
                }
                K.unlinkat(dir, name, true);
            }
        }
    }

    private static int openDir(int dir, int index, boolean create, OptionalInt owner, String what, List<String> parts)
            throws IOException {
        String name = parts.get(index);
        try {
            return K.openat(dir, name, DIR_FLAGS, 0);
        } catch (NativeCallException e) {
            if (e.errno() == ELOOP || e.errno() == ENOTDIR) {
                throw new SandboxException(what + ": " + pathUpTo(parts, index) + " is not a directory (a symbolic link or"
                        + " another file, made by a program of the sandbox); it is not followed and nothing was copied", e);
            }
            if (e.errno() != ENOENT) {
                throw failure(what, e);
            }
            if (!create) {
                throw new NoSuchFileException(pathOf(parts), null, "no such directory in the sandbox: " + pathUpTo(parts, index));
            }
        }
        K.mkdirat(dir, name, 0755);
        int fd = K.openat(dir, name, DIR_FLAGS, 0);
        owner.ifPresent(id -> K.fchown(fd, id, id));
        return fd;
    }

    private static void unlinkQuietly(int dir, String name) {
        try {
            K.unlinkat(dir, name, false);
        } catch (NativeCallException ignored) {
            // the copy failed already; that failure is the one reported
        }
    }

    private static String pathOf(List<String> parts) {
        return SandboxSession.WORK_DIR + "/" + String.join("/", parts);
    }

    private static String pathUpTo(List<String> parts, int index) {
        return SandboxSession.WORK_DIR + "/" + String.join("/", parts.subList(0, index + 1));
    }

    private static SandboxException failure(String what, NativeCallException e) {
        return new SandboxException(what + ": " + e.getMessage(), e);
    }
}
