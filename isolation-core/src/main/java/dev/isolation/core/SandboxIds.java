package dev.isolation.core;

import dev.isolation.core.internal.launch.HelperProcess;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host ids of a root JVM's sandboxes: each live sandbox gets a uid and gid (the same number)
 * of its own from a range, so that no host user, and no other sandbox, shares its per-user kernel
 * counts (RLIMIT_NPROC, inotify instances and watches, user namespaces, mqueue bytes) or may
 * signal, ptrace or read it (isolate gives each box {@code first_uid + box id} the same way).
 *
 * <p>An id is leased with a lock file per id, {@value #LOCK_DIR_NAME}/{@code <id>} (a root-only
 * directory), locked with {@code flock(LOCK_EX|LOCK_NB)}, so that JVMs on one host never lease the
 * same id. The sandbox's native monitor inherits the locked descriptor and holds it until it exits;
 * the JVM closes its own copy once the monitor has started. The lease therefore ends when the
 * monitor does (the sandbox has ended, or was discarded), also when the JVM dies first. A monitor
 * that was itself killed (SIGKILL) may leave a process of the sandbox behind: the JVM then leases
 * the id again at once and its new monitor kills every process of that uid ({@link #sweep}),
 * as the next monitor to lease an id does whenever its last holder did not end cleanly.
 *
 * <p>Thread-safe. A lease costs an open and a flock (more when other JVMs hold the lower ids);
 * lock files are kept for reuse, so there are as many as sandboxes ever ran at once.
 */
final class SandboxIds {
    /** The first id of the default range: 0x7F000000, above systemd's container ranges, below 2^31. */
    static final long DEFAULT_FIRST = 0x7F000000L;
    /** The number of ids of the default range. */
    static final int DEFAULT_COUNT = 65536;
    /** System property overriding the default range, {@code FIRST:COUNT}. */
    static final String PROPERTY = "isolation.idRange";
    static final String LOCK_DIR_NAME = "/run/isolation/ids";

    private static final Path LOCK_DIR = Path.of(LOCK_DIR_NAME);
    /** Ids this JVM leased whose monitor may still run: tried last (a hint; the lock decides). */
    private static final Set<Long> LEASED_HERE = ConcurrentHashMap.newKeySet();
    private static volatile boolean lockDirReady;

    private SandboxIds() {}

    /** {@code count} ids from {@code first}: never 0, 65534 (nobody) or 65535, at most 2147483647. */
    record Range(long first, int count) {
        Range {
            if (first < 1 || count < 1 || first + count - 1 > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("idRange(" + first + ", " + count
                        + "): need first >= 1, count >= 1 and first + count - 1 <= 2147483647");
            }
            for (long reserved : new long[] {65534, 65535}) {
                if (contains(first, count, reserved)) {
                    throw new IllegalArgumentException("idRange(" + first + ", " + count + ") contains " + reserved
                            + " (the host's nobody and the kernel's overflow id): choose ids no host user or group has");
                }
            }
        }

        boolean contains(long id) {
            return contains(first, count, id);
        }

        private static boolean contains(long first, int count, long id) {
            return id >= first && id < first + count;
        }

        @Override
        public String toString() {
            return first + ".." + (first + count - 1);
        }
    }

    /** The range of {@code -Disolation.idRange=FIRST:COUNT}, else 2130706432 and 65536 ids. */
    static Range defaultRange() {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank()) {
            return new Range(DEFAULT_FIRST, DEFAULT_COUNT);
        }
        String[] parts = p.trim().split(":");
        try {
            if (parts.length == 2) {
                return new Range(Long.parseLong(parts[0]), Integer.parseInt(parts[1]));
            }
        } catch (NumberFormatException e) {
            // reported below
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + p + ": " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + p + ": expected FIRST:COUNT, e.g. 2130706432:65536");
    }

    /** A leased id and, until the monitor holds it, the JVM's descriptor of its locked file. */
    static final class Lease implements AutoCloseable {
        private final long id;
        private int fd; // guarded by this; -1 once closed or handed over

        private Lease(long id, int fd) {
            this.id = id;
            this.fd = fd;
        }

        /** A lease of nothing: an id for compiling a plan that is never launched (the unit tests' plans). */
        static Lease unlocked(long id) {
            return new Lease(id, -1);
        }

        /** The uid and gid. */
        int id() {
            return (int) id;
        }

        synchronized int fd() {
            return fd;
        }

        /**
         * The monitor inherited the locked descriptor: the JVM's copy is closed, this JVM tries the
         * id last until the monitor is gone, and sweeps the id if the monitor is killed ({@link #sweep}).
         */
        void handedOver(HelperProcess monitor) {
            synchronized (this) {
                Kernel.get().close(fd);
                fd = -1;
            }
            monitor.whenKilled(() -> sweep(id));
            monitor.exited().whenComplete((r, e) -> LEASED_HERE.remove(id));
        }

        /** Ends a lease that was not handed over; nothing once it was. */
        @Override
        public void close() {
            synchronized (this) {
                if (fd < 0) {
                    return;
                }
                Kernel.get().close(fd);
                fd = -1;
            }
            LEASED_HERE.remove(id);
        }

        @Override
        public String toString() {
            return "sandbox id " + id;
        }
    }

    /**
     * A monitor killed by a signal never swept its sandbox: without a pid namespace, what the
     * program started in the background lives on as the id. Rather than leave it until the next
     * lease of the id, a sandbox of that one id runs {@code /bin/true} before the killed sandbox's
     * outcome completes: its monitor kills every process of the id (the lease file still says
     * "used") and marks it clean. If another sandbox holds the id by then, its monitor swept it.
     */
    private static void sweep(long id) {
        try {
            Sandbox.builder().idRange(id, 1).emptyEnvironment().build().run("/bin/true");
        } catch (RuntimeException e) {
            // this host cannot start one now: the id's next holder sweeps it
        }
    }

    /**
     * Leases the lowest id of {@code range} that no sandbox of any JVM on this host holds. The lock
     * alone decides (an open file description of its own per attempt, so that it also excludes this
     * JVM's other leases); ids this JVM leased to a monitor that may still run are tried last.
     *
     * @throws SandboxException if every id is in use, or the lock directory is unusable
     */
    static Lease lease(Range range) throws SandboxException {
        prepareLockDir();
        List<Long> leasedHere = new ArrayList<>();
        for (long id = range.first(); id < range.first() + range.count(); id++) {
            if (LEASED_HERE.contains(id)) {
                leasedHere.add(id);
                continue;
            }
            Lease lease = tryLease(id);
            if (lease != null) {
                return lease;
            }
        }
        for (long id : leasedHere) { // their monitors may have ended since
            Lease lease = tryLease(id);
            if (lease != null) {
                return lease;
            }
        }
        throw new SandboxException("all " + range.count() + " sandbox ids " + range + " are in use by live sandboxes:"
                + " give Sandbox.Builder.idRange(...) (or -D" + PROPERTY + "=FIRST:COUNT) more ids");
    }

    private static Lease tryLease(long id) throws SandboxException {
        int fd;
        try {
            fd = Kernel.get().open(LOCK_DIR_NAME + "/" + id, Kernel.O_RDWR | Kernel.O_CREAT | Kernel.O_NOFOLLOW, 0600);
        } catch (NativeCallException e) {
            throw new SandboxException("cannot lease sandbox id " + id + ": " + e.getMessage(), e);
        }
        try {
            if (Kernel.get().tryLockExclusive(fd)) {
                LEASED_HERE.add(id);
                return new Lease(id, fd);
            }
        } catch (NativeCallException e) {
            Kernel.get().close(fd);
            throw new SandboxException("cannot lease sandbox id " + id + ": " + e.getMessage(), e);
        }
        Kernel.get().close(fd);
        return null;
    }

    /** Creates /run/isolation/ids once per JVM, and checks that it is a root-only directory. */
    private static void prepareLockDir() throws SandboxException {
        if (lockDirReady) {
            return;
        }
        synchronized (SandboxIds.class) {
            if (lockDirReady) {
                return;
            }
            try {
                Files.createDirectories(LOCK_DIR.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
                if (!Files.isDirectory(LOCK_DIR, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(LOCK_DIR, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                }
                for (Path dir : new Path[] {LOCK_DIR.getParent(), LOCK_DIR}) {
                    int uid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                    int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    boolean tooOpen = dir.equals(LOCK_DIR) ? (mode & 077) != 0 : (mode & 022) != 0;
                    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || uid != 0 || tooOpen) {
                        throw new SandboxException(dir + " must be a directory owned by root, mode " + (dir.equals(LOCK_DIR) ? "0700" : "0755")
                                + " (it holds the locks of the sandboxes' host ids): remove it, or fix its owner and mode");
                    }
                }
            } catch (IOException e) {
                if (e instanceof SandboxException s) {
                    throw s;
                }
                throw new SandboxException("cannot create " + LOCK_DIR + " (the locks of the sandboxes' host ids): " + e, e);
            }
            lockDirReady = true;
        }
    }
}
