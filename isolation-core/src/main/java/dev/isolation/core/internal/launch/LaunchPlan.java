package dev.isolation.core.internal.launch;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds one message of a launch plan: an ordered list of {@link Step}s, written by {@link
 * PlanCodec} in the format {@code plan.c} reads. {@code new LaunchPlan()} is a setup plan, {@link
 * #forExec()} an exec plan; a step whose phase does not belong in the message is refused.
 */
public final class LaunchPlan {

    /**
     * Kinds of {@link #mount} operation, as the helper's {@code enum mount_kind}. Targets are paths
     * inside the sandbox (with a new root, {@code /} is that root), resolved by the helper inside
     * it without following any symlink out of it; a missing mount point is created only on a tmpfs
     * the same setup mounted. Bind sources are host paths without symlinks (resolved when the
     * policy was built), opened by the helper without following any.
     */
    public enum MountKind {
        /** On a directory: a bind of a host directory ({@code MS_BIND}) or a new {@code fstype} file system. */
        DIR(0),
        /** A bind of a host file onto a regular file. */
        FILE(1),
        /** Add the flags' attributes (read-only, nosuid, ...) to the mount at the target, not to those below it. */
        REMOUNT(2),
        /** symlink(source, target). */
        SYMLINK(3),
        /** mkdir -p the target. */
        MKDIR(4),
        /** create the target file with {@code data} as its content. */
        WRITE(5),
        /** umount2(target, MNT_DETACH): the mount at the target and every mount below it. */
        DETACH(6),
        /** Go on in a private copy of the mount namespace (a persistent sandbox's run: mounts of its own); target {@code /}. */
        UNSHARE(7),
        /** Keep a detached copy of the mounts at the target, for the next {@link #REATTACH} (in the same order). */
        KEEP(8),
        /** Attach the next {@link #KEEP} copy at the target (after a fresh mount has covered the place it was). */
        REATTACH(9),
        /**
         * An overlayfs at the target: {@code source} the read-only layers (host directories, topmost
         * first, ':'-separated), the upper and work directories on a fresh tmpfs of {@code data} bytes.
         */
        OVERLAY(10);

        /** The helper's {@code enum mount_kind} value. */
        public final int code;

        MountKind(int code) {
            this.code = code;
        }

        static MountKind of(int code) {
            for (MountKind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown mount kind " + code);
        }
    }

    /** Who kills the sandbox on a call its seccomp filter forbids (the helper's {@code enum seccomp_mode}). */
    public enum SeccompMode {
        /** The kernel, by the filter's own action. */
        KERNEL_KILLS(0),
        /** The filter notifies; the monitor kills the sandbox at the first notification and reports the call. */
        MONITOR_KILLS(1);

        public final int code;

        SeccompMode(int code) {
            this.code = code;
        }

        static SeccompMode of(int code) {
            for (SeccompMode m : values()) {
                if (m.code == code) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown seccomp mode " + code);
        }
    }

    /**
     * Whom the monitor signals to end the sandbox (the helper's {@code enum kill_rule}): chosen by
     * the plan's compiler, one per setup plan; the helper refuses a plan without one, or with one
     * that contradicts the plan (an {@link #INIT} with a join or without an init, a {@link #PROGRAM}
     * without a join, a {@link #POOL} without a pool run).
     */
    public enum KillRule {
        /** The pid namespace's init (the sandbox's first process): it ends and reaps everything; SIGKILL after the grace. */
        INIT(0),
        /** A session run: its program alone (its reaper kills what it left behind); before the exec, the first process's session. */
        PROGRAM(1),
        /** The first process's session ({@code kill(-pid)}); the monitor, a subreaper, kills the rest. */
        SESSION(2),
        /** A pooled run: the pooled sandbox's init, told over the run's connection. */
        POOL(3);

        public final int code;

        KillRule(int code) {
            this.code = code;
        }

        static KillRule of(int code) {
            for (KillRule r : values()) {
                if (r.code == code) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown kill rule " + code);
        }
    }

    /** Securebits of {@code <linux/securebits.h>}, for {@link #capabilities}. */
    public static final long SECBIT_NOROOT = 1, SECBIT_NOROOT_LOCKED = 2, SECBIT_NO_SETUID_FIXUP = 4,
            SECBIT_NO_SETUID_FIXUP_LOCKED = 8, SECBIT_KEEP_CAPS = 16, SECBIT_KEEP_CAPS_LOCKED = 32,
            SECBIT_NO_CAP_AMBIENT_RAISE = 64, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 128;

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

    private final Tag.Message message;
    private final List<Step> steps = new ArrayList<>();

    /** A setup plan. */
    public LaunchPlan() {
        this(Tag.Message.SETUP);
    }

    private LaunchPlan(Tag.Message message) {
        this.message = message;
    }

    /** An exec plan: the program's own steps, then its command, environment and directory. */
    public static LaunchPlan forExec() {
        return new LaunchPlan(Tag.Message.EXEC);
    }

    /** Appends {@code step}, refusing one that does not belong in this message or at this place. */
    public LaunchPlan add(Step step) {
        if (!step.tag().phase.allowedIn(message)) {
            throw new IllegalArgumentException(step.tag() + " (" + step.tag().phase + ") does not belong in a " + message + " plan");
        }
        PlanCodec.checkOrder(steps, step);
        steps.add(step);
        return this;
    }

    /** The steps so far, in order. */
    public List<Step> steps() {
        return List.copyOf(steps);
    }

    public Tag.Message message() {
        return message;
    }

    private static String checked(String s) {
        PlanCodec.string(s); // refuses a NUL
        return s;
    }

    /** The namespaces to create: {@code CLONE_NEW*} flags ({@code CLONE_NEWCGROUP} goes by {@link #cgroupNamespace()}). */
    public LaunchPlan cloneFlags(long flags) {
        return add(new Step.CloneNamespaces(flags));
    }

    public LaunchPlan arg(String arg) {
        return add(new Step.Arg(checked(arg)));
    }

    public LaunchPlan env(String keyEqualsValue) {
        return add(new Step.Env(checked(keyEqualsValue)));
    }

    /** The program as the command names it (how failures name it); {@link #execPath} says where it is looked for. */
    public LaunchPlan execFile(String file) {
        return add(new Step.ExecFile(checked(file)));
    }

    /** A path the {@link #exec} step tries, in the order given. */
    public LaunchPlan execPath(String path) {
        return add(new Step.ExecPath(checked(path)));
    }

    public LaunchPlan workingDirectory(String dir) {
        return add(new Step.WorkingDirectory(checked(dir)));
    }

    public LaunchPlan hostname(String name) {
        return add(new Step.SetHostname(checked(name)));
    }

    /** Lines of {@code /proc/PID/uid_map}: "inside outside count". */
    public LaunchPlan uidMap(String map) {
        return add(new Step.UidMap(checked(map)));
    }

    public LaunchPlan gidMap(String map) {
        return add(new Step.GidMap(checked(map)));
    }

    /** Inside a new user namespace, become {@code uid}/{@code gid} (ids of that namespace) once the maps are written. */
    public LaunchPlan userNamespaceIds(int uid, int gid) {
        return add(new Step.UserNamespaceIds(uid, gid));
    }

    public LaunchPlan setgroupsDeny() {
        return add(new Step.SetgroupsDeny());
    }

    /** Mount a fresh proc on /proc (needs a new mount namespace). */
    public LaunchPlan mountProc() {
        return add(new Step.MountProc());
    }

    /** Make / recursively private, so that mounts do not propagate to the host. */
    public LaunchPlan makeRootPrivate() {
        return add(new Step.MakeRootPrivate());
    }

    public LaunchPlan loopbackUp() {
        return add(new Step.LoopbackUp());
    }

    /** See {@link Step.Init}. */
    public LaunchPlan init(long forwardedSignals, boolean killRest) {
        return add(new Step.Init(forwardedSignals, killRest));
    }

    /** A cgroup.procs (or tasks) file the sandbox joins before anything else runs in it. */
    public LaunchPlan joinCgroup(String procsFile) {
        return add(new Step.JoinCgroup(checked(procsFile)));
    }

    /** See {@link Step.PlaceInCgroup}: the monitor puts the sandbox's first process in this cgroup. */
    public LaunchPlan placeInCgroup(String procsFile) {
        if (!procsFile.startsWith("/")) {
            throw new IllegalArgumentException("cgroup placement: not an absolute path: " + procsFile);
        }
        return add(new Step.PlaceInCgroup(checked(procsFile)));
    }

    /** Create the sandbox's first process directly in this cgroup2 directory (clone3 CLONE_INTO_CGROUP, Linux 5.7+). */
    public LaunchPlan cloneIntoCgroup(String directory) {
        return add(new Step.CloneIntoCgroup(checked(directory)));
    }

    /*
     * What the helper does with the sandbox's cgroups when the JVM is gone (nothing else would),
     * as the cgroup library describes it (its Teardown): see Step.TeardownKill and the records
     * after it. Records of several cgroups (a session's keeper, then the session) add up.
     */

    /** A file that kills every process of a cgroup when {@code 1} is written to it (cgroup2 {@code cgroup.kill}). */
    public LaunchPlan teardownKillFile(String file) {
        return add(new Step.TeardownKill(checked(file)));
    }

    /** A freezer: {@code file} and the values that freeze and thaw it; the first one given freezes. */
    public LaunchPlan teardownFreezer(String file, String freezeValue, String thawValue) {
        return add(new Step.TeardownFreezer(checked(file), checked(freezeValue), checked(thawValue)));
    }

    /** A file listing a cgroup's pids, one a line. */
    public LaunchPlan teardownProcs(String file) {
        return add(new Step.TeardownProcs(checked(file)));
    }

    /** A cgroup directory to remove, after those given before it. */
    public LaunchPlan teardownRemove(String directory) {
        return add(new Step.TeardownRemove(checked(directory)));
    }

    /** Assemble a new root (the targets of the {@link #mount}s that follow) in a staging tmpfs, until {@link #pivotRoot}. */
    public LaunchPlan newRoot() {
        return add(new Step.NewRoot());
    }

    public LaunchPlan pivotRoot() {
        return add(new Step.PivotRoot());
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
        return add(new Step.Mount(kind, flags, options, orEmpty(source), checked(target), orEmpty(fstype), orEmpty(data),
                orEmpty(display)));
    }

    private static String orEmpty(String s) {
        return s == null ? "" : checked(s);
    }

    /** Run the program as these ids (of the namespace it is in), optionally with no supplementary groups. */
    public LaunchPlan runAs(int uid, int gid, boolean clearGroups) {
        return add(new Step.SetIds(uid, gid, clearGroups));
    }

    /** See {@link Step.DropCapabilities}. */
    public LaunchPlan capabilities(long keepMask, long securebits) {
        return add(new Step.DropCapabilities(keepMask, securebits));
    }

    /** See {@link Step.SetCapabilities}. */
    public LaunchPlan setCapabilities() {
        return add(new Step.SetCapabilities());
    }

    /** See {@link Step.EnterWorkingDirectory}. */
    public LaunchPlan enterWorkingDirectory() {
        return add(new Step.EnterWorkingDirectory());
    }

    /** See {@link Step.Exec}: the last step. */
    public LaunchPlan exec() {
        return add(new Step.Exec());
    }

    /** See {@link Step.KillRule}. */
    public LaunchPlan killRule(KillRule rule, long graceNanos) {
        return add(new Step.KillRule(rule, graceNanos));
    }

    /** See {@link Step.RunEnd}. */
    public LaunchPlan runEnd(boolean killRest) {
        return add(new Step.RunEnd(killRest));
    }

    public LaunchPlan noNewPrivs() {
        return add(new Step.NoNewPrivs());
    }

    /** A seccomp BPF program (struct sock_filter[]), installed right before execve. */
    public LaunchPlan seccomp(SeccompMode mode, byte[] bpf) {
        return add(new Step.InstallSeccomp(mode, bpf));
    }

    /** setrlimit(resource, {soft, hard}); -1 is RLIM_INFINITY. */
    public LaunchPlan rlimit(int resource, long soft, long hard) {
        return add(new Step.SetRlimit(resource, soft, hard));
    }

    /** Keep the set-up namespaces alive with a PID 1 that runs no program (a persistent sandbox). */
    public LaunchPlan session() {
        return add(new Step.Session());
    }

    /** A pooled sandbox's keeper listens on {@code socket}; see {@link Step.PoolListen}. */
    public LaunchPlan poolListen(String socket) {
        return add(new Step.PoolListen(socket));
    }

    /** The sandbox's first process becomes the pooled sandbox's init; see {@link Step.PoolInit}. */
    public LaunchPlan poolInit() {
        return add(new Step.PoolInit());
    }

    /** A run in the pooled sandbox that listens on {@code socket}; see {@link Step.PoolRun}. */
    public LaunchPlan poolRun(String socket) {
        return add(new Step.PoolRun(socket));
    }

    /** unshare(2) of {@code flags}; see {@link Step.UnshareNamespaces}. */
    public LaunchPlan unshare(long flags) {
        return add(new Step.UnshareNamespaces(flags));
    }

    /**
     * Enter the namespaces ({@code CLONE_NEW*} flags) of process {@code pid}, a persistent sandbox's
     * PID 1, whose start time ({@code /proc/PID/stat}'s 22nd field, clock ticks after boot) is
     * {@code startTime}: the helper refuses a process that reused the pid.
     */
    public LaunchPlan join(int pid, long startTime, long namespaceFlags) {
        return add(new Step.JoinNamespaces(pid, namespaceFlags, startTime));
    }

    /** The setup steps must be done this long after the sandbox's first process was cloned; past it setup fails. */
    public LaunchPlan setupTimeout(long nanos) {
        return add(new Step.SetupTimeout(nanos));
    }

    /** The monitor kills the sandbox this long after the program's exec. */
    public LaunchPlan wallLimit(long nanos) {
        return add(new Step.WallLimit(nanos));
    }

    /**
     * The monitor kills the sandbox once its CPU usage reaches {@code nanos}: the number in {@code
     * file} after {@code key} at the start of a line (the file's first number when {@code key} is
     * empty), times {@code nanosPerUnit}, as the cgroup library's CpuCounter describes it.
     */
    public LaunchPlan cpuCounter(long nanos, String file, String key, long nanosPerUnit) {
        return add(new Step.CpuCounter(nanos, nanosPerUnit, checked(file), checked(key)));
    }

    /**
     * Before the sandbox exists, the monitor kills every process of host uid {@code uid}: the
     * sandbox's leased uid, which nothing else may run as (leftovers of an earlier holder).
     */
    public LaunchPlan sweepUid(int uid) {
        return add(new Step.SweepUid(uid));
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
        return add(new Step.OutputRelay(fd, withStderr, limit));
    }

    /** Unshare a cgroup namespace after joining the cgroups, so the sandbox's cgroup is its root. */
    public LaunchPlan cgroupNamespace() {
        return add(new Step.UnshareCgroupNamespace());
    }

    public byte[] encode() {
        return PlanCodec.encode(message, steps);
    }
}
