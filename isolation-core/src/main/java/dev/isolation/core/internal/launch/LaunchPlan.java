package dev.isolation.core.internal.launch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes the steps the native helper executes, in the format {@code isolation-helper.c} reads:
 * a header (magic, version, length) and records of (tag, length, value), strings NUL-terminated,
 * integers in native byte order. The helper executes the steps in its own fixed order; this class
 * only records what they are.
 */
public final class LaunchPlan {
    static final int MAGIC = 0x4c4f5349; // "ISOL"
    static final int VERSION = 1;

    static final int TAG_END = 0;
    static final int TAG_CLONE_FLAGS = 1;
    static final int TAG_ARG = 2;
    static final int TAG_ENV = 3;
    static final int TAG_EXEC_FILE = 4;
    static final int TAG_SEARCH_PATH = 5;
    static final int TAG_CWD = 6;
    static final int TAG_HOSTNAME = 7;
    static final int TAG_UID_MAP = 8;
    static final int TAG_GID_MAP = 9;
    static final int TAG_SETGROUPS_DENY = 10;
    static final int TAG_MOUNT_PROC = 11;
    static final int TAG_LOOPBACK_UP = 12;
    static final int TAG_INIT = 13;
    static final int TAG_CGROUP_PROCS = 14;
    static final int TAG_CGROUP_NS = 15;
    static final int TAG_MAKE_PRIVATE = 16;
    static final int TAG_USERNS_IDS = 17;
    static final int TAG_CLONE_INTO_CGROUP = 18;
    static final int TAG_NEW_ROOT = 20;
    static final int TAG_MOUNT = 21;
    static final int TAG_RUN_AS = 22;
    static final int TAG_CAPS = 23;
    static final int TAG_NO_NEW_PRIVS = 24;
    static final int TAG_SECCOMP = 25;
    static final int TAG_RLIMIT = 26;
    static final int TAG_WALL_LIMIT = 27;
    static final int TAG_SESSION = 29;
    static final int TAG_JOIN = 30;
    static final int TAG_SECCOMP_NOTIFY = 31;
    static final int TAG_SETUP_TIMEOUT = 32;
    static final int TAG_SWEEP_UID = 40;
    static final int TAG_OUTPUT_RELAY = 44;
    static final int TAG_TEARDOWN_KILL = 45;
    static final int TAG_TEARDOWN_FREEZER = 46;
    static final int TAG_TEARDOWN_PROCS = 47;
    static final int TAG_TEARDOWN_REMOVE = 48;
    static final int TAG_CPU_COUNTER = 49;

    /**
     * Kinds of {@link #mount} operation, as the helper's {@code enum mount_kind}. Targets are paths
     * inside the sandbox (with a new root, {@code /} is that root), resolved by the helper inside
     * it without following any symlink out of it; a missing mount point is created only on a tmpfs
     * the same setup mounted. Bind sources are host paths without symlinks (resolved when the
     * policy was built), opened by the helper without following any.
     */
    public enum MountKind {
        /** On a directory: a bind of a host directory ({@code MS_BIND}) or a new {@code fstype} file system. */
        DIR,
        /** A bind of a host file onto a regular file. */
        FILE,
        /** Add the flags' attributes (read-only, nosuid, ...) to the mount at the target, not to those below it. */
        REMOUNT,
        /** symlink(source, target). */
        SYMLINK,
        /** mkdir -p the target. */
        MKDIR,
        /** create the target file with {@code data} as its content. */
        WRITE,
        /** umount2(target, MNT_DETACH): the mount at the target and every mount below it. */
        DETACH,
        /** Go on in a private copy of the mount namespace (a persistent sandbox's run: mounts of its own); target {@code /}. */
        UNSHARE,
        /** Keep a detached copy of the mounts at the target, for the next {@link #REATTACH} (in the same order). */
        KEEP,
        /** Attach the next {@link #KEEP} copy at the target (after a fresh mount has covered the place it was). */
        REATTACH,
        /**
         * An overlayfs at the target: {@code source} the read-only layers (host directories, topmost
         * first, ':'-separated), the upper and work directories on a fresh tmpfs of {@code data} bytes.
         */
        OVERLAY
    }

    /** {@link #mount} option: the bind source may be a character device (a minimal /dev's nodes). */
    public static final int MOUNT_DEVICE_SOURCE = 1;

    /** {@link #mount} option of an {@link MountKind#OVERLAY}: {@code userxattr} (needed in a user namespace, Linux 5.11+). */
    public static final int MOUNT_USERXATTR = 2;

    /** Mount flags of mount(2), from {@code <sys/mount.h>}. */
    public static final long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_BIND = 4096, MS_REC = 16384;

    /** Namespace flags of clone(2), from {@code <linux/sched.h>}. */
    public static final long CLONE_NEWNS = 0x00020000L;
    public static final long CLONE_NEWCGROUP = 0x02000000L;
    public static final long CLONE_NEWUTS = 0x04000000L;
    public static final long CLONE_NEWIPC = 0x08000000L;
    public static final long CLONE_NEWUSER = 0x10000000L;
    public static final long CLONE_NEWPID = 0x20000000L;
    public static final long CLONE_NEWNET = 0x40000000L;

    private final ByteArrayOutputStream records = new ByteArrayOutputStream(512);

    private LaunchPlan record(int tag, byte[] value) {
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        head.putInt(tag).putInt(value.length);
        records.writeBytes(head.array());
        records.writeBytes(value);
        return this;
    }

    private LaunchPlan string(int tag, String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL character in " + value.replace('\0', '?'));
        }
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return record(tag, z);
    }

    private LaunchPlan flag(int tag) {
        return record(tag, new byte[0]);
    }

    /** The namespaces to create: {@code CLONE_NEW*} flags ({@code CLONE_NEWCGROUP} goes by {@link #cgroupNamespace()}). */
    public LaunchPlan cloneFlags(long flags) {
        return record(TAG_CLONE_FLAGS, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(flags).array());
    }

    public LaunchPlan arg(String arg) {
        return string(TAG_ARG, arg);
    }

    public LaunchPlan env(String keyEqualsValue) {
        return string(TAG_ENV, keyEqualsValue);
    }

    /** The program; searched in {@link #searchPath} when it contains no '/'. */
    public LaunchPlan execFile(String file) {
        return string(TAG_EXEC_FILE, file);
    }

    public LaunchPlan searchPath(String colonSeparated) {
        return string(TAG_SEARCH_PATH, colonSeparated);
    }

    public LaunchPlan workingDirectory(String dir) {
        return string(TAG_CWD, dir);
    }

    public LaunchPlan hostname(String name) {
        return string(TAG_HOSTNAME, name);
    }

    /** Lines of {@code /proc/PID/uid_map}: "inside outside count". */
    public LaunchPlan uidMap(String map) {
        return string(TAG_UID_MAP, map);
    }

    public LaunchPlan gidMap(String map) {
        return string(TAG_GID_MAP, map);
    }

    /** Inside a new user namespace, become {@code uid}/{@code gid} (ids of that namespace) once the maps are written. */
    public LaunchPlan userNamespaceIds(int uid, int gid) {
        return record(TAG_USERNS_IDS, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(uid).putInt(gid).array());
    }

    public LaunchPlan setgroupsDeny() {
        return flag(TAG_SETGROUPS_DENY);
    }

    /** Mount a fresh proc on /proc (needs a new mount namespace). */
    public LaunchPlan mountProc() {
        return flag(TAG_MOUNT_PROC);
    }

    /** Make / recursively private, so that mounts do not propagate to the host. */
    public LaunchPlan makeRootPrivate() {
        return flag(TAG_MAKE_PRIVATE);
    }

    public LaunchPlan loopbackUp() {
        return flag(TAG_LOOPBACK_UP);
    }

    /** Run a PID-1 init that reaps, forwards signals and exits with the program. */
    public LaunchPlan init() {
        return flag(TAG_INIT);
    }

    /** A cgroup.procs (or tasks) file the sandbox joins before anything else runs in it. */
    public LaunchPlan joinCgroup(String procsFile) {
        return string(TAG_CGROUP_PROCS, procsFile);
    }

    /** Create the sandbox's first process directly in this cgroup2 directory (clone3 CLONE_INTO_CGROUP, Linux 5.7+). */
    public LaunchPlan cloneIntoCgroup(String directory) {
        return string(TAG_CLONE_INTO_CGROUP, directory);
    }

    /*
     * What the helper does with the sandbox's cgroups when the JVM is gone (nothing else would),
     * as the cgroup library describes it (its Teardown): in bounded rounds, write every freezer's
     * thaw value; while a procs file lists a pid, write "1" to every kill file, or (without one)
     * the first freezer's freeze value, SIGKILL each pid, thaw; then rmdir the directories in the
     * order given. Records of several cgroups (a session's keeper, then the session) add up.
     */

    /** A file that kills every process of a cgroup when {@code 1} is written to it (cgroup2 {@code cgroup.kill}). */
    public LaunchPlan teardownKillFile(String file) {
        return string(TAG_TEARDOWN_KILL, file);
    }

    /** A freezer: {@code file} and the values that freeze and thaw it; the first one given freezes. */
    public LaunchPlan teardownFreezer(String file, String freezeValue, String thawValue) {
        return strings(TAG_TEARDOWN_FREEZER, file, freezeValue, thawValue);
    }

    /** A file listing a cgroup's pids, one a line. */
    public LaunchPlan teardownProcs(String file) {
        return string(TAG_TEARDOWN_PROCS, file);
    }

    /** A cgroup directory to remove, after those given before it. */
    public LaunchPlan teardownRemove(String directory) {
        return string(TAG_TEARDOWN_REMOVE, directory);
    }

    private LaunchPlan strings(int tag, String... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String v : values) {
            if (v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("NUL character in " + v.replace('\0', '?'));
            }
            out.writeBytes(v.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return record(tag, out.toByteArray());
    }

    /** Assemble a new root (the targets of {@link #mount}) in a staging tmpfs, then pivot into it and detach the host's. */
    public LaunchPlan newRoot() {
        return flag(TAG_NEW_ROOT);
    }

    /**
     * One mount operation, executed in order. {@code display} is how errors name it, e.g.
     * {@code "/data" -> "/mnt"}; null strings are sent as empty (NULL for the helper).
     */
    public LaunchPlan mount(MountKind kind, long flags, String source, String target, String fstype, String data,
            String display) {
        return mount(kind, flags, 0, source, target, fstype, data, display);
    }

    /** {@link #mount} with options such as {@link #MOUNT_DEVICE_SOURCE}. */
    public LaunchPlan mount(MountKind kind, long flags, int options, String source, String target, String fstype, String data,
            String display) {
        if (!target.startsWith("/")) {
            throw new IllegalArgumentException("mount target must be absolute: " + target);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(flags).putInt(kind.ordinal()).putInt(options).array());
        for (String s : new String[] {source, target, fstype, data, display}) {
            String v = s == null ? "" : s;
            if (v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("NUL character in " + v.replace('\0', '?'));
            }
            out.writeBytes(v.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return record(TAG_MOUNT, out.toByteArray());
    }

    /** Run the program as these ids (of the namespace it is in), optionally with no supplementary groups. */
    public LaunchPlan runAs(int uid, int gid, boolean clearGroups) {
        return record(TAG_RUN_AS, ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                .putInt(uid).putInt(gid).putInt(clearGroups ? 1 : 0).array());
    }

    /** Drop every capability (bounding, ambient, permitted, effective, inheritable) but those in {@code keepMask}; lock securebits. */
    public LaunchPlan capabilities(long keepMask) {
        return record(TAG_CAPS, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(keepMask).array());
    }

    public LaunchPlan noNewPrivs() {
        return flag(TAG_NO_NEW_PRIVS);
    }

    /** A seccomp BPF program (struct sock_filter[]), installed right before execve. */
    public LaunchPlan seccomp(byte[] bpf) {
        if (bpf.length % 8 != 0) {
            throw new IllegalArgumentException("a BPF program is a multiple of 8 bytes, not " + bpf.length);
        }
        return record(TAG_SECCOMP, bpf);
    }

    /** The filter of {@link #seccomp} notifies instead of killing: the monitor kills and names the call. */
    public LaunchPlan seccompNotify() {
        return flag(TAG_SECCOMP_NOTIFY);
    }

    /** setrlimit(resource, {soft, hard}); -1 is RLIM_INFINITY. */
    public LaunchPlan rlimit(int resource, long soft, long hard) {
        return record(TAG_RLIMIT, ByteBuffer.allocate(24).order(ByteOrder.nativeOrder())
                .putInt(resource).putInt(0).putLong(soft).putLong(hard).array());
    }

    /** Keep the set-up namespaces alive with a PID 1 that runs no program (a persistent sandbox). */
    public LaunchPlan session() {
        return flag(TAG_SESSION);
    }

    /**
     * Enter the namespaces ({@code CLONE_NEW*} flags) of process {@code pid}, a persistent sandbox's
     * PID 1, whose start time ({@code /proc/PID/stat}'s 22nd field, clock ticks after boot) is
     * {@code startTime}: the helper refuses a process that reused the pid.
     */
    public LaunchPlan join(int pid, long startTime, long namespaceFlags) {
        return record(TAG_JOIN, ByteBuffer.allocate(24).order(ByteOrder.nativeOrder()).putInt(pid).putInt(0)
                .putLong(namespaceFlags).putLong(startTime).array());
    }

    /** The setup steps must be done this long after the sandbox's first process was cloned; past it setup fails. */
    public LaunchPlan setupTimeout(long nanos) {
        return record(TAG_SETUP_TIMEOUT, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(nanos).array());
    }

    /** The monitor kills the sandbox this long after the program's exec. */
    public LaunchPlan wallLimit(long nanos) {
        return record(TAG_WALL_LIMIT, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(nanos).array());
    }

    /**
     * The monitor kills the sandbox once its CPU usage reaches {@code nanos}: the number in {@code
     * file} after {@code key} at the start of a line (the file's first number when {@code key} is
     * empty), times {@code nanosPerUnit}, as the cgroup library's CpuCounter describes it.
     */
    public LaunchPlan cpuCounter(long nanos, String file, String key, long nanosPerUnit) {
        if (nanosPerUnit < 1 || key.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("CPU counter key \"" + key + "\", " + nanosPerUnit + " ns per unit");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(nanos).putLong(nanosPerUnit).array());
        for (String v : new String[] {file, key}) {
            if (v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("NUL character in " + v.replace('\0', '?'));
            }
            out.writeBytes(v.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return record(TAG_CPU_COUNTER, out.toByteArray());
    }

    /**
     * Before the sandbox exists, the monitor kills every process of host uid {@code uid}: the
     * sandbox's leased uid, which nothing else may run as (leftovers of an earlier holder).
     */
    public LaunchPlan sweepUid(int uid) {
        return record(TAG_SWEEP_UID, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(uid).array());
    }

    /**
     * The program's descriptor {@code fd} (1 or 2; with {@code withStderr}, 1 and 2 on one pipe)
     * goes through the monitor, which delivers at most {@code limit} bytes to what the helper's
     * own {@code fd} is and kills the sandbox at the byte after them. A regular file is left as
     * it is: RLIMIT_FSIZE limits it.
     */
    public LaunchPlan outputRelay(int fd, boolean withStderr, long limit) {
        if ((fd != 1 && fd != 2) || (withStderr && fd != 1) || limit < 0) {
            throw new IllegalArgumentException("output relay of descriptor " + fd + (withStderr ? " with 2" : "") + ", limit " + limit);
        }
        return record(TAG_OUTPUT_RELAY, ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putInt(fd)
                .putInt(withStderr ? 1 << 2 : 0).putLong(limit).array());
    }

    /** Unshare a cgroup namespace after joining the cgroups, so the sandbox's cgroup is its root. */
    public LaunchPlan cgroupNamespace() {
        return flag(TAG_CGROUP_NS);
    }

    public byte[] encode() {
        byte[] body = records.toByteArray();
        ByteBuffer out = ByteBuffer.allocate(12 + body.length + 8).order(ByteOrder.nativeOrder());
        out.putInt(MAGIC).putInt(VERSION).putInt(body.length + 8).put(body).putInt(TAG_END).putInt(0);
        return out.array();
    }
}
