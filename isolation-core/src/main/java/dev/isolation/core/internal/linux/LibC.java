package dev.isolation.core.internal.linux;

import java.nio.ByteBuffer;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.annotations.Variadic;

/**
 * glibc functions the Java side uses that jnr-posix does not have (or, for posix_spawn, does not
 * report the failure of), declared as in the C headers. Public because jnr-ffi generates its
 * implementation in another class loader; not part of the API.
 */
@SaveError
public interface LibC {
    // <unistd.h>
    int pipe2(@Out int[] fds, int flags);

    int unlinkat(int dirfd, String path, int flags);

    /** With a direct buffer: written from its memory, not copied. */
    long write(int fd, @In ByteBuffer buf, long count);

    int symlinkat(String target, int newdirfd, String linkpath);

    int linkat(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

    int fchownat(int dirfd, String path, int owner, int group, int flags);

    // <fcntl.h>
    @Variadic(fixedCount = 2)
    int fcntl(int fd, int cmd, int arg);

    @Variadic(fixedCount = 3)
    int openat(int dirfd, String path, int flags, int mode);

    // <sys/stat.h> (glibc 2.33+ exports mknodat itself)
    int mknodat(int dirfd, String path, int mode, long dev);

    int mkdirat(int dirfd, String path, int mode);

    int fchmod(int fd, int mode);

    /** {@code times}: struct timespec[2] (access, modification) as {tv_sec, tv_nsec, tv_sec, tv_nsec}. */
    int futimens(int fd, @In long[] times);

    int utimensat(int dirfd, String path, @In long[] times, int flags);

    // <sys/xattr.h>
    int lsetxattr(String path, String name, @In byte[] value, long size, int flags);

    int fsetxattr(int fd, String name, @In byte[] value, long size, int flags);

    // <sys/mman.h>
    int memfd_create(String name, int flags);

    // <spawn.h>; posix_spawn returns an error number instead of setting errno
    int posix_spawn(@Out int[] pid, String path, Pointer fileActions, Pointer attr, String[] argv, String[] envp);

    int posix_spawn_file_actions_init(Pointer fileActions);

    int posix_spawn_file_actions_destroy(Pointer fileActions);

    int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

    int posix_spawn_file_actions_addopen(Pointer fileActions, int fd, String path, int flags, int mode);

    // <sys/epoll.h>
    int epoll_create1(int flags);

    int epoll_ctl(int epfd, int op, int fd, Pointer event);

    int epoll_wait(int epfd, Pointer events, int maxEvents, int timeout);
}
