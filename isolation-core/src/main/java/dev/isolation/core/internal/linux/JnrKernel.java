package dev.isolation.core.internal.linux;

import java.io.File;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;
import jnr.constants.platform.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.POSIXHandler;

/**
 * {@link Kernel} through jnr-posix where it has the call (read, write, open, close, flock, waitpid,
 * fstat, fchown, the ids), and through jnr-ffi bindings of glibc ({@link LibC}) for what it lacks:
 * {@code pipe2}, {@code memfd_create}, {@code fcntl(F_ADD_SEALS)}, the {@code *at} calls, epoll,
 * and {@code posix_spawn}, whose jnr-posix form ({@code POSIX.posix_spawnp}) returns -1 and drops
 * the error number that posix_spawn returns (it does not set errno), so a failed spawn could not
 * say why.
 */
final class JnrKernel implements Kernel {
    static final JnrKernel INSTANCE = new JnrKernel();

    private static final int F_ADD_SEALS = 1033;
    private static final int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;
    private static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_EXEC = 0x10;
    private static final int EINVAL = 22;
    private static final int EPOLL_CLOEXEC = O_CLOEXEC;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    private static final int EPOLLIN = 0x1, EPOLLHUP = 0x10;
    private static final int EINTR = 4;
    private static final int EWOULDBLOCK = 11;
    private static final int LOCK_EX = 2, LOCK_NB = 4;
    private static final int AT_FDCWD = -100, S_IFCHR = 0020000, AT_REMOVEDIR = 0x200, AT_SYMLINK_NOFOLLOW = 0x100;
    /** posix_spawn_file_actions_t is 80 bytes on 64-bit glibc; room to spare. */
    private static final int FILE_ACTIONS_SIZE = 256;

    private final LibC libc;
    private final POSIX posix;
    private final Runtime runtime;
    /** struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes). */
    private final int epollEventSize;
    private final int epollDataOffset;

    private JnrKernel() {
        libc = LibraryLoader.create(LibC.class).searchDefault().load("c");
        posix = POSIXFactory.getNativePOSIX(new Failures());
        runtime = Runtime.getRuntime(libc);
        boolean x86 = Platform.getNativePlatform().getCPU() == Platform.CPU.X86_64;
        epollEventSize = x86 ? 12 : 16;
        epollDataOffset = x86 ? 4 : 8;
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("big-endian hosts are not supported");
        }
    }

    private int errno() {
        return runtime.getLastError();
    }

    private NativeCallException failure(String call, String argument) {
        return new NativeCallException(call, argument, errno());
    }

    @Override
    public int[] pipe() {
        int[] fds = new int[2];
        if (libc.pipe2(fds, O_CLOEXEC) < 0) {
            throw failure("pipe2", "O_CLOEXEC");
        }
        return fds;
    }

    @Override
    public void close(int fd) {
        posix.close(fd); // Linux releases the descriptor even when close reports an error
    }

    @Override
    public int read(int fd, byte[] buf) {
        while (true) {
            long n = posix.read(fd, buf, buf.length);
            if (n >= 0) {
                return (int) n;
            }
            if (errno() != EINTR) {
                throw failure("read", "fd " + fd);
            }
        }
    }

    @Override
    public void write(int fd, byte[] buf) {
        byte[] rest = buf;
        while (rest.length > 0) {
            long n = posix.write(fd, rest, rest.length);
            if (n < 0) {
                if (errno() == EINTR) {
                    continue;
                }
                throw failure("write", "fd " + fd);
            }
            rest = java.util.Arrays.copyOfRange(rest, (int) n, rest.length);
        }
    }

    @Override
    public void write(int fd, ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        while (direct.hasRemaining()) {
            // a slice starts at the buffer's position whatever jnr-ffi makes of a position
            long n = libc.write(fd, direct.slice(), direct.remaining());
            if (n < 0) {
                if (errno() == EINTR) {
                    continue;
                }
                throw failure("write", "fd " + fd);
            }
            direct.position(direct.position() + (int) n);
        }
    }

    @Override
    public int getpid() {
        return posix.getpid();
    }

    @Override
    public int getuid() {
        return posix.getuid();
    }

    @Override
    public int getgid() {
        return posix.getgid();
    }

    @Override
    public int sealedMemfd(String name, byte[] content) {
        // MFD_EXEC (Linux 6.3+): executable even where vm.memfd_noexec=1 makes memfds noexec by default; refused
        // with EACCES where vm.memfd_noexec=2 forbids executable memfds (the caller then uses a file). A kernel
        // without the flag refuses it with EINVAL, and its memfds are all executable.
        int fd = libc.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno() == EINVAL) {
            fd = libc.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        }
        if (fd < 0) {
            throw failure("memfd_create", name);
        }
        try {
            write(fd, content);
            if (libc.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
                throw failure("fcntl(F_ADD_SEALS)", name);
            }
            // exec refuses a file that is open for writing (ETXTBSY): keep a read-only descriptor only
            return open("/proc/self/fd/" + fd, O_RDONLY, 0);
        } finally {
            posix.close(fd);
        }
    }

    @Override
    public int open(String path, int flags, int mode) {
        int fd = posix.open(path, flags | O_CLOEXEC, mode);
        if (fd < 0) {
            throw failure("open", path);
        }
        return fd;
    }

    @Override
    public void mknodWhiteout(String path) {
        if (libc.mknodat(AT_FDCWD, path, S_IFCHR, 0) < 0) {
            throw failure("mknod", path + " (whiteout, 0:0)");
        }
    }

    @Override
    public void mknodWhiteoutAt(int dirfd, String name) {
        if (libc.mknodat(dirfd, name, S_IFCHR, 0) < 0) {
            throw failure("mknodat", name + " (whiteout, 0:0)");
        }
    }

    @Override
    public void setXattr(int fd, String name, byte[] value) {
        if (libc.fsetxattr(fd, name, value, value.length, 0) < 0) {
            throw failure("fsetxattr", "fd " + fd + " " + name);
        }
    }

    @Override
    public void symlinkat(String target, int dirfd, String name) {
        if (libc.symlinkat(target, dirfd, name) < 0) {
            throw failure("symlinkat", name + " -> " + target);
        }
    }

    @Override
    public void linkat(int fromDirfd, String from, int toDirfd, String to) {
        if (libc.linkat(fromDirfd, from, toDirfd, to, 0) < 0) {
            throw failure("linkat", to + " -> " + from);
        }
    }

    @Override
    public void fchmod(int fd, int mode) {
        if (libc.fchmod(fd, mode) < 0) {
            throw failure("fchmod", "fd " + fd + " to " + Integer.toOctalString(mode));
        }
    }

    private static long[] timespecs(Instant time) {
        return new long[] {time.getEpochSecond(), time.getNano(), time.getEpochSecond(), time.getNano()};
    }

    @Override
    public void futimens(int fd, Instant time) {
        if (libc.futimens(fd, timespecs(time)) < 0) {
            throw failure("futimens", "fd " + fd + " to " + time);
        }
    }

    @Override
    public void utimensatNoFollow(int dirfd, String name, Instant time) {
        if (libc.utimensat(dirfd, name, timespecs(time), AT_SYMLINK_NOFOLLOW) < 0) {
            throw failure("utimensat", name + " to " + time + ", AT_SYMLINK_NOFOLLOW");
        }
    }

    @Override
    public void fchownatNoFollow(int dirfd, String name, int uid, int gid) {
        if (libc.fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
            throw failure("fchownat", name + " to " + uid + ":" + gid + ", AT_SYMLINK_NOFOLLOW");
        }
    }

    @Override
    public void setXattr(String path, String name, byte[] value) {
        if (libc.lsetxattr(path, name, value, value.length, 0) < 0) {
            throw failure("lsetxattr", path + " " + name);
        }
    }

    @Override
    public boolean tryLockExclusive(int fd) {
        while (posix.flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno();
            if (e == EWOULDBLOCK) {
                return false;
            }
            if (e != EINTR) {
                throw new NativeCallException("flock", "fd " + fd + ", LOCK_EX|LOCK_NB", e);
            }
        }
        return true;
    }

    @Override
    public int waitpid(int pid) {
        int[] status = new int[1];
        while (posix.waitpid(pid, status, 0) < 0) {
            if (errno() != EINTR) {
                throw failure("waitpid", Integer.toString(pid));
            }
        }
        return status[0];
    }

    @Override
    public int spawn(String path, List<FileAction> actions, String[] argv, String[] envp) {
        Pointer fa = Memory.allocateDirect(runtime, FILE_ACTIONS_SIZE);
        int rc = libc.posix_spawn_file_actions_init(fa);
        if (rc != 0) {
            throw new NativeCallException("posix_spawn_file_actions_init", path, rc);
        }
        try {
            for (FileAction action : actions) {
                if (action instanceof FileAction.Dup2 d) {
                    rc = libc.posix_spawn_file_actions_adddup2(fa, d.fd(), d.target());
                } else if (action instanceof FileAction.Open o) {
                    rc = libc.posix_spawn_file_actions_addopen(fa, o.target(), o.path(), o.flags(), o.mode());
                }
                if (rc != 0) {
                    throw new NativeCallException("posix_spawn_file_actions", action.toString(), rc);
                }
            }
            int[] pid = new int[1];
            rc = libc.posix_spawn(pid, path, fa, null, argv, envp);
            if (rc != 0) {
                throw new NativeCallException("posix_spawn", path, rc);
            }
            return pid[0];
        } finally {
            libc.posix_spawn_file_actions_destroy(fa);
        }
    }

    @Override
    public int openat(int dirfd, String name, int flags, int mode) {
        while (true) {
            int fd = libc.openat(dirfd, name, flags | O_CLOEXEC, mode);
            if (fd >= 0) {
                return fd;
            }
            if (errno() != EINTR) {
                throw failure("openat", name);
            }
        }
    }

    @Override
    public void mkdirat(int dirfd, String name, int mode) {
        if (libc.mkdirat(dirfd, name, mode) < 0) {
            throw failure("mkdirat", name);
        }
    }

    @Override
    public void unlinkat(int dirfd, String name, boolean directory) {
        if (libc.unlinkat(dirfd, name, directory ? AT_REMOVEDIR : 0) < 0) {
            throw failure("unlinkat", name);
        }
    }

    @Override
    public Stat fstat(int fd) {
        FileStat st = posix.fstat(fd); // failures reach Failures.error
        return new Stat(st.mode(), st.st_size(), st.uid(), st.gid());
    }

    @Override
    public void fchown(int fd, int uid, int gid) {
        if (posix.fchown(fd, uid, gid) < 0) {
            throw failure("fchown", "fd " + fd + " to " + uid + ":" + gid);
        }
    }

    @Override
    public int epollCreate() {
        int fd = libc.epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0) {
            throw failure("epoll_create1", "EPOLL_CLOEXEC");
        }
        return fd;
    }

    @Override
    public void epollAdd(int epfd, int fd) {
        Pointer ev = Memory.allocateDirect(runtime, 16);
        ev.putInt(0, EPOLLIN | EPOLLHUP);
        ev.putLong(epollDataOffset, fd);
        if (libc.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
            throw failure("epoll_ctl(EPOLL_CTL_ADD)", "fd " + fd);
        }
    }

    @Override
    public void epollRemove(int epfd, int fd) {
        Pointer ev = Memory.allocateDirect(runtime, 16);
        libc.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, ev);
    }

    /** The event buffer of the one thread that waits (the monitor), kept between calls. */
    private final ThreadLocal<Pointer> epollEvents = new ThreadLocal<>();

    @Override
    public int epollWait(int epfd, int[] fds, int timeoutMillis) {
        Pointer events = epollEvents.get();
        if (events == null || events.size() < (long) epollEventSize * fds.length) {
            events = Memory.allocateDirect(runtime, (long) epollEventSize * fds.length);
            epollEvents.set(events);
        }
        int n = libc.epoll_wait(epfd, events, fds.length, timeoutMillis);
        if (n < 0) {
            if (errno() == EINTR) {
                return 0;
            }
            throw failure("epoll_wait", "fd " + epfd);
        }
        for (int i = 0; i < n; i++) {
            fds[i] = (int) events.getLong((long) i * epollEventSize + epollDataOffset);
        }
        return n;
    }

    /** jnr-posix reports some failures (fstat) through its handler: as the one exception of this interface. */
    private static final class Failures implements POSIXHandler {
        @Override
        public void error(Errno error, String call) {
            throw new NativeCallException(call, "", error.intValue());
        }

        @Override
        public void error(Errno error, String call, String argument) {
            throw new NativeCallException(call, argument, error.intValue());
        }

        @Override
        public void unimplementedError(String call) {
            throw new UnsupportedOperationException("jnr-posix: " + call + " is not implemented on this platform");
        }

        @Override
        public void warn(WARNING_ID id, String message, Object... data) {}

        @Override
        public boolean isVerbose() {
            return false;
        }

        @Override
        public File getCurrentWorkingDirectory() {
            return new File(System.getProperty("user.dir"));
        }

        @Override
        public String[] getEnv() {
            return new String[0];
        }

        @Override
        public InputStream getInputStream() {
            return System.in;
        }

        @Override
        public PrintStream getOutputStream() {
            return System.out;
        }

        @Override
        public int getPID() {
            return (int) ProcessHandle.current().pid();
        }

        @Override
        public PrintStream getErrorStream() {
            return System.err;
        }
    }
}
