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
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
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
	TAG_ORPHAN_CGROUP = 19,     /* string, repeated: cgroup directories to remove if the JVM is gone */
	TAG_NEW_ROOT = 20,          /* build a new root at /newroot of a staging tmpfs, then pivot into it */
	TAG_MOUNT = 21,             /* struct mount_op, repeated, in order (paths of the staging root) */
	TAG_RUN_AS = 22,            /* u32 uid, u32 gid, u32 clear supplementary groups */
	TAG_CAPS = 23,              /* u64: capabilities kept; every other one is dropped */
	TAG_NO_NEW_PRIVS = 24,
	TAG_SECCOMP = 25,           /* struct sock_filter[]: installed last, right before execve */
	TAG_RLIMIT = 26,            /* u32 resource, u32 0, u64 soft, u64 hard; repeated */
	TAG_WALL_LIMIT = 27,        /* u64 ns: the monitor kills the sandbox this long after exec */
	TAG_CPU_LIMIT = 28,         /* u64 ns, u32 kind, then the cgroup file with the sandbox's CPU usage */
	TAG_SESSION = 29,           /* keep the set-up namespaces alive: no program, reap what joins them */
	TAG_JOIN = 30,              /* u32 pid, u32 0, u64 CLONE_NEW* flags: enter that process's namespaces */
	TAG_SECCOMP_NOTIFY = 31,    /* the filter's kills are notifications: the monitor kills, naming the call */
	TAG_SWEEP_UID = 40,         /* u32 uid: before the sandbox exists, kill every process of this host uid */
};

/* Why the monitor killed the sandbox; reported to the JVM. */
enum kill_reason {
	KILLED_NOT = 0, KILLED_ON_REQUEST = 1, KILLED_CPU_LIMIT = 2, KILLED_WALL_LIMIT = 3, KILLED_SYSCALL = 4
};

/* How TAG_CPU_LIMIT's file reports usage. */
enum cpu_usage_kind { CPU_USAGE_NS = 0 /* v1 cpuacct.usage */, CPU_STAT_USEC = 1 /* v2 cpu.stat usage_usec */ };

/* What a TAG_MOUNT record asks for. */
enum mount_kind {
	MOUNT_DIR = 0,     /* mkdir -p target, mount(source, target, fstype, flags, data) */
	MOUNT_FILE = 1,    /* create target as an empty file, then mount over it (a bind of a file) */
	MOUNT_REMOUNT = 2, /* remount the bind at target with flags added to those it has (and must keep) */
	MOUNT_SYMLINK = 3, /* symlink(source, target) */
	MOUNT_MKDIR = 4,   /* mkdir -p target */
	MOUNT_WRITE = 5,   /* create target with data as its content */
};

struct mount_op {
	uint64_t flags;
	uint32_t kind;
	const char *source, *target, *fstype, *data, *display;
};

struct rlimit_op {
	uint32_t resource;
	uint64_t soft, hard;
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
	char *orphan_cgroups[64];
	int norphan_cgroups;
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
	uint64_t wall_limit_ns, cpu_limit_ns;
	uint32_t cpu_usage_kind;
	const char *cpu_usage_file;
	int sweep;
	uint32_t sweep_uid;
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

/* A mount record: u64 flags, u32 kind, u32 0, then source, target, fstype, data, display (NUL-terminated). */
static void read_mount(struct plan *p, char *val, uint32_t len)
{
	if (p->nmounts >= 256 || len < 16) {
		errno = E2BIG;
		die("plan", "mounts");
	}
	struct mount_op *m = &p->mounts[p->nmounts++];
	memcpy(&m->flags, val, 8);
	memcpy(&m->kind, val + 8, 4);
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
		case TAG_ORPHAN_CGROUP: add_to_list(p->orphan_cgroups, &p->norphan_cgroups, 63, val, "cgroups"); break;
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
		case TAG_SESSION: p->session = 1; break;
		case TAG_SECCOMP_NOTIFY: p->seccomp_notify = 1; break;
		case TAG_JOIN:
			memcpy(&p->join_pid, val, 4);
			memcpy(&p->join_flags, val + 8, 8);
			break;
		case TAG_CPU_LIMIT:
			memcpy(&p->cpu_limit_ns, val, 8);
			memcpy(&p->cpu_usage_kind, val + 8, 4);
			p->cpu_usage_file = val + 16;
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

/* mkdir -p: the missing directories of path, mode 0755. */
static void mkdir_p(const char *path, const char *display)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				die("mkdir", display);
			*s = c;
			if (!c)
				break;
		}
	}
}

/* The flags a bind remount must keep: in a user namespace, dropping a locked one fails with EPERM. */
static unsigned long locked_flags(const char *target, const char *display)
{
	struct statvfs st;
	if (statvfs(target, &st) < 0)
		die("statvfs", display);
	unsigned long f = 0;
	static const struct { unsigned long st, ms; } map[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (st.f_flag & map[i].st)
			f |= map[i].ms;
	return f;
}

static void mount_op(const struct mount_op *m)
{
	const char *display = m->display ? m->display : m->target;
	switch (m->kind) {
	case MOUNT_MKDIR:
		mkdir_p(m->target, display);
		return;
	case MOUNT_SYMLINK:
		if (symlink(m->source, m->target) < 0 && errno != EEXIST)
			die("symlink", display);
		return;
	case MOUNT_WRITE: {
		int fd = open(m->target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		size_t len = m->data ? strlen(m->data) : 0;
		if (fd < 0 || (len && write(fd, m->data, len) != (ssize_t)len))
			die("write", display);
		close(fd);
		return;
	}
	case MOUNT_REMOUNT:
		if (mount(NULL, m->target, NULL, MS_REMOUNT | MS_BIND | m->flags | locked_flags(m->target, display), NULL) < 0)
			die("mount", display);
		return;
	case MOUNT_FILE: {
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", m->target);
		*strrchr(parent, '/') = 0;
		mkdir_p(parent, display);
		int fd = open(m->target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("open", display);
		close(fd);
		break;
	}
	default:
		mkdir_p(m->target, display);
	}
	if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0)
		die("mount", display);
}

/*
 * The new root is assembled at /newroot of a staging tmpfs while the host's root is reachable at
 * /oldroot (bind sources are /oldroot/...); then /newroot becomes / and the rest is detached.
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
	if (p->new_root)
		enter_staging();
	for (int i = 0; i < p->nmounts; i++)
		mount_op(&p->mounts[i]);
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

static void run_program(const struct plan *p)
{
	reset_signals();
	send_own_pid();
	step_rlimits(p);
	step_identity(p);
	step_exec(p);
}

/* PID 1 of the sandbox: forward signals to the program, reap everything, exit with the program. */
static void run_init(const struct plan *p, int init_report_fd)
{
	static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask", "init");

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
		if (sig != SIGCHLD) {
			if (!program_done)
				kill(program, sig);
			continue;
		}
		for (;;) {
			int st;
			pid_t r = waitpid(-1, &st, WNOHANG);
			if (r == program) {
				program_status = st;
				program_done = 1;
				if (!p->join_pid)
					kill(-1, SIGKILL); /* nothing outlives the program (a session's other runs do) */
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

/* A persistent sandbox's PID 1: no program of its own; reaps whatever runs in it until killed. */
static void run_session_keeper(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	send_own_pid();
	close(child_fd); /* the monitor reports the sandbox started */
	prctl(PR_SET_NAME, "isolation-init");
	for (;;) {
		siginfo_t si;
		if (sigwaitinfo(&set, &si) == SIGCHLD)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
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
	/* open them all first: once in the sandbox's mount namespace, /proc is the sandbox's */
	for (int i = 0; i < 7; i++) {
		fds[i] = -1;
		if (!(p->join_flags & order[i].flag))
			continue;
		snprintf(path, sizeof path, "/proc/%u/ns/%s", p->join_pid, order[i].name);
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			die("open", path);
	}
	for (int i = 0; i < 7; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], (int)order[i].flag) < 0) {
			snprintf(path, sizeof path, "/proc/%u/ns/%s", p->join_pid, order[i].name);
			die("setns", path);
		}
		close(fds[i]);
	}
	become_userns_ids(p);
}

static void run_child(struct plan *p, int sync_fd, int init_report_fd)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("prctl", "PR_SET_PDEATHSIG");
	if (sync_fd >= 0) { /* wait until the monitor wrote our id maps */
		char c;
		if (read(sync_fd, &c, 1) != 1)
			_exit(127);
		close(sync_fd);
	}
	become_userns_ids(p);
	if (setsid() < 0)
		die("setsid", NULL);
	step_join_cgroups(p);
	if (p->join_pid) {
		step_join(p);
	} else {
		if (p->cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
			die("unshare", "CLONE_NEWCGROUP");
		step_mounts(p);
		step_hostname(p);
		step_loopback(p);
	}
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

/* Receives the program's pid, then either a setup error or end of file (exec succeeded). */
static int notify_fd = -1; /* the seccomp listener, in the monitor */

static int await_exec(int fd, pid_t *program, int64_t *started)
{
	char buf[PIPE_BUF];
	char cbuf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
	for (;;) {
		struct iovec iov = { buf, sizeof buf };
		struct msghdr msg = { 0 };
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof cbuf;
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return *program > 0 ? 0 : -1;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (n == 1 && buf[0] == 'N') {
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
		if (n == 1 && buf[0] == 'P' && c && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			*program = cred.pid;
			*started = now_ns(); /* wall time counts from the program's exec */
			continue;
		}
		/* a setup error record from the child: forward it as it is, if it is one */
		struct report_header h = { 0, 0 };
		if (n >= (ssize_t)sizeof h)
			memcpy(&h, buf, sizeof h);
		if (h.type != REPORT_ERROR || h.len != (size_t)n - sizeof h) {
			errno = EPROTO;
			die("recvmsg", "malformed report from the sandbox");
		}
		if (write(status_fd, buf, (size_t)n) < 0)
			return -1;
		return -1;
	}
}

/*
 * The JVM is gone (or dropped a prewarmed sandbox) and cannot remove the sandbox's cgroups: kill
 * what is left in them and remove them, deepest first, while the kernel releases them.
 */
static void remove_orphan_cgroups(const struct plan *p)
{
	for (int i = p->norphan_cgroups - 1; i >= 0; i--) {
		char procs[PATH_MAX];
		snprintf(procs, sizeof procs, "%s/cgroup.procs", p->orphan_cgroups[i]);
		for (int tries = 0; tries < 200 && rmdir(p->orphan_cgroups[i]) < 0 && errno == EBUSY; tries++) {
			FILE *f = fopen(procs, "re");
			int pid;
			while (f && fscanf(f, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			if (f)
				fclose(f);
			usleep(5000);
		}
	}
}

/* CPU time of every process of the sandbox so far, from its cgroup; -1 if unreadable. */
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
	if (p->cpu_usage_kind == CPU_USAGE_NS)
		return strtoll(buf, NULL, 10);
	char *u = strstr(buf, "usage_usec ");
	return u ? strtoll(u + 11, NULL, 10) * 1000 : -1;
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

static void kill_sandbox(pid_t child, int has_init, int sig)
{
	if (has_init)
		kill(child, sig == SIGTERM ? SIGTERM : SIGKILL);
	else
		kill(-child, sig); /* the child's session: the program and what it started */
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
	step_sweep(&plan);

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
	if (await_exec(report[0], &program, &started) < 0) {
		kill_sandbox(child, ns_init, SIGKILL);
		waitpid(child, NULL, 0);
		char c;
		if (read(control_fd, &c, 1) == 0) /* the JVM is gone: nobody else will clean up */
			remove_orphan_cgroups(&plan);
		_exit(125);
	}
	close(report[0]);
	int32_t pids[2] = { program, child };
	send_record(status_fd, REPORT_STARTED, pids, sizeof pids);

	int killed = KILLED_NOT, status = 0, jvm_gone = 0;
	int64_t forbidden_syscall = -1;
	struct rusage ru;
	pid_t reaped = 0;
	struct pollfd fds[3] = { { control_fd, POLLIN, 0 }, { pidfd, POLLIN, 0 }, { notify_fd, POLLIN, 0 } };
	for (;;) {
		/*
		 * Wake up for the exit, a command, the wall-time deadline, and every 10 ms to compare the
		 * sandbox's CPU time with its limit (and without a pidfd, before 5.3, to poll for the exit).
		 */
		int timeout = -1;
		if (plan.wall_limit_ns && !killed) {
			int64_t left = (int64_t)plan.wall_limit_ns - (now_ns() - started);
			timeout = left <= 0 ? 0 : (int)(left / 1000000) + 1;
		}
		if ((plan.cpu_limit_ns && !killed) || pidfd < 0)
			timeout = timeout < 0 || timeout > 10 ? 10 : timeout;
		int n = poll(fds, 3, timeout);
		if (n < 0 && errno != EINTR)
			die("poll", "monitor");
		if (fds[1].revents || (pidfd < 0 && (reaped = wait4(child, &status, WNOHANG, &ru)) == child))
			break;
		if (fds[2].revents & POLLIN) {
			struct seccomp_notif req;
			memset(&req, 0, sizeof req);
			if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0 && !killed) {
				forbidden_syscall = req.data.nr;
				kill_sandbox(child, ns_init, SIGKILL);
				killed = KILLED_SYSCALL;
			}
		} else if (fds[2].revents) {
			fds[2].fd = -1; /* every process under the filter is gone */
		}
		if (!killed && plan.wall_limit_ns && now_ns() - started >= (int64_t)plan.wall_limit_ns) {
			kill_sandbox(child, ns_init, SIGKILL);
			killed = KILLED_WALL_LIMIT;
		}
		if (!killed && plan.cpu_limit_ns && cpu_usage_ns(&plan) >= (int64_t)plan.cpu_limit_ns) {
			kill_sandbox(child, ns_init, SIGKILL);
			killed = KILLED_CPU_LIMIT;
		}
		if (fds[0].revents) {
			char cmd = 0;
			ssize_t r = read(control_fd, &cmd, 1);
			if (r <= 0 || cmd == 'K') {
				kill_sandbox(child, ns_init, SIGKILL);
				if (!killed)
					killed = KILLED_ON_REQUEST;
				if (r <= 0) {
					fds[0].fd = -1; /* the JVM is gone */
					jvm_gone = 1;
				}
			} else if (cmd == 'T') {
				kill_sandbox(child, ns_init, SIGTERM);
			}
		}
	}

	if (reaped != child && wait4(child, &status, 0, &ru) < 0)
		die("wait4", "sandbox");
	int64_t wall = now_ns() - started;
	if (!ns_init)
		kill(-child, SIGKILL); /* stragglers in the program's session */
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
