package dev.isolation.core.internal.launch;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One record of a launch plan, typed: what the helper is told, in the order it is told. Each
 * record type has one {@link Tag}; {@link PlanCodec} writes and reads them. Strings hold no NUL.
 */
public sealed interface Step {
    Tag tag();

    /** The namespaces to create: {@code CLONE_NEW*} flags. */
    record CloneNamespaces(long flags) implements Step {
        public Tag tag() { return Tag.CLONE_FLAGS; }
    }

    record Arg(String value) implements Step {
        public Tag tag() { return Tag.ARG; }
    }

    record Env(String keyEqualsValue) implements Step {
        public Tag tag() { return Tag.ENV; }
    }

    /** The program as the command names it: how a failure names it. */
    record ExecFile(String file) implements Step {
        public Tag tag() { return Tag.EXEC_FILE; }
    }

    /** A path {@link Exec} tries, in order (from PATH, as execvp would). */
    record ExecPath(String path) implements Step {
        public Tag tag() { return Tag.EXEC_PATH; }
    }

    record WorkingDirectory(String dir) implements Step {
        public Tag tag() { return Tag.CWD; }
    }

    record SetHostname(String name) implements Step {
        public Tag tag() { return Tag.HOSTNAME; }
    }

    /** Lines of {@code /proc/PID/uid_map} ("inside outside count"), written by the monitor. */
    record UidMap(String map) implements Step {
        public Tag tag() { return Tag.UID_MAP; }
    }

    record GidMap(String map) implements Step {
        public Tag tag() { return Tag.GID_MAP; }
    }

    /** The monitor writes "deny" to the child's {@code /proc/PID/setgroups} before its gid map. */
    record SetgroupsDeny() implements Step {
        public Tag tag() { return Tag.SETGROUPS_DENY; }
    }

    /** Mount a fresh proc on /proc (needs a new mount namespace). */
    record MountProc() implements Step {
        public Tag tag() { return Tag.MOUNT_PROC; }
    }

    record LoopbackUp() implements Step {
        public Tag tag() { return Tag.LOOPBACK_UP; }
    }

    /**
     * The first program step: a PID-1 init that forks the program, forwards it the signals of
     * {@code forwardedSignals} (bit n: signal n), reaps everything and exits with the program;
     * with {@code killRest}, what the program leaves behind is killed once it ended.
     */
    record Init(long forwardedSignals, boolean killRest) implements Step {
        public Tag tag() { return Tag.INIT; }
    }

    /** A cgroup.procs (or tasks) file the sandbox joins before anything else runs in it. */
    record JoinCgroup(String procsFile) implements Step {
        public Tag tag() { return Tag.CGROUP_PROCS; }
    }

    /**
     * A cgroup.procs (or tasks) file the monitor writes the sandbox's first process's pid into
     * before that process takes its first step: {@link JoinCgroup} for a process born in a new
     * user namespace, whose own write the kernel refuses (EACCES: it is no longer the host's root).
     */
    record PlaceInCgroup(String procsFile) implements Step {
        public Tag tag() { return Tag.PLACE_IN_CGROUP; }
    }

    /** Unshare a cgroup namespace after joining the cgroups, so the sandbox's cgroup is its root. */
    record UnshareCgroupNamespace() implements Step {
        public Tag tag() { return Tag.CGROUP_NS; }
    }

    /** Make / recursively private, so that mounts do not propagate to the host. */
    record MakeRootPrivate() implements Step {
        public Tag tag() { return Tag.MAKE_PRIVATE; }
    }

    /** Inside a new user namespace, become these ids (of that namespace) once the maps are written. */
    record UserNamespaceIds(int uid, int gid) implements Step {
        public Tag tag() { return Tag.USERNS_IDS; }
    }

    /** Create the sandbox's first process directly in this cgroup2 directory (clone3 CLONE_INTO_CGROUP, Linux 5.7+). */
    record CloneIntoCgroup(String directory) implements Step {
        public Tag tag() { return Tag.CLONE_INTO_CGROUP; }
    }

    /*
     * What the monitor does with the sandbox's cgroups when the JVM is gone (nothing else would),
     * as the cgroup library's Teardown describes it: in bounded rounds, write every freezer's thaw
     * value; while a procs file lists a pid, write "1" to every kill file, or (without one) the
     * first freezer's freeze value, SIGKILL each pid, thaw; then rmdir the directories in the
     * order given, and those made below them since. Records of several cgroups (a session's
     * keeper, then the session) add up.
     */

    /** A file that kills every process of a cgroup when {@code 1} is written to it (cgroup2 {@code cgroup.kill}). */
    record TeardownKill(String file) implements Step {
        public Tag tag() { return Tag.TEARDOWN_KILL; }
    }

    /** A freezer: {@code file} and the values that freeze and thaw it; the first one given freezes. */
    record TeardownFreezer(String file, String freezeValue, String thawValue) implements Step {
        public Tag tag() { return Tag.TEARDOWN_FREEZER; }
    }

    /** A file listing a cgroup's pids, one a line. */
    record TeardownProcs(String file) implements Step {
        public Tag tag() { return Tag.TEARDOWN_PROCS; }
    }

    /** A cgroup directory to remove, after those given before it. */
    record TeardownRemove(String directory) implements Step {
        public Tag tag() { return Tag.TEARDOWN_REMOVE; }
    }

    /** Assemble a new root (the targets of the {@link Mount}s that follow) in a staging tmpfs; bind sources are the host's. */
    record NewRoot() implements Step {
        public Tag tag() { return Tag.NEW_ROOT; }
    }

    /** The new root of {@link NewRoot} becomes /; the staging root and the host's are detached. */
    record PivotRoot() implements Step {
        public Tag tag() { return Tag.PIVOT_ROOT; }
    }

    /**
     * One mount operation (see {@link LaunchPlan.MountKind}); empty strings are none. {@code display}
     * is how errors name it, e.g. {@code "/data" -> "/mnt"}.
     */
    record Mount(LaunchPlan.MountKind kind, long flags, int options, String source, String target, String fstype, String data,
            String display) implements Step {
        public Tag tag() { return Tag.MOUNT; }
    }

    /** Run the program as these ids (of the namespace it is in), optionally with no supplementary groups. */
    record SetIds(int uid, int gid, boolean clearGroups) implements Step {
        public Tag tag() { return Tag.RUN_AS; }
    }

    /**
     * Empty the bounding and ambient sets but for {@code keepMask}, then set {@code securebits}
     * ({@code prctl(PR_SET_SECUREBITS)}); before {@link SetIds}, while CAP_SETPCAP is held.
     */
    record DropCapabilities(long keepMask, long securebits) implements Step {
        public Tag tag() { return Tag.CAPS; }
    }

    /** After {@link SetIds}: exactly {@link DropCapabilities}'s kept capabilities, effective, permitted, inheritable and ambient. */
    record SetCapabilities() implements Step {
        public Tag tag() { return Tag.SET_CAPS; }
    }

    /** chdir to the exec plan's {@link WorkingDirectory}, if it has one. */
    record EnterWorkingDirectory() implements Step {
        public Tag tag() { return Tag.CHDIR; }
    }

    /** The last step: execve the exec plan's command, trying its {@link ExecPath}s in order. */
    record Exec() implements Step {
        public Tag tag() { return Tag.EXEC; }
    }

    /** What the monitor does once the sandbox's first process ended: with {@code killRest}, kill and reap what is left. */
    record RunEnd(boolean killRest) implements Step {
        public Tag tag() { return Tag.RUN_END; }
    }

    /**
     * Whom the monitor signals to end the sandbox ({@code rule}), and with {@link
     * LaunchPlan.KillRule#INIT} how long the init may take to end everything before it is killed
     * outright ({@code graceNanos}; 0 for the other rules).
     */
    record KillRule(LaunchPlan.KillRule rule, long graceNanos) implements Step {
        public KillRule {
            java.util.Objects.requireNonNull(rule, "rule");
            if (graceNanos < 0) {
                throw new IllegalArgumentException("kill rule grace of " + graceNanos + " ns");
            }
        }

        public Tag tag() { return Tag.KILL_RULE; }
    }

    record NoNewPrivs() implements Step {
        public Tag tag() { return Tag.NO_NEW_PRIVS; }
    }

    /** A seccomp BPF program (struct sock_filter[]); {@code mode} says who kills on a forbidden call. */
    record InstallSeccomp(LaunchPlan.SeccompMode mode, byte[] bpf) implements Step {
        public InstallSeccomp {
            if (bpf.length == 0) {
                throw new IllegalArgumentException("an empty BPF program");
            }
            if (bpf.length % 8 != 0) {
                throw new IllegalArgumentException("a BPF program is a multiple of 8 bytes, not " + bpf.length);
            }
            bpf = bpf.clone();
        }

        @Override
        public byte[] bpf() {
            return bpf.clone();
        }

        public Tag tag() { return Tag.SECCOMP; }

        @Override
        public boolean equals(Object o) {
            return o instanceof InstallSeccomp s && mode == s.mode && Arrays.equals(bpf, s.bpf);
        }

        @Override
        public int hashCode() {
            return mode.hashCode() * 31 + Arrays.hashCode(bpf);
        }

        @Override
        public String toString() {
            return "InstallSeccomp[" + mode + ", " + bpf.length / 8 + " instructions, " + HexFormat.of().formatHex(bpf, 0, Math.min(16, bpf.length)) + "...]";
        }
    }

    /** setrlimit(resource, {soft, hard}); -1 is RLIM_INFINITY. */
    record SetRlimit(int resource, long soft, long hard) implements Step {
        public Tag tag() { return Tag.RLIMIT; }
    }

    /** The monitor kills the sandbox this long after the program's exec. */
    record WallLimit(long nanos) implements Step {
        public Tag tag() { return Tag.WALL_LIMIT; }
    }

    /**
     * The monitor kills the sandbox once its CPU usage reaches {@code nanos}: the number in {@code
     * file} after {@code key} at the start of a line (the file's first number when {@code key} is
     * empty), times {@code nanosPerUnit}, as the cgroup library's CpuCounter describes it.
     */
    record CpuCounter(long nanos, long nanosPerUnit, String file, String key) implements Step {
        public CpuCounter {
            if (nanosPerUnit < 1 || key.indexOf(' ') >= 0 || key.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("CPU counter key \"" + key + "\", " + nanosPerUnit + " ns per unit");
            }
        }

        public Tag tag() { return Tag.CPU_COUNTER; }
    }

    /** Keep the set-up namespaces alive with a PID 1 that runs no program (a persistent sandbox). */
    record Session() implements Step {
        public Tag tag() { return Tag.SESSION; }
    }

    /**
     * Enter the namespaces ({@code CLONE_NEW*} flags) of process {@code pid}, a persistent sandbox's
     * PID 1, whose start time ({@code /proc/PID/stat}'s 22nd field, clock ticks after boot) is
     * {@code startTime}: the helper refuses a process that reused the pid.
     */
    record JoinNamespaces(int pid, long namespaceFlags, long startTime) implements Step {
        public Tag tag() { return Tag.JOIN; }
    }

    /**
     * A pooled sandbox's keeper: its monitor listens on the unix socket {@code socket} (its name, a
     * space and the pool's secret, 32 characters: a request without the secret is not served)
     * before the sandbox exists; the sandbox's first process inherits it for {@link PoolInit}.
     */
    record PoolListen(String socket) implements Step {
        public Tag tag() { return Tag.POOL_LISTEN; }
    }

    /**
     * The last setup step of a pooled sandbox: its first process stays as its init (PID 1 of its
     * pid namespace, in its cgroup) and forks one run at a time for the monitors that connect to
     * its socket (from outside its pid namespace only); once a run's program ended it kills and
     * reaps everything else of the run before it reports the run's figures and takes the next.
     */
    record PoolInit() implements Step {
        public Tag tag() { return Tag.POOL; }
    }

    /**
     * A run in a pooled sandbox: the monitor connects to its socket ({@code socket}: its name, a
     * space and the pool's secret, which the request carries) instead of creating a sandbox, and
     * hands it this plan, the exec plan, the standard streams and the report socket; the
     * sandbox's init forks the run's process, which executes the setup and program steps.
     */
    record PoolRun(String socket) implements Step {
        public Tag tag() { return Tag.POOL_RUN; }
    }

    /** unshare(2) of {@code flags} (only {@code CLONE_NEWIPC}: a pooled run's own System V IPC and POSIX queues). */
    record UnshareNamespaces(long flags) implements Step {
        public UnshareNamespaces {
            if (flags != LaunchPlan.CLONE_NEWIPC) {
                throw new IllegalArgumentException("unshare of " + Long.toHexString(flags) + ": only CLONE_NEWIPC");
            }
        }

        public Tag tag() { return Tag.UNSHARE; }
    }

    /** The setup steps must be done this long after the sandbox's first process was cloned. */
    record SetupTimeout(long nanos) implements Step {
        public Tag tag() { return Tag.SETUP_TIMEOUT; }
    }

    /** Before the sandbox exists, the monitor kills every process of host uid {@code uid}. */
    record SweepUid(int uid) implements Step {
        public Tag tag() { return Tag.SWEEP_UID; }
    }

    /** The program's descriptor {@code fd} (with {@code withStderr}, 1 and 2 on one pipe) goes through the monitor, capped at {@code limit} bytes. */
    record OutputRelay(int fd, boolean withStderr, long limit) implements Step {
        public Tag tag() { return Tag.OUTPUT_RELAY; }
    }
}
