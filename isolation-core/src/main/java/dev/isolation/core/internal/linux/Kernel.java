package dev.isolation.core.internal.linux;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/**
 * The one way from Java into the kernel. Every method throws {@link NativeCallException}
 * naming the call, its errno and its argument; errno is read on the calling thread right after the
 * failing call.
 */
public interface Kernel {
    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_CREAT = 0100;
    int O_TRUNC = 01000;
    int O_APPEND = 02000;
    int O_CLOEXEC = 02000000;
    int O_RDWR = 2;
    int O_NOFOLLOW = 0400000;
    int O_EXCL = 0200;
    int O_NONBLOCK = 04000;
    int O_DIRECTORY = 0200000;
    int O_PATH = 010000000;

    static Kernel get() {
        return JnrKernel.INSTANCE;
    }

    /** A new pipe, both ends close-on-exec: {@code [read, write]}. */
    int[] pipe();

    void close(int fd);

    /** Reads up to {@code buf.length} bytes; 0 at end of file. */
    int read(int fd, byte[] buf);

    /** Writes all of {@code buf}. */
    void write(int fd, byte[] buf);

    /** Writes all that remains of a direct buffer, straight from its memory (no copy), and advances its position. */
    void write(int fd, ByteBuffer direct);

    int getpid();

    int getuid();

    int getgid();

    /**
     * A sealed (read-only, fixed-size) executable memfd holding {@code content}, reopened read-only
     * so it can be executed; a {@link NativeCallException} where this host forbids executable memfds
     * ({@code vm.memfd_noexec=2}).
     */
    int sealedMemfd(String name, byte[] content);

    /** Opens {@code path}; the descriptor is close-on-exec. */
    int open(String path, int flags, int mode);

    /** openat(2) relative to {@code dirfd}; the descriptor is close-on-exec. */
    int openat(int dirfd, String name, int flags, int mode);

    /** mkdirat(2). */
    void mkdirat(int dirfd, String name, int mode);

    /** unlinkat(2); with {@code directory}, AT_REMOVEDIR (an empty directory). */
    void unlinkat(int dirfd, String name, boolean directory);

    /** symlinkat(2): {@code name} in {@code dirfd}, a symlink to {@code target} (which is not resolved). */
    void symlinkat(String target, int dirfd, String name);

    /** linkat(2) without AT_SYMLINK_FOLLOW: a hard link {@code to} of what {@code from} names itself. */
    void linkat(int fromDirfd, String from, int toDirfd, String to);

    /** mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)): an overlayfs whiteout (allowed without CAP_MKNOD since Linux 5.8). */
    void mknodWhiteoutAt(int dirfd, String name);

    void fchmod(int fd, int mode);

    /** futimens(2): the access and modification times of an open file, both {@code time}. */
    void futimens(int fd, Instant time);

    /** utimensat(2) with AT_SYMLINK_NOFOLLOW: the access and modification times of {@code name} itself (a symlink's own). */
    void utimensatNoFollow(int dirfd, String name, Instant time);

    /** fchownat(2) with AT_SYMLINK_NOFOLLOW: the owner of {@code name} itself (a symlink's own). */
    void fchownatNoFollow(int dirfd, String name, int uid, int gid);

    /** fsetxattr(fd, name, value, size, 0) on an open file. */
    void setXattr(int fd, String name, byte[] value);

    /** What fstat(2) says of an open file. */
    record Stat(int mode, long size, int uid, int gid) {
        private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000;

        public boolean regularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }

        public boolean directory() {
            return (mode & S_IFMT) == S_IFDIR;
        }
    }

    Stat fstat(int fd);

    void fchown(int fd, int uid, int gid);

    /**
     * flock(fd, LOCK_EX | LOCK_NB): an exclusive lock of the open file description, shared by every
     * process that inherits the descriptor and released when the last one closes it.
     *
     * @return false if another open file description holds a lock on the file (EWOULDBLOCK)
     */
    boolean tryLockExclusive(int fd);

    /** Blocks until {@code pid} exits; returns its raw wait status. */
    int waitpid(int pid);

    /** A file action of {@link #spawn}: applied in order in the child before exec. */
    sealed interface FileAction {
        record Dup2(int fd, int target) implements FileAction {}

        record Open(String path, int target, int flags, int mode) implements FileAction {}
    }

    /** posix_spawn; descriptors not named by a {@link FileAction.Dup2} are inherited only if not close-on-exec. */
    int spawn(String path, List<FileAction> actions, String[] argv, String[] envp);

    int epollCreate();

    /** Watches {@code fd} for input and hang-up; the event carries {@code fd}. */
    void epollAdd(int epfd, int fd);

    void epollRemove(int epfd, int fd);

    /** Waits for events; fills {@code fds} with the descriptors that are ready and returns how many. */
    int epollWait(int epfd, int[] fds, int timeoutMillis);

    /** mknod(path, S_IFCHR | 0, makedev(0, 0)): an overlayfs whiteout (allowed without CAP_MKNOD since Linux 5.8). */
    void mknodWhiteout(String path);

    /** lsetxattr(path, name, value, size, 0), on the path itself (a symlink is not followed). */
    void setXattr(String path, String name, byte[] value);
}
