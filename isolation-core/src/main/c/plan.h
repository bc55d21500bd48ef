/*
 * The decoded launch plan, shared by the helper's parts: plan.c decodes it (and touches nothing
 * else, so a fuzzer can run it), the rest executes it.
 */
#ifndef ISOLATION_PLAN_H
#define ISOLATION_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "plan_tags.h"

#define PLAN_MAGIC 0x4c4f5349u /* "ISOL" */
#define PLAN_VERSION 4u
#define PLAN_HEADER 16u                /* u32 magic, version, message kind, body length */
#define PLAN_MAX_BYTES (64u << 20)     /* a longer body is refused before it is read */
#define MAX_LIST 4096                  /* argv, environment */
#define MAX_CGROUPS 63
#define MAX_KILL_FILES 7
#define MAX_FREEZERS 16
#define MAX_MOUNTS 256
#define MAX_RLIMITS 16
#define MAX_BPF_INSNS 4096             /* BPF_MAXINSNS */
#define MAX_STEPS 512                  /* steps of each phase */
#define MAX_EXEC_PATHS 1024

struct mount_op {
	uint64_t flags;
	uint32_t kind, options;
	const char *source, *target, *fstype, *data, *display; /* NULL where the plan has "" */
};

struct rlimit_op {
	uint32_t resource;
	uint64_t soft, hard;
};

struct relay_op {
	uint32_t fd, also; /* the program's descriptor (1 or 2); bit n of also: descriptor n shares it */
	uint64_t limit;    /* bytes the program may write to it */
};

/*
 * One step, in the order the setup plan lists it: the record's tag, and for records that repeat,
 * its index (into mounts, rlimits, cgroup_procs) or its values (the ids of USERNS_IDS).
 */
struct step {
	uint32_t tag;
	uint32_t index;
	uint32_t uid, gid;
};

/* What the records of the setup and exec plans said; strings point into the messages' buffers. */
struct plan {
	uint64_t clone_flags;
	char *argv[MAX_LIST + 1];
	int argc;
	char *envp[MAX_LIST + 1];
	int envc;
	char *cgroup_procs[MAX_CGROUPS + 1];
	int ncgroup_procs;
	char *place_cgroups[MAX_CGROUPS + 1]; /* PLACE_IN_CGROUP: the monitor writes the child's pid there */
	int nplace_cgroups;
	/* the cgroups' teardown if the JVM is gone (TEARDOWN_*) */
	char *teardown_kill[MAX_KILL_FILES + 1];
	int nteardown_kill;
	struct { const char *file, *freeze, *thaw; } teardown_freezers[MAX_FREEZERS];
	int nteardown_freezers;
	char *teardown_procs[MAX_CGROUPS + 1];
	int nteardown_procs;
	char *teardown_remove[MAX_CGROUPS + 1];
	int nteardown_remove;
	const char *exec_file, *cwd, *hostname, *uid_map, *gid_map, *clone_into_cgroup;
	char *exec_paths[MAX_EXEC_PATHS + 1]; /* where to look for the program, in order */
	int nexec_paths;
	struct step setup_steps[MAX_STEPS];    /* SETUP records, in order */
	int nsetup_steps;
	struct step program_steps[MAX_STEPS];  /* PROGRAM records, in order */
	int nprogram_steps;
	int setgroups_deny, mount_proc, loopback_up, init, cgroup_ns, make_private;
	int userns_ids;
	uint32_t userns_uid, userns_gid;
	int new_root;
	struct mount_op mounts[MAX_MOUNTS];
	int nmounts;
	int run_as, clear_groups;
	uint32_t uid, gid;
	int caps;
	uint64_t keep_caps, securebits;
	int no_new_privs;
	const char *seccomp_bpf; /* struct sock_filter[], unaligned: copied before it is installed */
	uint32_t seccomp_insns;
	struct rlimit_op rlimits[MAX_RLIMITS];
	int nrlimits;
	uint32_t seccomp_mode;
	uint64_t init_signals; /* bit n: the init forwards signal n to the program */
	uint32_t init_flags;   /* INIT_* */
	uint32_t run_end;      /* RUN_END_* */
	int session;
	uint32_t join_pid;
	uint64_t join_flags;
	uint64_t join_start_time; /* of join_pid, in clock ticks after boot (/proc/PID/stat's 22nd field) */
	uint64_t wall_limit_ns, cpu_limit_ns, setup_timeout_ns;
	uint64_t cpu_ns_per_unit;                  /* CPU_COUNTER: the counter's unit */
	const char *cpu_usage_file, *cpu_usage_key; /* key "": the file's first number */
	int sweep;
	uint32_t sweep_uid;
	struct relay_op relay_ops[2];
	int nrelays;
	const char *pool_listen, *pool_run; /* POOL_LISTEN, POOL_RUN: the pooled sandbox's socket */
	int pool;
	uint64_t unshare_flags; /* UNSHARE */
	int has_kill_rule;
	uint32_t kill_rule;     /* KILL_RULE: KILL_* */
	uint64_t kill_grace_ns; /* KILL_INIT: how long the init may take before SIGKILL */
};

/*
 * Checks a message's header (magic, version, that its kind is `kind`, that its length is
 * `len` - PLAN_HEADER) and returns the body length, or -1 with errno and *why set.
 */
long plan_check_header(const void *header, size_t len, uint32_t kind, const char **why);

/*
 * Decodes the whole message msg[0..len) (header included) of kind `kind` into p, which keeps what
 * earlier messages set. Every record's length is checked against its tag, every string is bounded
 * by its record (its last byte is its only NUL), and a tag whose phase does not belong in the
 * message is refused. Returns 0, or -1 with errno (EPROTO, E2BIG) and *why naming the problem; p
 * may then be partly filled. Does nothing but read msg and write p.
 */
int plan_decode(struct plan *p, uint32_t kind, char *msg, size_t len, const char **why);

#endif
