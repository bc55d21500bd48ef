/*
 * isolation-helper: the native executor of a launch plan.
 *
 * Java decides, this program executes. It is started by the JVM with
 *
 *     isolation-helper CONTROL_FD STATUS_FD [LEASE_FD]
 *
 * reads the sandbox's setup plan from CONTROL_FD, creates the sandbox's first process in new
 * namespaces and performs the setup steps in a fixed order. That process then reads the exec plan
 * (command, environment, directory) from CONTROL_FD and execs the program. The two plans may
 * arrive back to back, or the JVM may keep a set-up sandbox waiting ("prewarmed") and send the
 * exec plan when a program is started. It then stays in the host namespaces
 * as the sandbox's monitor: it reports the program's exit status and rusage on STATUS_FD, obeys
 * one-byte commands on CONTROL_FD ('T' terminate, 'K' kill) and kills the whole sandbox when
 * CONTROL_FD reports end of file (the JVM closed it, or died). LEASE_FD, if given, is a lock the
 * JVM took on the sandbox's host uid: the monitor holds it open until it exits, so the uid stays
 * leased while anything of the sandbox may live, even after the JVM is gone.
 *
 * Every failure is reported as (errno, syscall, argument) and ends the run; there is no policy
 * here. The plan and report formats are defined in LaunchPlan.java and HelperReport.java.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PLAN_MAGIC 0x4c4f5349u /* "ISOL" */
#define PLAN_VERSION 1u

enum plan_tag {
	TAG_END = 0,
	TAG_CLONE_FLAGS = 1,   /* u64: CLONE_NEW* flags */
	TAG_ARG = 2,           /* string, repeated: argv */
	TAG_ENV = 3,           /* string, repeated: envp */
	TAG_EXEC_FILE = 4,     /* string: program; searched in TAG_SEARCH_PATH if it has no '/' */
	TAG_SEARCH_PATH = 5,   /* string: colon-separated directories */
	TAG_CWD = 6,           /* string */
	TAG_HOSTNAME = 7,      /* string */
	TAG_UID_MAP = 8,       /* string written to /proc/PID/uid_map */
	TAG_GID_MAP = 9,       /* string written to /proc/PID/gid_map */
	TAG_SETGROUPS_DENY = 10,
	TAG_MOUNT_PROC = 11,
	TAG_LOOPBACK_UP = 12,
	TAG_INIT = 13,         /* run a pid-1 init that forks the program */
	TAG_CGROUP_PROCS = 14, /* string, repeated: cgroup.procs files the child joins */
	TAG_CGROUP_NS = 15,    /* unshare a cgroup namespace after joining the cgroups */
	TAG_MAKE_PRIVATE = 16, /* make / recursively private in the new mount namespace */
	TAG_USERNS_IDS = 17,   /* u32 uid, u32 gid: become these ids of the new user namespace */
	TAG_CLONE_INTO_CGROUP = 18, /* string: cgroup2 directory the child is created in (clone3) */
	TAG_NEW_ROOT = 20,          /* build a new root at /newroot of a staging tmpfs, then pivot into it */
	TAG_MOUNT = 21,             /* struct mount_op, repeated, in order (paths of the staging root) */
	TAG_RUN_AS = 22,            /* u32 uid, u32 gid, u32 clear supplementary groups */
	TAG_CAPS = 23,              /* u64: capabilities kept; every other one is dropped */
	TAG_NO_NEW_PRIVS = 24,
	TAG_SECCOMP = 25,           /* struct sock_filter[]: installed last, right before execve */
	TAG_RLIMIT = 26,            /* u32 resource, u32 0, u64 soft, u64 hard; repeated */
	TAG_WALL_LIMIT = 27,        /* u64 ns: the monitor kills the sandbox this long after exec */
	TAG_SESSION = 29,           /* keep the set-up namespaces alive: no program, reap what joins them */
	TAG_JOIN = 30,              /* u32 pid, u32 0, u64 CLONE_NEW* flags, u64 start time: enter that process's namespaces */
	TAG_SECCOMP_NOTIFY = 31,    /* the filter's kills are notifications: the monitor kills, naming the call */
	TAG_SETUP_TIMEOUT = 32,     /* u64 ns: the setup steps must be done this long after the clone */
	TAG_SWEEP_UID = 40,         /* u32 uid: before the sandbox exists, kill every process of this host uid */
	TAG_OUTPUT_RELAY = 44,      /* u32 fd, u32 also, u64 limit: relay the program's fd (and fds in mask also) unless a regular file */
	/* The cgroups' teardown if the JVM is gone, as Java's Teardown describes it (records of several cgroups add up): */
	TAG_TEARDOWN_KILL = 45,     /* string, repeated: a file that kills a cgroup's processes when "1" is written */
	TAG_TEARDOWN_FREEZER = 46,  /* strings file, freeze value, thaw value; repeated, the first one freezes */
	TAG_TEARDOWN_PROCS = 47,    /* string, repeated: a file listing a cgroup's pids */
	TAG_TEARDOWN_REMOVE = 48,   /* string, repeated: a cgroup directory to remove, in this order */
	TAG_CPU_COUNTER = 49,       /* u64 limit ns, u64 ns per unit, file, key ("" = the file's first number) */
};

/* Why the monitor killed the sandbox; reported to the JVM. */
enum kill_reason {
	KILLED_NOT = 0, KILLED_ON_REQUEST = 1, KILLED_CPU_LIMIT = 2, KILLED_WALL_LIMIT = 3, KILLED_SYSCALL = 4,
	KILLED_OUTPUT_LIMIT = 5
};


/* What a TAG_MOUNT record asks for. */
enum mount_kind {
	MOUNT_DIR = 0,     /* on a directory: a bind of a directory (MS_BIND) or a new fstype file system */
	MOUNT_FILE = 1,    /* a bind of a file onto a regular file (created empty where missing) */
	MOUNT_REMOUNT = 2, /* add the flags' attributes to the mount at target (not to those below it) */
	MOUNT_SYMLINK = 3, /* symlink(source, target) */
	MOUNT_MKDIR = 4,   /* mkdir -p target */
	MOUNT_WRITE = 5,   /* create target with data as its content */
	MOUNT_DETACH = 6,  /* umount2(target, MNT_DETACH): the mount at target and those below it */
	MOUNT_UNSHARE = 7, /* go on in a private copy of the mount namespace (a session run's own mounts) */
	MOUNT_KEEP = 8,    /* a detached copy of the mounts at target, for a MOUNT_REATTACH (same order) */
	MOUNT_REATTACH = 9, /* attach the next MOUNT_KEEP copy at target, once a fresh mount covered it */
	MOUNT_OVERLAY = 10, /* an overlayfs of the layers in source (':'-separated, topmost first) over a fresh tmpfs */
};

struct mount_op {
	uint64_t flags;
	uint32_t kind, options;
	const char *source, *target, *fstype, *data, *display;
};

struct rlimit_op {
	uint32_t resource;
	uint64_t soft, hard;
};

struct relay_op {
	uint32_t fd, also; /* the program's descriptor (1 or 2); bit n of also: descriptor n shares it */
	uint64_t limit;    /* bytes the program may write to it */
};

enum report_type { REPORT_ERROR = 1, REPORT_STARTED = 2, REPORT_EXIT = 3 };

#define MAX_LIST 4096

struct plan {
	uint64_t clone_flags;
	char *argv[MAX_LIST + 1];
	int argc;
	char *envp[MAX_LIST + 1];
	int envc;
	char *cgroup_procs[64];
	int ncgroup_procs;
	char *teardown_kill[8];
	int nteardown_kill;
	struct { const char *file, *freeze, *thaw; } teardown_freezers[16];
	int nteardown_freezers;
	char *teardown_procs[64];
	int nteardown_procs;
	char *teardown_remove[64];
	int nteardown_remove;
	const char *exec_file, *search_path, *cwd, *hostname, *uid_map, *gid_map, *clone_into_cgroup;
	int setgroups_deny, mount_proc, loopback_up, init, cgroup_ns, make_private;
	int userns_ids;
	uint32_t userns_uid, userns_gid;
	int new_root;
	struct mount_op mounts[256];
	int nmounts;
	int run_as, clear_groups;
	uint32_t uid, gid;
	int caps;
	uint64_t keep_caps;
	int no_new_privs;
	struct sock_fprog seccomp;
	struct rlimit_op rlimits[16];
	int nrlimits;
	int session, seccomp_notify;
	uint32_t join_pid;
	uint64_t join_flags;
	uint64_t join_start_time; /* of join_pid, in clock ticks after boot (/proc/PID/stat's 22nd field) */
	uint64_t wall_limit_ns, cpu_limit_ns, setup_timeout_ns;
	uint64_t cpu_ns_per_unit;
	const char *cpu_usage_file, *cpu_usage_key;
	int sweep;
	uint32_t sweep_uid;
	struct relay_op relay_ops[2];
	int nrelays;
};

static int status_fd = -1; /* the monitor's report pipe to the JVM */
static int child_fd = -1;  /* in the sandbox: the report socket to the monitor */

/* ---- reporting ------------------------------------------------------------------------------ */

struct report_header {
	uint32_t type;
	uint32_t len;
};

/* One record per write(), at most PIPE_BUF bytes, so that records arrive whole. */
static void send_record(int fd, uint32_t type, const void *payload, size_t len)
{
	char buf[PIPE_BUF];
	struct report_header h = { type, (uint32_t)len };
	if (len > sizeof buf - sizeof h)
		len = sizeof buf - sizeof h;
	memcpy(buf, &h, sizeof h);
	memcpy(buf + sizeof h, payload, len);
	ssize_t n;
	do
		n = write(fd, buf, sizeof h + len);
	while (n < 0 && errno == EINTR);
}

/* Error payload: i32 errno, then "syscall\0argument\0". */
static void send_error(int fd, int err, const char *call, const char *arg)
{
	char payload[PIPE_BUF - 64];
	int32_t e = err;
	size_t cl = strlen(call), al = arg ? strlen(arg) : 0;
	if (cl > 64)
		cl = 64;
	if (al > sizeof payload - sizeof e - cl - 2)
		al = sizeof payload - sizeof e - cl - 2;
	memcpy(payload, &e, sizeof e);
	memcpy(payload + sizeof e, call, cl);
	payload[sizeof e + cl] = 0;
	if (al)
		memcpy(payload + sizeof e + cl + 1, arg, al);
	payload[sizeof e + cl + 1 + al] = 0;
	send_record(fd, REPORT_ERROR, payload, sizeof e + cl + al + 2);
}

/* Reports (errno, call, argument) to the JVM, or from the sandbox to the monitor, and ends. */
static void die(const char *call, const char *arg)
{
	int fd = status_fd >= 0 ? status_fd : child_fd;
	if (fd >= 0)
		send_error(fd, errno, call, arg);
	_exit(125);
}

/* ---- plan ----------------------------------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EPIPE, -1) : -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void add_to_list(char **list, int *count, int max, char *s, const char *what)
{
	if (*count >= max) {
		errno = E2BIG;
		die("plan", what);
	}
	list[(*count)++] = s;
	list[*count] = NULL;
}

/* A mount record: u64 flags, u32 kind, u32 options, then source, target, fstype, data, display (NUL-terminated). */
static void read_mount(struct plan *p, char *val, uint32_t len)
{
	if (p->nmounts >= 256 || len < 16) {
		errno = E2BIG;
		die("plan", "mounts");
	}
	struct mount_op *m = &p->mounts[p->nmounts++];
	memcpy(&m->flags, val, 8);
	memcpy(&m->kind, val + 8, 4);
	memcpy(&m->options, val + 12, 4);
	const char **fields[] = { &m->source, &m->target, &m->fstype, &m->data, &m->display };
	char *s = val + 16, *end = val + len;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		if (s >= end) {
			errno = EPROTO;
			die("plan", "truncated mount");
		}
		*fields[i] = *s ? s : NULL;
		s += strlen(s) + 1;
	}
}

/* Reads one plan message into p (which keeps what earlier messages set). */
static void read_plan(int fd, struct plan *p)
{
	uint32_t head[3];
	if (read_full(fd, head, sizeof head) < 0) {
		if (status_fd < 0) /* in the sandbox: the JVM closed an unused prewarmed sandbox */
			_exit(0);
		die("read", "launch plan");
	}
	if (head[0] != PLAN_MAGIC || head[1] != PLAN_VERSION) {
		errno = EPROTO;
		die("plan", "magic or version mismatch");
	}
	char *buf = malloc(head[2] + 1);
	if (!buf)
		die("malloc", "launch plan");
	if (read_full(fd, buf, head[2]) < 0)
		die("read", "launch plan");
	buf[head[2]] = 0;

	size_t off = 0;
	while (off + 8 <= head[2]) {
		uint32_t tag, len;
		memcpy(&tag, buf + off, 4);
		memcpy(&len, buf + off + 4, 4);
		off += 8;
		if (len > head[2] - off) {
			errno = EPROTO;
			die("plan", "truncated record");
		}
		char *val = buf + off; /* strings arrive NUL-terminated */
		off += len;
		switch (tag) {
		case TAG_END: return;
		case TAG_CLONE_FLAGS: memcpy(&p->clone_flags, val, 8); break;
		case TAG_ARG: add_to_list(p->argv, &p->argc, MAX_LIST, val, "argv"); break;
		case TAG_ENV: add_to_list(p->envp, &p->envc, MAX_LIST, val, "environment"); break;
		case TAG_EXEC_FILE: p->exec_file = val; break;
		case TAG_SEARCH_PATH: p->search_path = val; break;
		case TAG_CWD: p->cwd = val; break;
		case TAG_HOSTNAME: p->hostname = val; break;
		case TAG_UID_MAP: p->uid_map = val; break;
		case TAG_GID_MAP: p->gid_map = val; break;
		case TAG_SETGROUPS_DENY: p->setgroups_deny = 1; break;
		case TAG_MOUNT_PROC: p->mount_proc = 1; break;
		case TAG_LOOPBACK_UP: p->loopback_up = 1; break;
		case TAG_INIT: p->init = 1; break;
		case TAG_CGROUP_PROCS: add_to_list(p->cgroup_procs, &p->ncgroup_procs, 63, val, "cgroups"); break;
		case TAG_CGROUP_NS: p->cgroup_ns = 1; break;
		case TAG_MAKE_PRIVATE: p->make_private = 1; break;
		case TAG_CLONE_INTO_CGROUP: p->clone_into_cgroup = val; break;
		case TAG_NEW_ROOT: p->new_root = 1; break;
		case TAG_MOUNT: read_mount(p, val, len); break;
		case TAG_RUN_AS:
			p->run_as = 1;
			memcpy(&p->uid, val, 4);
			memcpy(&p->gid, val + 4, 4);
			memcpy(&p->clear_groups, val + 8, 4);
			break;
		case TAG_CAPS: p->caps = 1; memcpy(&p->keep_caps, val, 8); break;
		case TAG_NO_NEW_PRIVS: p->no_new_privs = 1; break;
		case TAG_SECCOMP:
			p->seccomp.len = (unsigned short)(len / sizeof(struct sock_filter));
			p->seccomp.filter = (struct sock_filter *)val; /* the buffer is malloc'ed: aligned */
			break;
		case TAG_WALL_LIMIT: memcpy(&p->wall_limit_ns, val, 8); break;
		case TAG_SETUP_TIMEOUT: memcpy(&p->setup_timeout_ns, val, 8); break;
		case TAG_SESSION: p->session = 1; break;
		case TAG_SECCOMP_NOTIFY: p->seccomp_notify = 1; break;
		case TAG_JOIN:
			if (len < 24) {
				errno = EINVAL;
				die("plan", "join record");
			}
			memcpy(&p->join_pid, val, 4);
			memcpy(&p->join_flags, val + 8, 8);
			memcpy(&p->join_start_time, val + 16, 8);
			break;
		case TAG_TEARDOWN_KILL: add_to_list(p->teardown_kill, &p->nteardown_kill, 7, val, "cgroup kill files"); break;
		case TAG_TEARDOWN_PROCS: add_to_list(p->teardown_procs, &p->nteardown_procs, 63, val, "cgroups"); break;
		case TAG_TEARDOWN_REMOVE: add_to_list(p->teardown_remove, &p->nteardown_remove, 63, val, "cgroups"); break;
		case TAG_TEARDOWN_FREEZER: {
			const char *freeze = val + strnlen(val, len) + 1;
			const char *thaw = freeze < val + len ? freeze + strnlen(freeze, (size_t)(val + len - freeze)) + 1 : val + len;
			if (thaw >= val + len || memchr(thaw, 0, (size_t)(val + len - thaw)) == NULL || p->nteardown_freezers >= 16) {
				errno = EPROTO;
				die("plan", "cgroup freezer");
			}
			p->teardown_freezers[p->nteardown_freezers].file = val;
			p->teardown_freezers[p->nteardown_freezers].freeze = freeze;
			p->teardown_freezers[p->nteardown_freezers++].thaw = thaw;
			break;
		}
		case TAG_CPU_COUNTER:
			if (len < 18 || memchr(val + 16, 0, len - 16) == NULL) {
				errno = EPROTO;
				die("plan", "CPU counter");
			}
			memcpy(&p->cpu_limit_ns, val, 8);
			memcpy(&p->cpu_ns_per_unit, val + 8, 8);
			p->cpu_usage_file = val + 16;
			p->cpu_usage_key = p->cpu_usage_file + strlen(p->cpu_usage_file) + 1;
			if (p->cpu_usage_key >= val + len || memchr(p->cpu_usage_key, 0, (size_t)(val + len - p->cpu_usage_key)) == NULL) {
				errno = EPROTO;
				die("plan", "CPU counter key");
			}
			break;
		case TAG_RLIMIT:
			if (p->nrlimits >= 16) {
				errno = E2BIG;
				die("plan", "rlimits");
			}
			memcpy(&p->rlimits[p->nrlimits].resource, val, 4);
			memcpy(&p->rlimits[p->nrlimits].soft, val + 8, 8);
			memcpy(&p->rlimits[p->nrlimits].hard, val + 16, 8);
			p->nrlimits++;
			break;
		case TAG_SWEEP_UID: p->sweep = 1; memcpy(&p->sweep_uid, val, 4); break;
		case TAG_OUTPUT_RELAY: {
			struct relay_op *r = &p->relay_ops[p->nrelays];
			if (p->nrelays >= 2 || len < 16) {
				errno = E2BIG;
				die("plan", "output relays");
			}
			memcpy(&r->fd, val, 4);
			memcpy(&r->also, val + 4, 4);
			memcpy(&r->limit, val + 8, 8);
			if ((r->fd != 1 && r->fd != 2) || (r->also & ~(1u << 2))) {
				errno = EPROTO;
				die("plan", "output relay descriptor");
			}
			p->nrelays++;
			break;
		}
		case TAG_USERNS_IDS:
			p->userns_ids = 1;
			memcpy(&p->userns_uid, val, 4);
			memcpy(&p->userns_gid, val + 4, 4);
			break;
		default: errno = EPROTO; die("plan", "unknown record");
		}
	}
	errno = EPROTO;
	die("plan", "missing end record");
}

/*
 * ---- output relay -------------------------------------------------------------------------------
 * With an output limit, the program's stdout or stderr that is not a regular file (RLIMIT_FSIZE
 * limits those) becomes a pipe whose other end the monitor relays to the real destination,
 * counting: it delivers at most the limit, and the byte after it kills the sandbox. The
 * destination is the monitor's own descriptor, which the JVM, a shell or a terminal may share, so
 * its flags are never changed: a pipe or FIFO is written with splice(SPLICE_F_NONBLOCK), a socket
 * with send(MSG_DONTWAIT), anything else (a terminal, /dev/null) through a non-blocking
 * descriptor of its own, reopened from /proc/self/fd. A reader that does not read blocks the
 * program (its pipe fills), never the monitor. A destination that is closed (EPIPE, a hung-up
 * terminal) ends the relay: the monitor closes its end of the program's pipe, and the program's
 * next write fails with EPIPE (SIGPIPE), as a write to the destination itself would.
 */
#define RELAY_BUFFER 65536
#define RELAY_BURST 16 /* transfers per wake-up: a fast pair of writer and reader cannot starve the monitor */

enum relay_mode {
	RELAY_SPLICE, /* a pipe or FIFO: splice, no copy */
	RELAY_SEND,   /* a socket */
	RELAY_WRITE,  /* anything else, through a descriptor of our own */
};

struct relay {
	int target;     /* the program's descriptor, 1 or 2 */
	uint32_t also;  /* other descriptors of the program on the same pipe: bit n for descriptor n */
	uint64_t limit; /* bytes the program may write */
	uint64_t count; /* bytes taken from the program, all delivered or waiting in buf */
	int mode;
	int src;        /* the monitor's (read) end of the program's pipe; -1 once the relay ended */
	int sink;       /* the program's end, until the sandbox has it */
	int dest;       /* where the bytes go */
	int full;       /* the destination took nothing more: wait until it can */
	int passed;     /* the program wrote past the limit: ended once the sandbox is gone */
	size_t len;     /* RELAY_SEND, RELAY_WRITE: bytes waiting in buf */
	char *buf;
};

static struct relay relays[2];
static int nrelays;

/* fd moved to 10 or above: 0, 1 and 2 stay what the JVM made them, even where one was closed. */
static int high_fd(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (high < 0)
		die("fcntl", "output relay");
	close(fd);
	return high;
}

/* In the monitor, before the sandbox exists: a pipe and a way to write the destination, per relay. */
static void relay_prepare(const struct plan *p)
{
	for (int i = 0; i < p->nrelays; i++) {
		const struct relay_op *op = &p->relay_ops[i];
		int fd = (int)op->fd;
		struct stat st;
		if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode))
			continue; /* a file is limited by RLIMIT_FSIZE; a closed descriptor has nothing to relay */
		struct relay *r = &relays[nrelays++];
		memset(r, 0, sizeof *r);
		r->target = fd;
		r->also = op->also;
		r->limit = op->limit;
		int ends[2];
		if (pipe2(ends, O_CLOEXEC) < 0)
			die("pipe2", "output relay");
		r->src = high_fd(ends[0]);
		r->sink = high_fd(ends[1]);
		if (fcntl(r->src, F_SETFL, O_NONBLOCK) < 0) /* our own end: nobody else shares it */
			die("fcntl", "output relay");
		if (S_ISFIFO(st.st_mode)) {
			r->mode = RELAY_SPLICE;
			r->dest = fd;
		} else if (S_ISSOCK(st.st_mode)) {
			r->mode = RELAY_SEND;
			r->dest = fd;
		} else {
			char path[32], what[96];
			snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
			r->mode = RELAY_WRITE;
			r->dest = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (r->dest < 0) {
				snprintf(what, sizeof what, "%s (standard %s, to relay it under the output limit)", path,
					fd == 1 ? "output" : "error");
				die("open", what);
			}
			r->dest = high_fd(r->dest);
		}
		if (r->mode != RELAY_SPLICE && !(r->buf = malloc(RELAY_BUFFER)))
			die("malloc", "output relay");
	}
}

/* In the sandbox's first process: the relayed descriptors become the program's end of the pipes. */
static void relay_attach(void)
{
	for (int i = 0; i < nrelays; i++) {
		struct relay *r = &relays[i];
		for (int fd = 0; fd < 32; fd++)
			if ((fd == r->target || (r->also & (1u << fd))) && dup2(r->sink, fd) < 0)
				die("dup2", "output relay");
		close(r->sink);
		close(r->src);
		if (r->mode == RELAY_WRITE)
			close(r->dest);
	}
}

/* In the monitor, once the sandbox exists: only the sandbox holds the program's ends. */
static void relay_detach(void)
{
	for (int i = 0; i < nrelays; i++)
		close(relays[i].sink);
}

static void relay_end(struct relay *r)
{
	if (r->src < 0)
		return;
	close(r->src);
	r->src = -1;
	r->len = 0;
	r->full = 0;
	if (r->mode == RELAY_WRITE)
		close(r->dest);
}

/*
 * Moves what it can without blocking. Returns 1 if the program wrote more than its limit, with
 * exactly the limit delivered (the byte past it is looked for only once everything before it is
 * delivered). The caller kills the sandbox; the relay ends once the sandbox is gone
 * (relay_end_passed): until then the program stays blocked on its pipe, and dies of the kill, not
 * of EPIPE.
 */
static int relay_pump(struct relay *r)
{
	for (int burst = 0; burst < RELAY_BURST && r->src >= 0 && !r->passed; burst++) {
		if (r->len > 0) {
			ssize_t n = r->mode == RELAY_SEND ? send(r->dest, r->buf, r->len, MSG_DONTWAIT | MSG_NOSIGNAL)
							 : write(r->dest, r->buf, r->len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				r->full = 1;
				return 0;
			}
			if (n <= 0) {
				relay_end(r); /* the destination is closed */
				return 0;
			}
			memmove(r->buf, r->buf + n, r->len - (size_t)n);
			r->len -= (size_t)n;
			continue;
		}
		r->full = 0;
		uint64_t room = r->limit - r->count;
		if (room == 0) { /* one byte more is the limit passed; end of file is the end */
			char c;
			ssize_t n = read(r->src, &c, 1);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0) {
				relay_end(r);
				return 0;
			}
			r->passed = 1;
			return 1;
		}
		size_t want = room < RELAY_BUFFER ? (size_t)room : RELAY_BUFFER;
		ssize_t n;
		if (r->mode == RELAY_SPLICE) {
			n = splice(r->src, NULL, r->dest, NULL, want, SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EAGAIN) { /* our pipe is empty, or the destination is full */
				int pending = 0;
				r->full = ioctl(r->src, FIONREAD, &pending) == 0 && pending > 0;
				return 0;
			}
		} else {
			n = read(r->src, r->buf, want);
			if (n < 0 && errno == EAGAIN)
				return 0;
			if (n > 0)
				r->len = (size_t)n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			relay_end(r); /* end of file: nothing of the sandbox holds the pipe; or the destination is closed */
			return 0;
		}
		r->count += (uint64_t)n;
	}
	return 0;
}

/* Two pollfd slots per relay: its pipe while it takes bytes, its destination while that is full. */
static void relay_poll_slots(struct pollfd *slots)
{
	for (int i = 0; i < nrelays; i++) {
		struct relay *r = &relays[i];
		slots[2 * i] = (struct pollfd){ r->src >= 0 && !r->full && !r->passed ? r->src : -1, POLLIN, 0 };
		slots[2 * i + 1] = (struct pollfd){ r->src >= 0 && r->full ? r->dest : -1, POLLOUT, 0 };
	}
}

static void relay_end_passed(void)
{
	for (int i = 0; i < nrelays; i++)
		if (relays[i].passed)
			relay_end(&relays[i]);
}

/* Serves the relays whose slots woke up; returns 1 if one of them passed its limit. */
static int relay_serve(const struct pollfd *slots)
{
	int passed = 0;
	for (int i = 0; i < nrelays; i++)
		if (slots[2 * i].revents || slots[2 * i + 1].revents)
			passed |= relay_pump(&relays[i]);
	return passed;
}

/* ---- steps in the sandbox (child and program) ----------------------------------------------- */

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	size_t len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len)
		die("write", path);
	close(fd);
}

static void step_join_cgroups(const struct plan *p)
{
	for (int i = 0; i < p->ncgroup_procs; i++)
		write_file(p->cgroup_procs[i], "0");
}

/*
 * ---- mounts ------------------------------------------------------------------------------------
 * Every path a sandbox (or a user's rootfs) could have written is hostile. A mount target is
 * resolved inside the new root with openat2(RESOLVE_IN_ROOT) (a symlink resolves as if the new root
 * were /: it cannot lead out), a bind source is the path Java resolved when the policy was built,
 * opened with RESOLVE_NO_SYMLINKS (a symlink that appeared since is an error), and every mount is
 * made through descriptors (open_tree/fsmount + mount_setattr + move_mount), never by path. Missing
 * mount points are created only on a tmpfs this setup mounted itself: never in a host directory,
 * never in a user's rootfs. Targets are opened with O_PATH, so a FIFO or device there cannot block
 * or act; only directories and regular files are accepted.
 */

#define OPT_DEVICE_SOURCE 1u /* mount_op.options: the bind source may be a character device (/dev) */
#define OPT_USERXATTR 2u     /* mount_op.options: an overlay reads user.overlay.* xattrs (needed in a user namespace) */

static int host_root_fd = -1; /* the host's root: /oldroot while a new root is assembled, else / */
static int new_root_mode;     /* mount targets are inside /newroot of the staging root */
static dev_t own_fs[64];      /* the tmpfs mounts this setup made: the only places it creates anything */
static int nown_fs;

static void fail(int err, const char *call, const char *arg)
{
	errno = err;
	die(call, arg);
}

/* die() with the reason appended to the mount's display name. */
static void fail_because(int err, const char *call, const char *display, const char *why)
{
	char arg[PATH_MAX];
	snprintf(arg, sizeof arg, "%s: %s", display, why);
	fail(err, call, arg);
}

static int openat2_path(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_CLOEXEC | flags;
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
}

static unsigned int mount_attrs(uint64_t ms)
{
	return (ms & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (ms & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0)
		| (ms & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (ms & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
}

static int is_own_fs(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	for (int i = 0; i < nown_fs; i++)
		if (own_fs[i] == st.st_dev)
			return 1;
	return 0;
}

/*
 * The mount point `target` (absolute; "/" is the new root), resolved inside the new root. A missing
 * component is created (a directory; with want == S_IFREG the last one as an empty file) only where
 * its parent is on one of our own tmpfs mounts. Returns an O_PATH descriptor of what is there, which
 * must be a directory (want S_IFDIR), a regular file (S_IFREG) or either (0).
 */
static int mount_point(const char *target, mode_t want, const char *display)
{
	int root = open(new_root_mode ? "/newroot" : "/", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		die("open", new_root_mode ? "/newroot" : "/");
	char rel[PATH_MAX];
	if (snprintf(rel, sizeof rel, "%s", target[0] == '/' ? target + 1 : target) >= (int)sizeof rel)
		fail(ENAMETOOLONG, "mount point", display);
	int cur = root, creating = 0;
	for (char *name = rel; *name;) {
		char *slash = strchr(name, '/');
		int last = slash == NULL;
		if (slash)
			*slash = 0;
		int fd = -1;
		if (!creating) {
			fd = openat2_path(root, rel, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
			if (fd < 0 && errno != ENOENT)
				die("openat2", display);
		}
		if (fd < 0) { /* missing: create it, on our own tmpfs only */
			struct stat st;
			if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				fail_because(ENOENT, "mount point", display,
					"passes through a symlink that leads nowhere inside the sandbox's root: refused");
			if (!is_own_fs(cur))
				fail_because(ENOENT, "mount point", display,
					"missing, and only the sandbox's own tmpfs mounts get new mount points (not a host directory or a rootfs)");
			if (last && want == S_IFREG) {
				int w = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (w < 0)
					die("open", display);
				close(w);
			} else if (mkdirat(cur, name, 0755) < 0) {
				die("mkdir", display);
			}
			if ((fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
				die("open", display);
			creating = 1;
		}
		if (cur != root)
			close(cur);
		cur = fd;
		if (last)
			break;
		*slash = '/';
		name = slash + 1;
	}
	if (cur != root)
		close(root);
	struct stat st;
	if (fstat(cur, &st) < 0)
		die("fstat", display);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		fail_because(EINVAL, "mount point", display, "neither a directory nor a regular file (a FIFO, socket, device or symlink): refused");
	if (want == S_IFDIR && !S_ISDIR(st.st_mode))
		fail_because(ENOTDIR, "mount point", display, "not a directory");
	if (want == S_IFREG && !S_ISREG(st.st_mode))
		fail_because(EISDIR, "mount point", display, "not a regular file");
	return cur;
}

/* A bind source: the host path resolved when the policy was built, opened without following any symlink. */
static int bind_source(const struct mount_op *m, struct stat *st, const char *display)
{
	static const char *symlinked = "the bind source is or passes through a symlink that was not there when the policy was built: refused";
	int fd = openat2_path(host_root_fd, m->source[0] == '/' ? m->source + 1 : m->source, O_NOFOLLOW,
			RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ELOOP)
		fail_because(ELOOP, "open", display, symlinked);
	if (fd < 0)
		die("open", display);
	if (fstat(fd, st) < 0)
		die("fstat", display);
	if (S_ISLNK(st->st_mode))
		fail_because(ELOOP, "open", display, symlinked);
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !((m->options & OPT_DEVICE_SOURCE) && S_ISCHR(st->st_mode)))
		fail_because(EINVAL, "open", display, "the bind source is neither a directory nor a regular file: refused");
	if ((m->kind == MOUNT_DIR) != (S_ISDIR(st->st_mode) != 0))
		fail_because(m->kind == MOUNT_DIR ? ENOTDIR : EISDIR, "open", display,
			"the bind source changed between a directory and a file since the policy was built: refused");
	return fd;
}

/* Attaches the detached mount `tree` at the mount point `target`. */
static void attach(int tree, const char *target, mode_t want, const char *display)
{
	int at = mount_point(target, want, display);
	if (move_mount(tree, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("move_mount", display);
	close(at);
}

static void bind_mount(const struct mount_op *m, const char *display)
{
	struct stat st;
	int src = bind_source(m, &st, display);
	unsigned int rec = m->flags & MS_REC ? AT_RECURSIVE : 0;
	int tree = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	if (tree < 0)
		die("open_tree", display);
	close(src);
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = mount_attrs(m->flags); /* recursive with MS_REC: read-only all the way down */
	if (attr.attr_set && mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0)
		die("mount_setattr", display);
	attach(tree, m->target, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG, display);
	close(tree);
}

/* A fresh file system (tmpfs, proc, devpts); data is "key=value,flag,..." as mount(8) takes it. */
static void new_fs_mount(const struct mount_op *m, const char *display)
{
	int fs = fsopen(m->fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		die("fsopen", display);
	if (m->source && fsconfig(fs, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
		die("fsconfig", display);
	char data[1024];
	snprintf(data, sizeof data, "%s", m->data ? m->data : "");
	for (char *opt = strtok(data, ","); opt; opt = strtok(NULL, ",")) {
		char *eq = strchr(opt, '=');
		if (eq)
			*eq = 0;
		if ((eq ? fsconfig(fs, FSCONFIG_SET_STRING, opt, eq + 1, 0) : fsconfig(fs, FSCONFIG_SET_FLAG, opt, NULL, 0)) < 0)
			fail_because(errno, "fsconfig", display, opt);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		die("fsconfig", display);
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, mount_attrs(m->flags));
	if (mnt < 0)
		die("fsmount", display);
	close(fs);
	struct stat st;
	if (!strcmp(m->fstype, "tmpfs") && fstat(mnt, &st) == 0 && nown_fs < (int)(sizeof own_fs / sizeof *own_fs))
		own_fs[nown_fs++] = st.st_dev;
	attach(mnt, m->target, S_IFDIR, display);
	close(mnt);
}

/*
 * MOUNT_OVERLAY: an overlayfs at target whose read-only lower stack is the directories of source
 * (host paths resolved when the policy was built, topmost first, ':'-separated, each opened without
 * following any symlink) and whose upper and work directories are on a fresh tmpfs of data bytes,
 * so that every write lands there and goes with the sandbox. The upper directory gets the topmost
 * layer's owner and mode (the image's root, not the tmpfs's). Layers and upper are named to the
 * kernel as /proc/self/fd/N of our descriptors: "lowerdir+" one at a time (Linux 6.8+), else one
 * "lowerdir" string (fsconfig takes at most 255 bytes: about nine layers). OPT_USERXATTR mounts with
 * userxattr (user.overlay.* xattrs; Linux 5.11+, required in a user namespace). Mount points made
 * later inside it land in its upper tmpfs: it counts as one of our own file systems.
 */
static void overlay_mount(const struct mount_op *m, const char *display)
{
	const char *proc = new_root_mode ? "/oldroot/proc/self/fd" : "/proc/self/fd";
	int lower[64], n = 0;
	char list[16384], path[PATH_MAX], lowers[256] = "";
	snprintf(list, sizeof list, "%s", m->source ? m->source : "");
	for (char *s = strtok(list, ":"); s; s = strtok(NULL, ":")) {
		if (n == (int)(sizeof lower / sizeof *lower))
			fail_because(E2BIG, "overlay", display, "more than 64 layers");
		if ((lower[n] = openat2_path(host_root_fd, s[0] == '/' ? s + 1 : s, O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) < 0)
			fail_because(errno, "open", display, s);
		n++;
	}
	if (n == 0)
		fail_because(EINVAL, "overlay", display, "no layers");
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "source", "isolation-overlay", 0) < 0
			|| fsconfig(fs, FSCONFIG_SET_STRING, "size", m->data ? m->data : "", 0) < 0
			|| fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		fail_because(errno, "fsconfig", display, "the tmpfs of the upper layer");
	int upper = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (upper < 0)
		die("fsmount", display);
	close(fs);
	struct stat top;
	if (fstat(lower[0], &top) < 0)
		die("fstat", display);
	if (mkdirat(upper, "upper", 0700) < 0 || mkdirat(upper, "work", 0700) < 0)
		fail_because(errno, "mkdir", display, "upper and work directories");
	/* an owner unmapped in this user namespace stays the namespace's root */
	if ((fchownat(upper, "upper", top.st_uid, top.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
			|| fchmodat(upper, "upper", top.st_mode & 07777, 0) < 0)
		fail_because(errno, "chown", display, "the upper directory");
	if ((fs = fsopen("overlay", FSOPEN_CLOEXEC)) < 0)
		fail_because(errno, "fsopen", display, "overlayfs (is the overlay module available?)");
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%d", proc, lower[i]);
		if (*lowers == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) == 0)
			continue;
		if (i > 0 && *lowers == 0)
			fail_because(errno, "fsconfig", display, "lowerdir+");
		size_t used = strlen(lowers);
		if (snprintf(lowers + used, sizeof lowers - used, "%s%s", used ? ":" : "", path) >= (int)(sizeof lowers - used))
			fail_because(E2BIG, "fsconfig", display, "too many layers for one lowerdir string (Linux 6.8+ takes any number)");
	}
	if (*lowers && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lowers, 0) < 0)
		fail_because(errno, "fsconfig", display, "lowerdir");
	snprintf(path, sizeof path, "%s/%d/upper", proc, upper);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", path, 0) < 0)
		fail_because(errno, "fsconfig", display, "upperdir");
	snprintf(path, sizeof path, "%s/%d/work", proc, upper);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", path, 0) < 0)
		fail_because(errno, "fsconfig", display, "workdir");
	if ((m->options & OPT_USERXATTR) && fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		fail_because(errno, "fsconfig", display, "userxattr (Linux 5.11+)");
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		fail_because(errno, "fsconfig", display, (m->options & OPT_USERXATTR)
			? "overlayfs refused the layers (in a user namespace it needs Linux 5.11+)" : "overlayfs refused the layers");
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, mount_attrs(m->flags));
	if (mnt < 0)
		die("fsmount", display);
	close(fs);
	close(upper);
	for (int i = 0; i < n; i++)
		close(lower[i]);
	if (fstat(mnt, &top) == 0 && nown_fs < (int)(sizeof own_fs / sizeof *own_fs))
		own_fs[nown_fs++] = top.st_dev;
	attach(mnt, m->target, S_IFDIR, display);
	close(mnt);
}

/* The parent directory of target (which must exist or be creatable) and target's last component. */
static int parent_of(const char *target, char *name, size_t size, const char *display)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", target);
	char *slash = strrchr(parent, '/');
	if (!slash || !slash[1])
		fail(EINVAL, "mount point", display);
	snprintf(name, size, "%s", slash + 1);
	*slash = 0;
	int fd = mount_point(*parent ? parent : "/", S_IFDIR, display);
	if (!is_own_fs(fd))
		fail_because(EROFS, "mount point", display, "files are made only on the sandbox's own tmpfs mounts");
	return fd;
}

static int kept[16]; /* MOUNT_KEEP copies, attached again in the same order */
static int nkept, nreattached;

static void mount_op(const struct mount_op *m)
{
	const char *display = m->display ? m->display : m->target;
	char name[NAME_MAX + 1];
	struct stat st;
	int fd;
	switch (m->kind) {
	case MOUNT_DETACH:
		if (umount2(m->target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			die("umount2", display);
		return;
	case MOUNT_UNSHARE:
		if (unshare(CLONE_NEWNS) < 0)
			die("unshare", "CLONE_NEWNS");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			die("mount", "/ (MS_REC|MS_PRIVATE)");
		return;
	case MOUNT_KEEP:
		if (nkept >= (int)(sizeof kept / sizeof *kept))
			fail(E2BIG, "plan", display);
		fd = mount_point(m->target, 0, display);
		if ((kept[nkept] = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE)) < 0)
			die("open_tree", display);
		nkept++;
		close(fd);
		return;
	case MOUNT_REATTACH:
		if (nreattached >= nkept)
			fail(EPROTO, "plan", display);
		fd = kept[nreattached++];
		if (fstat(fd, &st) < 0)
			die("fstat", display);
		attach(fd, m->target, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG, display);
		close(fd);
		return;
	case MOUNT_MKDIR:
		close(mount_point(m->target, S_IFDIR, display));
		return;
	case MOUNT_SYMLINK:
		fd = parent_of(m->target, name, sizeof name, display);
		if (symlinkat(m->source, fd, name) < 0)
			die("symlink", display);
		close(fd);
		return;
	case MOUNT_WRITE: {
		fd = parent_of(m->target, name, sizeof name, display);
		int w = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		size_t len = m->data ? strlen(m->data) : 0;
		if (w < 0 || (len && write(w, m->data, len) != (ssize_t)len))
			die("write", display);
		close(w);
		close(fd);
		return;
	}
	case MOUNT_REMOUNT: { /* attributes added to the mount at target itself (not those below it) */
		fd = mount_point(m->target, 0, display);
		struct mount_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.attr_set = mount_attrs(m->flags);
		if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			die("mount_setattr", display);
		close(fd);
		return;
	}
	case MOUNT_OVERLAY:
		overlay_mount(m, display);
		return;
	case MOUNT_FILE:
	case MOUNT_DIR:
		if (m->flags & MS_BIND)
			bind_mount(m, display);
		else if (m->kind == MOUNT_DIR && m->fstype)
			new_fs_mount(m, display);
		else
			fail(EINVAL, "plan", display);
		return;
	default:
		fail(EPROTO, "plan", "unknown mount kind");
	}
}

/*
 * The new root is assembled at /newroot of a staging tmpfs while the host's root is reachable at
 * /oldroot (where bind sources are opened); then /newroot becomes / and the rest is detached.
 */
static void enter_staging(void)
{
	if (mount("isolation-staging", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0)
		die("mount", "\"tmpfs\" -> staging root");
	if (chdir("/tmp") < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
		die("mkdir", "staging root");
	if (syscall(SYS_pivot_root, ".", "oldroot") < 0)
		die("pivot_root", "staging root");
	if (chdir("/") < 0)
		die("chdir", "/");
}

static void finish_pivot(void)
{
	if (chdir("/newroot") < 0)
		die("chdir", "/newroot");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", "new root");
	if (umount2(".", MNT_DETACH) < 0) /* the staging root, and the host's root with it */
		die("umount2", "old root");
	if (chdir("/") < 0)
		die("chdir", "/");
}

static void step_mounts(const struct plan *p)
{
	if (p->make_private && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount", "/ (MS_REC|MS_PRIVATE)");
	new_root_mode = p->new_root;
	if (p->new_root)
		enter_staging();
	if (p->nmounts && (host_root_fd = open(p->new_root ? "/oldroot" : "/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", "host root");
	for (int i = 0; i < p->nmounts; i++)
		mount_op(&p->mounts[i]);
	if (host_root_fd >= 0)
		close(host_root_fd);
	if (p->new_root)
		finish_pivot();
	if (p->mount_proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount", "\"proc\" -> \"/proc\"");
}

static void step_hostname(const struct plan *p)
{
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		die("sethostname", p->hostname);
}

static void step_loopback(const struct plan *p)
{
	if (!p->loopback_up)
		return;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket", "AF_INET");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("ioctl(SIOCGIFFLAGS)", "lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("ioctl(SIOCSIFFLAGS)", "lo");
	close(s);
}

static void reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Sends the monitor a one-byte tag with one ancillary item (credentials or a descriptor). */
static int send_ancillary(char tag, int type, const void *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { &tag, 1 };
	struct msghdr msg = { 0 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(len);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return (int)sendmsg(child_fd, &msg, MSG_NOSIGNAL);
}

/* Tells the monitor the program's pid as the monitor sees it (the kernel translates it). */
static void send_own_pid(void)
{
	struct ucred cred = { getpid(), getuid(), getgid() };
	if (send_ancillary('P', SCM_CREDENTIALS, &cred, sizeof cred) < 0)
		die("sendmsg", "SCM_CREDENTIALS");
}

static void step_rlimits(const struct plan *p)
{
	for (int i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
		if (setrlimit((int)p->rlimits[i].resource, &rl) < 0) {
			char what[32];
			snprintf(what, sizeof what, "resource %u", p->rlimits[i].resource);
			die("setrlimit", what);
		}
	}
}

/*
 * Identity and privilege, while we still hold CAP_SETPCAP: bounding set and ambient set emptied
 * but for the kept capabilities, securebits locked so that uid 0 never regains capabilities on
 * exec, then the ids, then exactly the kept capabilities.
 */
static void step_identity(const struct plan *p)
{
	if (p->caps) {
		for (int cap = 0; cap < 64; cap++)
			if (!(p->keep_caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				die("prctl(PR_CAPBSET_DROP)", "capabilities");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
			die("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", "capabilities");
		unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED;
		bits |= p->keep_caps ? SECBIT_KEEP_CAPS : SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE
				| SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
		if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
			die("prctl(PR_SET_SECUREBITS)", "securebits");
	}
	if (p->run_as) {
		if (p->clear_groups && setgroups(0, NULL) < 0)
			die("setgroups", "[]");
		if (setresgid(p->gid, p->gid, p->gid) < 0)
			die("setresgid", "run as");
		if (setresuid(p->uid, p->uid, p->uid) < 0)
			die("setresuid", "run as");
	}
	if (p->caps) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof d);
		for (int i = 0; i < 2; i++)
			d[i].effective = d[i].permitted = d[i].inheritable = (uint32_t)(p->keep_caps >> (32 * i));
		if (syscall(SYS_capset, &h, d) < 0)
			die("capset", "kept capabilities");
		for (int cap = 0; cap < 64; cap++)
			if ((p->keep_caps & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				die("prctl(PR_CAP_AMBIENT_RAISE)", "kept capabilities");
	}
}

static void step_exec(const struct plan *p)
{
	if (p->cwd && chdir(p->cwd) < 0)
		die("chdir", p->cwd);
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("prctl(PR_SET_NO_NEW_PRIVS)", NULL);
	/* last: from here on only the program's own system calls are made, execve first */
	if (p->seccomp.len && !p->seccomp_notify && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->seccomp) < 0)
		die("seccomp(SECCOMP_SET_MODE_FILTER)", NULL);
	if (p->seccomp.len && p->seccomp_notify) {
		/*
		 * A forbidden call waits for the monitor, which kills the sandbox and names the call. The
		 * listener travels to the monitor over the report socket (the policy allows sendmsg, Java
		 * checks); in flight it stays open after we close it, so exec need not wait for the monitor.
		 */
		int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p->seccomp);
		if (listener < 0)
			die("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)", NULL);
		if (send_ancillary('N', SCM_RIGHTS, &listener, sizeof listener) < 0)
			die("sendmsg", "seccomp listener");
		close(listener);
	}
	if (strchr(p->exec_file, '/') || !p->search_path) {
		execve(p->exec_file, p->argv, p->envp);
		die("execve", p->exec_file);
	}
	/* execvpe's search, with the failure naming the path: EACCES wins over a later ENOENT. */
	char path[PATH_MAX];
	int saved = ENOENT;
	const char *dir = p->search_path;
	char last[PATH_MAX] = "";
	while (1) {
		const char *end = strchrnul(dir, ':');
		size_t dl = (size_t)(end - dir);
		if (dl == 0)
			snprintf(path, sizeof path, "%s", p->exec_file);
		else
			snprintf(path, sizeof path, "%.*s/%s", (int)dl, dir, p->exec_file);
		execve(path, p->argv, p->envp);
		if (errno == EACCES) {
			saved = EACCES;
			snprintf(last, sizeof last, "%s", path);
		} else if (errno != ENOENT && errno != ENOTDIR) {
			die("execve", path);
		}
		if (!*end)
			break;
		dir = end + 1;
	}
	errno = saved;
	die("execve", saved == EACCES ? last : p->exec_file);
}

/*
 * SIGKILL when the parent (the monitor, or the sandbox's init) dies. Any change of credentials
 * clears the parent-death signal, so it is set again after each; a parent that died meanwhile is
 * seen in getppid() (not for a pid namespace's init, whose parent is outside: 0 either way).
 */
static void die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("prctl", "PR_SET_PDEATHSIG");
	if (getppid() != parent)
		_exit(127);
}

static void run_program(const struct plan *p)
{
	pid_t parent = getppid();
	reset_signals();
	send_own_pid();
	step_rlimits(p);
	step_identity(p);
	die_with_parent(parent); /* the ids changed: the program dies with its monitor or init */
	step_exec(p);
}

/* SIGKILL to every child of this (single-threaded) process; returns how many there were. */
static int kill_children(void)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[len > 0 ? len : 0] = 0;
	for (char *s = buf, *end; *s; s = end) {
		long pid = strtol(s, &end, 10);
		if (end == s)
			break;
		kill((pid_t)pid, SIGKILL);
		n++;
	}
	return n;
}

/*
 * As a child subreaper, what the program left behind (setsid daemons included) is re-parented to
 * us as its parents die: kill and reap it all until nothing is left.
 */
static void add_rusage(struct rusage *sum, const struct rusage *ru)
{
	timeradd(&sum->ru_utime, &ru->ru_utime, &sum->ru_utime);
	timeradd(&sum->ru_stime, &ru->ru_stime, &sum->ru_stime);
	sum->ru_maxrss = ru->ru_maxrss > sum->ru_maxrss ? ru->ru_maxrss : sum->ru_maxrss;
	sum->ru_nvcsw += ru->ru_nvcsw;
	sum->ru_nivcsw += ru->ru_nivcsw;
}

/* Their rusage is added to *sum: the figures are the whole sandbox's. */
static void reap_descendants(struct rusage *sum)
{
	for (;;) {
		kill_children();
		pid_t r;
		struct rusage ru;
		while ((r = wait4(-1, NULL, WNOHANG, &ru)) > 0)
			add_rusage(sum, &ru);
		if (r < 0 && errno == ECHILD)
			return;
		usleep(1000);
	}
}

/*
 * The signal that asks a pid namespace's init to kill everything in it and reap it before it
 * exits: killed by SIGKILL, the init would leave the reaping to the kernel, and the CPU time and
 * max RSS of the killed processes would be lost to the sandbox's figures.
 */
static int end_signal(void)
{
	return SIGRTMIN + 2;
}

/* PID 1 of the sandbox: forward signals to the program, reap everything, exit with the program. */
/*
 * Ends this process as the run's reaper ended: it exits 0 after reporting the program's status; killed
 * (the session's PID 1 died under the run, taking the program with it), the monitor must see a killed
 * run, not a clean exit.
 */
static void end_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		signal(sig, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		kill(getpid(), SIGKILL);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

static void run_init(const struct plan *p, int init_report_fd)
{
	static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, end_signal());
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask", "init");

	if (p->join_pid) {
		/*
		 * A run in a session: we are in the host's pid namespace, our children in the session's.
		 * What the program leaves behind goes to the nearest subreaper of its own pid namespace,
		 * so the run's reaper (the rest of this function) is our child, there; we relay signals
		 * to it and end with it.
		 */
		pid_t reaper = fork();
		if (reaper < 0)
			die("fork", "run reaper");
		if (reaper > 0) {
			int st;
			close(child_fd);
			close(init_report_fd);
			for (;;) {
				siginfo_t si;
				int sig = sigwaitinfo(&set, &si);
				if (sig > 0 && sig != SIGCHLD)
					kill(reaper, sig);
				else if (sig == SIGCHLD && waitpid(reaper, &st, WNOHANG) == reaper)
					end_like(st);
			}
		}
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
			die("prctl", "run reaper");
	}
	pid_t program = fork();
	if (program < 0)
		die("fork", "program");
	if (program == 0) {
		close(init_report_fd);
		run_program(p);
	}
	prctl(PR_SET_NAME, "isolation-init");
	close(child_fd);

	int program_status = 0, program_done = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig == end_signal() && !p->join_pid) {
			kill(-1, SIGKILL); /* everything but us; reaped below, so that their figures count */
			continue;
		}
		if (sig != SIGCHLD) {
			if (!program_done)
				kill(program, sig);
			continue;
		}
		for (;;) {
			int st;
			pid_t r = waitpid(-1, &st, WNOHANG);
			if (r == program || (r > 0 && program_done)) {
				if (r == program) {
					program_status = st;
					program_done = 1;
				}
				/* nothing outlives the program: in a session, what this run started (a subreaper's) */
				if (p->join_pid)
					kill_children();
				else
					kill(-1, SIGKILL);
			} else if (r < 0 && errno == ECHILD && program_done) {
				int32_t s = program_status;
				if (write(init_report_fd, &s, sizeof s) != sizeof s)
					_exit(126);
				_exit(0);
			} else if (r <= 0) {
				break;
			}
		}
	}
}

/* Writing the maps (or entering a user namespace) does not change our credentials: take the mapped ids. */
static void become_userns_ids(const struct plan *p)
{
	if (p->userns_ids && setresgid(p->userns_gid, p->userns_gid, p->userns_gid) < 0)
		die("setresgid", "user namespace");
	if (p->userns_ids && setresuid(p->userns_uid, p->userns_uid, p->userns_uid) < 0)
		die("setresuid", "user namespace");
}

/* A persistent sandbox's PID 1: no program of its own; reaps whatever runs in it until it is ended. */
static void run_session_keeper(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, end_signal());
	sigprocmask(SIG_BLOCK, &set, NULL);
	send_own_pid();
	close(child_fd); /* the monitor reports the sandbox started */
	prctl(PR_SET_NAME, "isolation-init");
	int ending = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig == end_signal()) {
			ending = 1;
			kill(-1, SIGKILL); /* every run in the session; reaped below */
		}
		pid_t r;
		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (ending && r < 0 && errno == ECHILD)
			_exit(0);
	}
}

/* Enters the namespaces of a persistent sandbox's keeper: the user namespace first. */
static void step_join(const struct plan *p)
{
	static const struct { uint64_t flag; const char *name; } order[] = {
		{ CLONE_NEWUSER, "user" }, { CLONE_NEWNS, "mnt" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWNET, "net" },
		{ CLONE_NEWUTS, "uts" }, { CLONE_NEWIPC, "ipc" }, { CLONE_NEWCGROUP, "cgroup" },
	};
	int fds[7];
	char path[64];
	/*
	 * The session's PID 1 by its pid, made sure of: a directory of /proc pins the process it was
	 * opened for (a later openat in it fails once that process is gone), and the start time tells it
	 * from a process that reused the pid before we opened it. Never another process's namespaces.
	 */
	snprintf(path, sizeof path, "/proc/%u", p->join_pid);
	int proc = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		die("open", path);
	char stat[512];
	int sfd = openat(proc, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = sfd < 0 ? -1 : read(sfd, stat, sizeof stat - 1);
	if (n <= 0)
		die("read", "/proc/PID/stat of the session's PID 1");
	close(sfd);
	stat[n] = 0;
	char *field = strrchr(stat, ')'); /* the command name before it may hold anything */
	unsigned long long start = 0;
	/* after ")": state (3rd field) ... starttime (22nd) */
	if (!field || sscanf(field + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			&start) != 1 || start != p->join_start_time) {
		errno = ESRCH;
		die("join", "the session's PID 1 (it is gone)");
	}
	/* open them all first: once in the sandbox's mount namespace, /proc is the sandbox's */
	for (int i = 0; i < 7; i++) {
		fds[i] = -1;
		if (!(p->join_flags & order[i].flag))
			continue;
		snprintf(path, sizeof path, "ns/%s", order[i].name);
		if ((fds[i] = openat(proc, path, O_RDONLY | O_CLOEXEC)) < 0)
			die("open", path);
	}
	close(proc);
	for (int i = 0; i < 7; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], (int)order[i].flag) < 0) {
			snprintf(path, sizeof path, "/proc/%u/ns/%s", p->join_pid, order[i].name);
			die("setns", path);
		}
		close(fds[i]);
	}
	pid_t monitor = getppid();
	become_userns_ids(p);
	die_with_parent(monitor);
}

static void run_child(struct plan *p, int sync_fd, int init_report_fd)
{
	pid_t monitor = getppid();
	relay_attach();
	die_with_parent(monitor);
	if (sync_fd >= 0) { /* wait until the monitor wrote our id maps */
		char c;
		if (read(sync_fd, &c, 1) != 1)
			_exit(127);
		close(sync_fd);
	}
	become_userns_ids(p);
	die_with_parent(monitor);
	if (setsid() < 0)
		die("setsid", NULL);
	step_join_cgroups(p);
	if (p->join_pid) {
		step_join(p);
		/* a run's cgroup namespace has its own cgroup as root; then the run's own mounts */
		if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
			die("unshare", "CLONE_NEWCGROUP");
		step_mounts(p);
	} else {
		if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
			die("unshare", "CLONE_NEWCGROUP");
		step_mounts(p);
		step_hostname(p);
		step_loopback(p);
	}
	char done = 'S'; /* setup is done: the monitor's setup deadline ends here */
	if (send(child_fd, &done, 1, MSG_NOSIGNAL) != 1)
		die("send", "setup done");
	if (p->session)
		run_session_keeper();
	read_plan(3, p); /* the exec plan: blocks while the sandbox is prewarmed */
	close(3);
	if (!p->exec_file || p->argc == 0) {
		errno = EINVAL;
		die("plan", "empty command");
	}
	if (p->init)
		run_init(p, init_report_fd);
	run_program(p);
}

/* ---- monitor -------------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_id_maps(const struct plan *p, pid_t child)
{
	char path[64];
	int fd;
	if (p->setgroups_deny) {
		snprintf(path, sizeof path, "/proc/%d/setgroups", child);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "deny", 4) != 4)
			die("write", path);
		close(fd);
	}
	const char *maps[2][2] = { { "uid_map", p->uid_map }, { "gid_map", p->gid_map } };
	for (int i = 0; i < 2; i++) {
		if (!maps[i][1])
			continue;
		snprintf(path, sizeof path, "/proc/%d/%s", child, maps[i][0]);
		size_t len = strlen(maps[i][1]);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, maps[i][1], len) != (ssize_t)len)
			die("write", path);
		close(fd);
	}
}

/* clone3 into new namespaces (and, race-free, into the sandbox's cgroup); clone on old kernels. */
static pid_t spawn_child(uint64_t flags, const char *cgroup, int *pidfd)
{
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	int cgroup_fd = -1;
	if (cgroup) {
		if ((cgroup_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			die("open", cgroup);
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	long r = syscall(SYS_clone3, &args, sizeof args);
	if (r != 0 && cgroup_fd >= 0) {
		int e = errno;
		close(cgroup_fd);
		errno = e;
	}
	if (r < 0 && errno == ENOSYS && !cgroup) {
		r = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0L, 0L, 0L, 0L);
		if (r > 0 && (*pidfd = (int)syscall(SYS_pidfd_open, (pid_t)r, 0)) < 0)
			*pidfd = -1;
	}
	return (pid_t)r;
}

static int notify_fd = -1; /* the seccomp listener, in the monitor */
static int64_t early_forbidden = -1; /* a forbidden call the program made while await_exec watched */

enum await_result { AWAIT_EXECED = 0, AWAIT_FAILED = -1, AWAIT_JVM_GONE = -2 };

/*
 * Receives the sandbox's reports until the program runs: 'S' when the setup steps are done, the
 * program's pid, the seccomp listener, then a setup error or end of file (exec succeeded). Setup
 * is bounded: past the plan's deadline it fails. The JVM is watched all along (POLLHUP on the
 * control pipe, without reading what the sandbox will read from it), and a system call the policy
 * denies before the program runs (execve itself) fails the setup, naming the call.
 */
static int await_exec(int fd, const struct plan *p, int control_fd, pid_t *program, int64_t *started)
{
	char buf[PIPE_BUF];
	char cbuf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
	int64_t deadline = p->setup_timeout_ns ? now_ns() + (int64_t)p->setup_timeout_ns : 0;
	for (;;) {
		struct pollfd fds[3] = { { fd, POLLIN, 0 }, { control_fd, 0, 0 }, { notify_fd, POLLIN, 0 } };
		int timeout = -1;
		if (deadline) {
			int64_t left = deadline - now_ns();
			timeout = left <= 0 ? 0 : (int)(left / 1000000) + 1;
		}
		int n = poll(fds, 3, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("poll", "setup");
		if (n == 0) {
			char what[128];
			snprintf(what, sizeof what, "the sandbox's setup did not finish within %lld ms: killed",
				(long long)(p->setup_timeout_ns / 1000000));
			send_error(status_fd, ETIMEDOUT, "setup", what);
			return AWAIT_FAILED;
		}
		if (fds[1].revents & (POLLHUP | POLLERR))
			return AWAIT_JVM_GONE;
		if (fds[2].revents & POLLIN) {
			struct seccomp_notif req;
			memset(&req, 0, sizeof req);
			if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
				/*
				 * Before the program ran (execve itself), or its first calls? execve closes the
				 * report socket before the program's first instruction: end of file there means
				 * the program runs, and the monitor loop kills it for this call.
				 */
				char c;
				if (*program > 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
					early_forbidden = req.data.nr;
					return AWAIT_EXECED;
				}
				char nr[32];
				snprintf(nr, sizeof nr, "%d", req.data.nr);
				send_error(status_fd, EPERM, "seccomp-denied", nr);
				return AWAIT_FAILED;
			}
		}
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		struct iovec iov = { buf, sizeof buf };
		struct msghdr msg = { 0 };
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof cbuf;
		ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return *program > 0 ? AWAIT_EXECED : AWAIT_FAILED;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (r == 1 && buf[0] == 'S') {
			deadline = 0; /* a prewarmed sandbox now waits for its program as long as the JVM likes */
			continue;
		}
		if (r == 1 && buf[0] == 'N') {
			/* SO_PASSCRED puts credentials first: look for the descriptor among the messages */
			for (; c; c = CMSG_NXTHDR(&msg, c))
				if (c->cmsg_type == SCM_RIGHTS)
					memcpy(&notify_fd, CMSG_DATA(c), sizeof(int)); /* MSG_CMSG_CLOEXEC: not inherited */
			if (notify_fd < 0) {
				errno = EPROTO;
				die("recvmsg", "seccomp listener");
			}
			continue;
		}
		if (r == 1 && buf[0] == 'P' && c && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			*program = cred.pid;
			*started = now_ns(); /* wall time counts from the program's exec */
			continue;
		}
		/* a setup error record from the child: forward it as it is, if it is one */
		struct report_header h = { 0, 0 };
		if (r >= (ssize_t)sizeof h)
			memcpy(&h, buf, sizeof h);
		if (h.type != REPORT_ERROR || h.len != (size_t)r - sizeof h) {
			errno = EPROTO;
			die("recvmsg", "malformed report from the sandbox");
		}
		if (write(status_fd, buf, (size_t)r) < 0)
			return AWAIT_FAILED;
		return AWAIT_FAILED;
	}
}

/* Writes value to file if it exists (nothing more to do if it fails: the next round retries). */
static void write_cgroup_file(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, value, strlen(value)) < 0) {
			/* the round after this one tries again */
		}
		close(fd);
	}
}

/* A frozen (paused) sandbox cannot die: write every freezer's thaw value (v1's freezer holds even SIGKILL). */
static void thaw_cgroups(const struct plan *p)
{
	for (int i = 0; i < p->nteardown_freezers; i++)
		write_cgroup_file(p->teardown_freezers[i].file, p->teardown_freezers[i].thaw);
}

/*
 * The JVM is gone (or dropped a prewarmed sandbox) and cannot remove the sandbox's cgroups, so
 * this runs Java's Teardown (SandboxCgroup.close()'s algorithm) from the plan: in rounds for up
 * to 10 s, thaw; while a procs file lists a pid, kill (every kill file, else freeze, SIGKILL
 * each pid, thaw); then remove the directories in the order given. No cgroup file name is known
 * here: Java named them all.
 */
/* The name of file in dir, if file is a path directly in dir; else NULL. */
static const char *name_in(const char *file, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(file, dir, n) == 0 && file[n] == '/' && !strchr(file + n + 1, '/') ? file + n + 1 : NULL;
}

/*
 * Cgroups made below dir after the plan was written (a session's runs whose JVM died before their
 * helpers started) are killed and removed, deepest first, through the files Java named for dir,
 * by the same names in each nested directory. Returns how many are left.
 */
static int remove_nested(const struct plan *p, const char *dir, const char *nested, int depth)
{
	DIR *d = opendir(nested);
	if (!d)
		return 0;
	int left = 0;
	struct dirent *e;
	char path[PATH_MAX], file[PATH_MAX];
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof path, "%s/%s", nested, e->d_name) >= (int)sizeof path) {
			left++;
			continue;
		}
		if (depth < 8)
			left += remove_nested(p, dir, path, depth + 1);
		for (int i = 0; i < p->nteardown_freezers; i++) {
			const char *name = name_in(p->teardown_freezers[i].file, dir);
			if (name && snprintf(file, sizeof file, "%s/%s", path, name) < (int)sizeof file)
				write_cgroup_file(file, p->teardown_freezers[i].thaw);
		}
		for (int i = 0; i < p->nteardown_procs; i++) {
			const char *name = name_in(p->teardown_procs[i], dir);
			FILE *f = name && snprintf(file, sizeof file, "%s/%s", path, name) < (int)sizeof file ? fopen(file, "re") : NULL;
			int pid;
			while (f && fscanf(f, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			if (f)
				fclose(f);
		}
		if (rmdir(path) < 0 && errno != ENOENT)
			left++;
	}
	closedir(d);
	return left;
}

static void remove_orphan_cgroups(const struct plan *p)
{
	/* as long as SandboxCgroup.close() waits: a session's directories go once its runs' monitors removed theirs */
	int64_t give_up = now_ns() + 10 * (int64_t)1000000000;
	while (now_ns() < give_up) {
		thaw_cgroups(p);
		int pids = 0;
		for (int pass = 0; pass < 2 && (pass == 0 || pids); pass++) {
			if (pass == 1 && p->nteardown_kill) {
				for (int i = 0; i < p->nteardown_kill; i++)
					write_cgroup_file(p->teardown_kill[i], "1");
				break;
			}
			if (pass == 1 && p->nteardown_freezers)
				write_cgroup_file(p->teardown_freezers[0].file, p->teardown_freezers[0].freeze);
			for (int i = 0; i < p->nteardown_procs; i++) {
				FILE *f = fopen(p->teardown_procs[i], "re");
				int pid;
				while (f && fscanf(f, "%d", &pid) == 1) {
					pids++;
					if (pass == 1)
						kill(pid, SIGKILL);
				}
				if (f)
					fclose(f);
			}
			if (pass == 1)
				thaw_cgroups(p);
		}
		if (!pids) {
			int left = 0;
			for (int i = 0; i < p->nteardown_remove; i++) {
				left += remove_nested(p, p->teardown_remove[i], p->teardown_remove[i], 0);
				if (rmdir(p->teardown_remove[i]) < 0 && errno != ENOENT)
					left++;
			}
			if (!left)
				return;
		}
		usleep(5000);
	}
}

/* CPU time of every process of the sandbox so far, from its cgroup's counter; -1 if unreadable. */
static int64_t cpu_usage_ns(const struct plan *p)
{
	char buf[4096];
	int fd = open(p->cpu_usage_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *at = buf;
	size_t klen = strlen(p->cpu_usage_key);
	if (klen) { /* the number after "key " at the start of a line */
		for (;;) {
			if (strncmp(at, p->cpu_usage_key, klen) == 0 && at[klen] == ' ')
				break;
			at = strchr(at, '\n');
			if (!at)
				return -1;
			at++;
		}
		at += klen + 1;
	}
	char *end;
	long long v = strtoll(at, &end, 10);
	return end == at || v < 0 ? -1 : (int64_t)v * (int64_t)p->cpu_ns_per_unit;
}

/* The sweeper: shares the monitor's memory (no page tables copied), so raw system calls only. */
static int sweeper_main(void *uid)
{
	uint32_t u = *(const uint32_t *)uid;
	if (syscall(SYS_setresuid, u, u, u) < 0) /* the shared memory is made non-dumpable first */
		syscall(SYS_exit, 1);
	syscall(SYS_kill, -1, SIGKILL);
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * The sandbox's uid is leased to it alone, but a process of an earlier holder may have outlived its
 * monitor (killed with it, or escaped it): kill every process of the uid before the sandbox exists.
 * As that uid, one kill(-1, SIGKILL) reaches exactly its processes (the caller excepted), all at
 * once: a fork racing with it either put its child in the task list first, or fails (the parent
 * has SIGKILL pending). kill(-1) says nothing about what it reached (EPERM elsewhere still counts),
 * so it is not repeated. A leftover could stop the sweeper first: then it is killed, and the sweep
 * tried again.
 */
static void step_sweep(const struct plan *p)
{
	static char stack[16384] __attribute__((aligned(16)));
	if (!p->sweep)
		return;
	uint32_t uid = p->sweep_uid;
	for (int attempt = 0; attempt < 5; attempt++) {
		int pidfd = -1;
		pid_t sweeper = clone(sweeper_main, stack + sizeof stack, CLONE_VM | CLONE_PIDFD | SIGCHLD, &uid, &pidfd);
		if (sweeper < 0)
			die("clone", "sweep");
		struct pollfd f = { pidfd, POLLIN, 0 };
		int done = poll(&f, 1, 1000) > 0;
		close(pidfd);
		if (!done)
			kill(sweeper, SIGKILL);
		int st;
		if (waitpid(sweeper, &st, 0) < 0)
			die("waitpid", "sweep");
		if (done && WIFEXITED(st) && WEXITSTATUS(st) != 0) {
			errno = EPERM;
			die("setresuid", "sweep");
		}
		if (done && WIFEXITED(st))
			return;
	}
	errno = ETIMEDOUT;
	die("kill", "every process of the sandbox's uid");
}

/*
 * After the sandbox's last process: delivers what the relayed pipes still hold (nothing more can
 * come), within the wall-time limit (deadline, 0 for none) and while the JVM wants the run.
 * Returns 1 if there was anything to deliver: the run then ends when it is delivered.
 */
static int relay_drain(int control_fd, int64_t deadline, int *killed, int *jvm_gone)
{
	int any = 0;
	for (;;) {
		int active = 0;
		relay_end_passed(); /* nothing more of theirs is delivered */
		for (int i = 0; i < nrelays; i++) {
			struct relay *r = &relays[i];
			int pending = 0;
			if (r->src >= 0 && !r->full && r->len == 0 && (ioctl(r->src, FIONREAD, &pending) < 0 || pending == 0))
				relay_end(r);
			active |= r->src >= 0;
		}
		if (!active)
			return any;
		any = 1;
		struct pollfd fds[1 + 2 * 2] = { { control_fd, POLLIN, 0 } };
		relay_poll_slots(fds + 1);
		int timeout = -1;
		if (deadline) {
			int64_t left = deadline - now_ns();
			timeout = left <= 0 ? 0 : (int)(left / 1000000) + 1;
		}
		if (poll(fds, 1 + 2 * (nfds_t)nrelays, timeout) < 0 && errno != EINTR)
			break;
		if (deadline && now_ns() >= deadline) {
			if (!*killed)
				*killed = KILLED_WALL_LIMIT;
			break;
		}
		if (fds[0].revents) {
			char cmd = 0;
			ssize_t r = read(control_fd, &cmd, 1);
			if (r <= 0 || cmd == 'K') {
				if (!*killed)
					*killed = KILLED_ON_REQUEST;
				*jvm_gone = r <= 0;
				break;
			}
		}
		if (relay_serve(fds + 1) && !*killed)
			*killed = KILLED_OUTPUT_LIMIT;
	}
	for (int i = 0; i < nrelays; i++)
		relay_end(&relays[i]); /* what is left is dropped */
	return 1;
}

/*
 * has_init: the child is a pid namespace's init, whose death ends everything in it. A session
 * run's program is killed alone: its reaper then kills what it left behind (killing the reaper
 * first would hand that to the session's init). Else the child's session: the program and what it
 * started; the monitor, a subreaper, kills the rest once the child is gone.
 */
static int64_t hard_kill_at; /* when an init asked to end everything is killed outright */

static void kill_sandbox(const struct plan *p, pid_t child, pid_t session_program, int has_init, int sig)
{
	if (sig == SIGKILL)
		thaw_cgroups(p); /* a paused sandbox dies only when thawed (v1's freezer holds even SIGKILL) */
	if (has_init && sig == SIGTERM) {
		kill(child, SIGTERM);
	} else if (has_init) {
		kill(child, end_signal()); /* the init kills and reaps everything; if it cannot, SIGKILL in 1 s */
		if (!hard_kill_at)
			hard_kill_at = now_ns() + 1000000000;
	} else if (session_program > 0)
		kill(session_program, sig);
	else
		kill(-child, sig);
}

static void move_fd(int *fd, int target)
{
	if (*fd == target)
		return;
	if (dup2(*fd, target) < 0)
		die("dup2", "helper descriptors");
	close(*fd);
	*fd = target;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "isolation-helper: started by the isolation library only\n");
		return 2;
	}
	int control_fd = atoi(argv[1]);
	status_fd = atoi(argv[2]);
	int lease_fd = argc == 4 ? atoi(argv[3]) : -1;
	if (lease_fd >= 0 && lease_fd < 6) { /* out of the way of the descriptors moved below */
		int high = fcntl(lease_fd, F_DUPFD_CLOEXEC, 6);
		if (high < 0)
			die("fcntl", "lease");
		close(lease_fd);
		lease_fd = high;
	}
	prctl(PR_SET_NAME, "isolation-mon");
	reset_signals();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTTOU, SIG_IGN); /* a relay may write to the JVM's terminal from a background process group */

	/* Keep stdio, control and status only: nothing else the JVM had open reaches the sandbox. */
	if (status_fd == 3)
		status_fd = dup(status_fd);
	move_fd(&control_fd, 3);
	move_fd(&status_fd, 4);
	if (lease_fd >= 0)
		move_fd(&lease_fd, 5);
	unsigned int first_closed = lease_fd >= 0 ? 6 : 5;
	if (syscall(SYS_close_range, first_closed, ~0U, 0U) < 0)
		for (unsigned int fd = first_closed; fd < 1024; fd++)
			close((int)fd);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(4, F_SETFD, FD_CLOEXEC);
	if (lease_fd >= 0)
		fcntl(lease_fd, F_SETFD, FD_CLOEXEC);

	static struct plan plan;
	read_plan(control_fd, &plan);
	/* what the sandbox leaves behind without a pid namespace (setsid daemons) is re-parented to us;
	 * set before the first fork, after the plan is read, so that a refusal is reported to the JVM */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl", "PR_SET_CHILD_SUBREAPER");
	step_sweep(&plan);
	relay_prepare(&plan);

	int report[2], sync[2] = { -1, -1 }, init_pipe[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0)
		die("socketpair", "setup report");
	int one = 1;
	if (setsockopt(report[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
		die("setsockopt", "SO_PASSCRED");
	if ((plan.clone_flags & CLONE_NEWUSER) && pipe2(sync, O_CLOEXEC) < 0)
		die("pipe2", "user namespace sync");
	if (plan.init && pipe2(init_pipe, O_CLOEXEC) < 0)
		die("pipe2", "init report");

	int64_t started = 0;
	int pidfd = -1;
	/* PID 1 of a new pid namespace: killing it kills the sandbox; else the child's session is killed */
	int ns_init = plan.init && !plan.join_pid;
	pid_t child = spawn_child(plan.clone_flags, plan.clone_into_cgroup, &pidfd);
	if (child < 0)
		die("clone3", "namespaces");
	if (child == 0) {
		close(report[0]);
		close(4);
		if (lease_fd >= 0)
			close(lease_fd); /* the monitor holds the lease; nothing in the sandbox may release it */
		if (sync[1] >= 0)
			close(sync[1]);
		if (init_pipe[0] >= 0)
			close(init_pipe[0]);
		child_fd = report[1];
		status_fd = -1;
		run_child(&plan, sync[0], init_pipe[1]);
		_exit(127);
	}
	close(report[1]);
	relay_detach();
	if (init_pipe[1] >= 0)
		close(init_pipe[1]);
	if (sync[0] >= 0) {
		close(sync[0]);
		write_id_maps(&plan, child);
		if (write(sync[1], "g", 1) != 1)
			die("write", "user namespace sync");
		close(sync[1]);
	}

	pid_t program = 0;
	int awaited = await_exec(report[0], &plan, control_fd, &program, &started);
	if (awaited != AWAIT_EXECED) {
		/* no figures to keep: SIGKILL at once, not the init's orderly end (a frozen init would never run it) */
		kill(ns_init ? child : -child, SIGKILL);
		thaw_cgroups(&plan);
		waitpid(child, NULL, 0);
		struct rusage unused;
		memset(&unused, 0, sizeof unused);
		reap_descendants(&unused);
		char c;
		if (awaited == AWAIT_JVM_GONE || read(control_fd, &c, 1) == 0) /* the JVM is gone: nobody else will clean up */
			remove_orphan_cgroups(&plan);
		_exit(125);
	}
	close(report[0]);
	int32_t pids[2] = { program, child };
	send_record(status_fd, REPORT_STARTED, pids, sizeof pids);

	int killed = KILLED_NOT, status = 0, jvm_gone = 0;
	int64_t forbidden_syscall = -1;
	if (early_forbidden >= 0) {
		forbidden_syscall = early_forbidden;
		kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
		killed = KILLED_SYSCALL;
	}
	struct rusage ru;
	pid_t reaped = 0;
	struct pollfd fds[3 + 2 * 2] = { { control_fd, POLLIN, 0 }, { pidfd, POLLIN, 0 }, { notify_fd, POLLIN, 0 } };
	for (;;) {
		/*
		 * Wake up for the exit, a command, relayed output, the wall-time deadline, and every 10 ms
		 * to compare the sandbox's CPU time with its limit (and without a pidfd, before 5.3, to
		 * poll for the exit).
		 */
		relay_poll_slots(fds + 3);
		int timeout = -1;
		if (plan.wall_limit_ns && !killed) {
			int64_t left = (int64_t)plan.wall_limit_ns - (now_ns() - started);
			timeout = left <= 0 ? 0 : (int)(left / 1000000) + 1;
		}
		if ((plan.cpu_limit_ns && !killed) || pidfd < 0)
			timeout = timeout < 0 || timeout > 10 ? 10 : timeout;
		if (hard_kill_at > 0) {
			int64_t left = hard_kill_at - now_ns();
			int ms = left <= 0 ? 0 : (int)(left / 1000000) + 1;
			timeout = timeout < 0 || timeout > ms ? ms : timeout;
		}
		int n = poll(fds, 3 + 2 * (nfds_t)nrelays, timeout);
		if (n < 0 && errno != EINTR)
			die("poll", "monitor");
		if (relay_serve(fds + 3) && !killed) {
			kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
			killed = KILLED_OUTPUT_LIMIT;
		}
		if (hard_kill_at > 0 && now_ns() >= hard_kill_at) {
			kill(child, SIGKILL); /* the init did not end in time */
			hard_kill_at = -1;
		}
		if (fds[1].revents || (pidfd < 0 && (reaped = wait4(child, &status, WNOHANG, &ru)) == child))
			break;
		if (fds[2].revents & POLLIN) {
			struct seccomp_notif req;
			memset(&req, 0, sizeof req);
			if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0 && !killed) {
				forbidden_syscall = req.data.nr;
				kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
				killed = KILLED_SYSCALL;
			}
		} else if (fds[2].revents) {
			fds[2].fd = -1; /* every process under the filter is gone */
		}
		if (!killed && plan.wall_limit_ns && now_ns() - started >= (int64_t)plan.wall_limit_ns) {
			kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
			killed = KILLED_WALL_LIMIT;
		}
		if (!killed && plan.cpu_limit_ns && cpu_usage_ns(&plan) >= (int64_t)plan.cpu_limit_ns) {
			kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
			killed = KILLED_CPU_LIMIT;
		}
		if (fds[0].revents) {
			char cmd = 0;
			ssize_t r = read(control_fd, &cmd, 1);
			if (r <= 0 || cmd == 'K') {
				kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGKILL);
				if (!killed)
					killed = KILLED_ON_REQUEST;
				if (r <= 0) {
					fds[0].fd = -1; /* the JVM is gone */
					jvm_gone = 1;
				}
			} else if (cmd == 'T') {
				kill_sandbox(&plan, child, plan.join_pid ? program : 0, ns_init, SIGTERM);
			}
		}
	}

	if (reaped != child && wait4(child, &status, 0, &ru) < 0)
		die("wait4", "sandbox");
	int64_t wall = now_ns() - started;
	if (!ns_init)
		kill(-child, SIGKILL); /* stragglers in the program's session */
	reap_descendants(&ru);     /* and those that left it: re-parented to us, the subreaper */
	int64_t deadline = plan.wall_limit_ns ? started + (int64_t)plan.wall_limit_ns : 0;
	/* killed on request, the run is over: what is left is dropped (the destination may never read) */
	if (!jvm_gone && killed != KILLED_ON_REQUEST && relay_drain(control_fd, deadline, &killed, &jvm_gone))
		wall = now_ns() - started; /* the run ends when its output is delivered */
	if (jvm_gone)
		remove_orphan_cgroups(&plan);
	int32_t program_status;
	if (plan.init && read(init_pipe[0], &program_status, sizeof program_status) == sizeof program_status)
		status = program_status;

	int64_t exit_payload[9] = {
		status,
		killed,
		wall,
		(int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
		ru.ru_maxrss,
		ru.ru_nvcsw,
		ru.ru_nivcsw,
		forbidden_syscall,
	};
	send_record(status_fd, REPORT_EXIT, exit_payload, sizeof exit_payload);
	return 0;
}
