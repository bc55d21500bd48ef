/*
 * The launch plan's record tags, mount kinds and seccomp modes: the C side of Tag.java and
 * LaunchPlan.java. PlanFormatTest reads this file and checks it against the Java enums (names,
 * numbers, phases), so a tag cannot change on one side only. Numbers are never reused.
 *
 * X(name, number, phase): the phase says which message may carry the record, and where (plan.c):
 *   MONITOR  setup plan; read by the monitor (what it must do: limits, kills, teardown)
 *   SETUP    setup plan; a step of the sandbox's first process, executed in the order listed
 *   PROGRAM  setup plan, after every SETUP step; a step of the program's own process, executed in
 *            the order listed once the exec plan arrived, ending with EXEC
 *   EXEC     exec plan; the program's command, environment, directory (data, no step)
 *   ANY      every message (the end record)
 * Retired numbers, never to be reused: 5 (search path, now EXEC_PATH), 19 (orphan cgroup, now the
 * TEARDOWN_* records), 28 (CPU limit with a usage format, now CPU_COUNTER), 31 (seccomp notify, now
 * SECCOMP's mode).
 *
 * The TEARDOWN_* records are the cgroup library's Teardown, what the monitor does with the
 * sandbox's cgroups if the JVM is gone (records of several cgroups add up):
 *   TEARDOWN_KILL     string: a file that kills a cgroup's processes when "1" is written
 *   TEARDOWN_FREEZER  strings file, freeze value, thaw value; the first one freezes
 *   TEARDOWN_PROCS    string: a file listing a cgroup's pids
 *   TEARDOWN_REMOVE   string: a cgroup directory to remove, in this order
 *   CPU_COUNTER       u64 limit ns, u64 ns per unit, strings file and key ("" = the file's first number)
 *
 * PLACE_IN_CGROUP (string: a cgroup.procs or tasks file) is the monitor's CGROUP_PROCS: it writes
 * the sandbox's first process's pid there before that process takes its first step (behind the
 * sync pipe), for a process that cannot join the cgroup itself (born in a new user namespace).
 *
 * A pooled sandbox (SandboxPool): its keeper's monitor listens on POOL_LISTEN's socket (a host
 * path) before the sandbox exists; the sandbox's first process inherits it and, at the POOL step,
 * becomes the pooled sandbox's init, which forks one run at a time. A run's monitor (POOL_RUN)
 * connects to that socket instead of cloning a sandbox, and hands over the run's plans, its
 * standard streams and its report socket; the run's process, forked by that init inside the
 * already-placed cgroup, executes the run's setup steps (UNSHARE: its own IPC namespace; its own
 * mounts) and program steps.
 *   POOL_LISTEN       string: the socket's path (or @abstract name), a space, the pool's secret (32 characters)
 *   POOL              (no value)
 *   POOL_RUN          string: the same: the request carries the secret (pool.c)
 *   UNSHARE           u64 CLONE_NEW* flags: unshare(2) them
 *
 * KILL_RULE (u32 rule of KILL_RULES, u32 0, u64 grace ns) says whom the monitor signals to end the
 * sandbox: exactly one per setup plan, chosen by Java (PlanCompiler); plan.c refuses a plan without
 * one, and one that contradicts the plan's other records.
 */
#ifndef ISOLATION_PLAN_TAGS_H
#define ISOLATION_PLAN_TAGS_H

#define PLAN_TAGS(X) \
	X(END, 0, ANY) \
	X(CLONE_FLAGS, 1, MONITOR) \
	X(ARG, 2, EXEC) \
	X(ENV, 3, EXEC) \
	X(EXEC_FILE, 4, EXEC) \
	X(CWD, 6, EXEC) \
	X(HOSTNAME, 7, SETUP) \
	X(UID_MAP, 8, MONITOR) \
	X(GID_MAP, 9, MONITOR) \
	X(SETGROUPS_DENY, 10, MONITOR) \
	X(MOUNT_PROC, 11, SETUP) \
	X(LOOPBACK_UP, 12, SETUP) \
	X(INIT, 13, PROGRAM) \
	X(CGROUP_PROCS, 14, SETUP) \
	X(CGROUP_NS, 15, SETUP) \
	X(MAKE_PRIVATE, 16, SETUP) \
	X(USERNS_IDS, 17, SETUP) \
	X(CLONE_INTO_CGROUP, 18, MONITOR) \
	X(NEW_ROOT, 20, SETUP) \
	X(MOUNT, 21, SETUP) \
	X(RUN_AS, 22, PROGRAM) \
	X(CAPS, 23, PROGRAM) \
	X(NO_NEW_PRIVS, 24, PROGRAM) \
	X(SECCOMP, 25, PROGRAM) \
	X(RLIMIT, 26, PROGRAM) \
	X(WALL_LIMIT, 27, MONITOR) \
	X(SESSION, 29, SETUP) \
	X(JOIN, 30, SETUP) \
	X(SETUP_TIMEOUT, 32, MONITOR) \
	X(SWEEP_UID, 40, MONITOR) \
	X(OUTPUT_RELAY, 44, MONITOR) \
	X(PIVOT_ROOT, 45, SETUP) \
	X(SET_CAPS, 46, PROGRAM) \
	X(CHDIR, 47, PROGRAM) \
	X(EXEC, 48, PROGRAM) \
	X(EXEC_PATH, 49, EXEC) \
	X(RUN_END, 50, MONITOR) \
	X(TEARDOWN_KILL, 51, MONITOR) \
	X(TEARDOWN_FREEZER, 52, MONITOR) \
	X(TEARDOWN_PROCS, 53, MONITOR) \
	X(TEARDOWN_REMOVE, 54, MONITOR) \
	X(CPU_COUNTER, 55, MONITOR) \
	X(PLACE_IN_CGROUP, 56, MONITOR) \
	X(POOL_LISTEN, 57, MONITOR) \
	X(POOL, 58, SETUP) \
	X(POOL_RUN, 59, MONITOR) \
	X(UNSHARE, 60, SETUP) \
	X(KILL_RULE, 61, MONITOR)

#define PLAN_TAG_ENUM(name, number, phase) TAG_##name = number,
enum plan_tag { PLAN_TAGS(PLAN_TAG_ENUM) TAG_LIMIT };
#undef PLAN_TAG_ENUM

/* The message kinds of the plan header. */
enum plan_message { MESSAGE_SETUP = 1, MESSAGE_EXEC = 2 };

/* X(name, number): what a TAG_MOUNT record asks for (LaunchPlan.MountKind). */
#define MOUNT_KINDS(X) \
	X(DIR, 0)      /* on a directory: a bind of a directory (MS_BIND) or a new fstype file system */ \
	X(FILE, 1)     /* a bind of a file onto a regular file */ \
	X(REMOUNT, 2)  /* add the flags' attributes to the mount at target (not to those below it) */ \
	X(SYMLINK, 3)  /* symlink(source, target) */ \
	X(MKDIR, 4)    /* mkdir -p target */ \
	X(WRITE, 5)    /* create target with data as its content */ \
	X(DETACH, 6)   /* umount2(target, MNT_DETACH): the mount at target and those below it */ \
	X(UNSHARE, 7)  /* go on in a private copy of the mount namespace (a session run's own mounts) */ \
	X(KEEP, 8)     /* a detached copy of the mounts at target, for a MOUNT_REATTACH (same order) */ \
	X(REATTACH, 9) /* attach the next MOUNT_KEEP copy at target, once a fresh mount covered it */ \
	X(OVERLAY, 10) /* an overlayfs of the layers in source (':'-separated, topmost first) over a fresh tmpfs */

#define MOUNT_KIND_ENUM(name, number) MOUNT_##name = number,
enum mount_kind { MOUNT_KINDS(MOUNT_KIND_ENUM) MOUNT_KIND_LIMIT };
#undef MOUNT_KIND_ENUM

/* X(name, number): TAG_SECCOMP's mode, and what the monitor does (LaunchPlan.SeccompMode). */
#define SECCOMP_MODES(X) \
	X(KERNEL_KILLS, 0)  /* the filter's kills are the kernel's */ \
	X(MONITOR_KILLS, 1) /* the filter notifies: the monitor kills the sandbox at the first notification, naming the call */

#define SECCOMP_MODE_ENUM(name, number) SECCOMP_##name = number,
enum seccomp_mode { SECCOMP_MODES(SECCOMP_MODE_ENUM) SECCOMP_MODE_LIMIT };
#undef SECCOMP_MODE_ENUM

/* X(name, number): TAG_KILL_RULE's rule, whom the monitor signals to end the sandbox (LaunchPlan.KillRule). */
#define KILL_RULES(X) \
	X(INIT, 0)    /* the pid namespace's init (the first process): it ends and reaps everything; SIGKILL after the grace */ \
	X(PROGRAM, 1) /* a session run: its program alone (its reaper kills what it left); needs a JOIN */ \
	X(SESSION, 2) /* the first process's session (kill(-pid)); the monitor, a subreaper, kills the rest */ \
	X(POOL, 3)    /* a pooled run: the pooled sandbox's init, over POOL_RUN's connection; needs a POOL_RUN */

#define KILL_RULE_ENUM(name, number) KILL_##name = number,
enum kill_rule { KILL_RULES(KILL_RULE_ENUM) KILL_RULE_LIMIT };
#undef KILL_RULE_ENUM

/* TAG_INIT's flags: what the sandbox's init does. */
#define INIT_KILL_REST 1u /* once the program ended, kill everything else in the sandbox (reaped, counted) */

/* TAG_RUN_END's flags: what the monitor does once the sandbox's first process ended. */
#define RUN_END_KILL_REST 1u /* kill what is left (its session, and what was re-parented to the monitor) and reap it */

#endif
