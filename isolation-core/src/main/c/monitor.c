/*
 * isolation-helper: the native executor of a launch plan. This file is its monitor (the
 * supervisor, in the host's namespaces); plan.c decodes plans, steps.c runs the sandbox's steps.
 *
 * Java decides, this program executes. It is started by the JVM with
 *
 *     isolation-helper PLAN_FD STATUS_FD CONTROL_FD [LEASE_FD]
 *
 * reads the sandbox's setup plan from PLAN_FD, creates the sandbox's first process in new
 * namespaces and performs the setup steps. That process then reads the exec plan (command,
 * environment, directory) from PLAN_FD and execs the program. The JVM sends the two plans back to
 * back; the exec plan waits in the pipe until setup is done. The helper then stays in the host namespaces as the sandbox's monitor: it
 * reports the program's exit status and rusage on STATUS_FD, obeys one-byte commands on
 * CONTROL_FD ('T' terminate, 'K' kill) and kills the whole sandbox when CONTROL_FD reports end
 * of file (the JVM closed it, or died). One channel per protocol: plans on PLAN_FD, commands on
 * CONTROL_FD, reports on STATUS_FD. LEASE_FD, if given, is a lock the JVM took on the sandbox's
 * host uid: the monitor holds it open until it exits, so the uid stays leased while anything of
 * the sandbox may live, even after the JVM is gone.
 *
 * Every failure is reported as (errno, syscall, argument) and ends the run; there is no policy
 * here. The plan format is PlanCodec.java's, the report format HelperProcess.java's.
 */
#include "helper.h"

#include <dirent.h>

int status_fd = -1;
int child_fd = -1;

/* ---- reporting ------------------------------------------------------------------------------ */

/* One record per write(), at most PIPE_BUF bytes, so that records arrive whole. */
void send_record(int fd, uint32_t type, const void *payload, size_t len)
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
void send_error(int fd, int err, const char *call, const char *arg)
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
void die(const char *call, const char *arg)
{
	int fd = status_fd >= 0 ? status_fd : child_fd;
	if (fd >= 0)
		send_error(fd, errno, call, arg);
	_exit(125);
}

/* ---- plan ----------------------------------------------------------------------------------- */

int read_full(int fd, void *buf, size_t len)
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

/* Reads one plan message of kind `kind` into p (which keeps what earlier messages set). */
void read_plan(int fd, uint32_t kind, struct plan *p)
{
	uint32_t len;
	read_plan_message(fd, kind, p, &len);
}

/* read_plan, returning the message as it came (p's strings point into it) and its length. */
char *read_plan_message(int fd, uint32_t kind, struct plan *p, uint32_t *len)
{
	char head[PLAN_HEADER];
	const char *why = NULL;
	if (read_full(fd, head, sizeof head) < 0) {
		if (status_fd < 0) /* in the sandbox: the JVM closed the plans before sending an exec plan */
			_exit(0);
		die("read", "launch plan");
	}
	long body = plan_check_header(head, sizeof head, kind, &why);
	if (body < 0)
		die("plan", why);
	char *buf = malloc(PLAN_HEADER + (size_t)body);
	if (!buf)
		die("malloc", "launch plan");
	memcpy(buf, head, sizeof head);
	if (read_full(fd, buf + PLAN_HEADER, (size_t)body) < 0)
		die("read", "launch plan");
	if (plan_decode(p, kind, buf, PLAN_HEADER + (size_t)body, &why) < 0)
		die("plan", why);
	*len = PLAN_HEADER + (uint32_t)body;
	return buf;
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
void relay_attach(void)
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

/*
 * Their rusage is added to *sum: the figures are the whole sandbox's. Returns 1 once no child is
 * left (ECHILD): as the subreaper of the sandbox's first process, nothing it started lives then.
 * Reaps before it kills: with a pid namespace, its init's end already took everything.
 */
static int reap_descendants(struct rusage *sum, int kill_them)
{
	for (int killed = 0;; killed = 1) {
		pid_t r;
		struct rusage ru;
		while ((r = wait4(-1, NULL, WNOHANG, &ru)) > 0)
			add_rusage(sum, &ru);
		if (r < 0 && errno == ECHILD)
			return 1;
		if (!kill_them)
			return 0; /* left alone, the rest is the system's once we exit */
		if (killed)
			usleep(1000);
		kill_children();
	}
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

/*
 * PLACE_IN_CGROUP: puts the child, still waiting on the sync pipe, in each cgroup the plan names, as
 * its own CGROUP_PROCS steps would. Its pid is this (the host's) pid namespace's, as the files want.
 */
static void place_in_cgroups(const struct plan *p, pid_t child)
{
	char pid[16];
	int len = snprintf(pid, sizeof pid, "%d", child);
	for (int i = 0; i < p->nplace_cgroups; i++) {
		int fd = open(p->place_cgroups[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die("open", p->place_cgroups[i]);
		if (write(fd, pid, (size_t)len) != len)
			die("write", p->place_cgroups[i]);
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
			deadline = 0; /* the setup deadline ends with setup; the program's own limits count from here */
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
 * The JVM is gone (or closed the plans before an exec plan) and cannot remove the sandbox's cgroups, so
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
 * The mark in the lease file of the sandbox's id: LEASE_CLEAN once a monitor proved that nothing
 * it started is left (reap_descendants saw ECHILD), so that the next holder of the id need not
 * sweep it. Each holder overwrites the mark with LEASE_USED before its sandbox exists, so a
 * monitor that never finishes (killed) leaves LEASE_USED, and the next holder sweeps. A new lease
 * file is empty: swept too. Only root can write the file (/run/isolation/ids is 0700).
 */
#define LEASE_CLEAN "clean\n"
#define LEASE_USED "used!\n" /* as long as LEASE_CLEAN, so that one pwrite replaces the other */

/* Whether the id's previous holder left it clean; the mark says "used" from here on, or this fails. */
static int lease_was_clean(int lease_fd)
{
	char mark[sizeof LEASE_CLEAN - 1];
	ssize_t n = pread(lease_fd, mark, sizeof mark, 0);
	if (pwrite(lease_fd, LEASE_USED, sizeof LEASE_USED - 1, 0) != (ssize_t)(sizeof LEASE_USED - 1))
		die("pwrite", "the lease file of the sandbox's id"); /* else a crash of ours could leave "clean" */
	return n == (ssize_t)sizeof mark && memcmp(mark, LEASE_CLEAN, sizeof mark) == 0;
}

static void lease_mark_clean(int lease_fd)
{
	if (pwrite(lease_fd, LEASE_CLEAN, sizeof LEASE_CLEAN - 1, 0) != (ssize_t)(sizeof LEASE_CLEAN - 1)) {
		/* "used" stays: the next holder sweeps */
	}
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
static void step_sweep(const struct plan *p, int lease_fd)
{
	static char stack[16384] __attribute__((aligned(16)));
	if (!p->sweep)
		return;
	if (lease_fd >= 0 && lease_was_clean(lease_fd))
		return; /* its last holder proved nothing of it left, and nothing else runs as it */
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
 * Whom the plan's KILL_RULE names (Java chooses; nothing is inferred here). KILL_INIT: the child is
 * a pid namespace's init, whose death ends everything in it (SIGKILL after the rule's grace).
 * KILL_PROGRAM: a session run's program (the exec'd pid) is killed alone: its reaper then kills
 * what it left behind (killing the reaper first would hand that to the session's init).
 * KILL_POOL: the pooled sandbox's init, told over the run's connection. KILL_SESSION (and
 * KILL_PROGRAM before the exec): the child's session, the program and what it started; the
 * monitor, a subreaper, kills the rest once the child is gone.
 */
static int64_t hard_kill_at; /* when an init asked to end everything is killed outright */
static int pool_conn = -1;    /* a run in a pooled sandbox: the connection to its init, which forked the run */

static void kill_sandbox(const struct plan *p, pid_t child, pid_t program, int sig)
{
	if (p->kill_rule == KILL_POOL) { /* the pooled sandbox's init kills the run (everything but itself), reaps it and reports */
		char cmd = sig == SIGTERM ? 'T' : 'K';
		if (write(pool_conn, &cmd, 1) != 1) {
			/* the init is gone, and the run with it */
		}
		return;
	}
	if (sig == SIGKILL)
		thaw_cgroups(p); /* a paused sandbox dies only when thawed (v1's freezer holds even SIGKILL) */
	if (p->kill_rule == KILL_INIT && sig == SIGTERM) {
		kill(child, SIGTERM);
	} else if (p->kill_rule == KILL_INIT) {
		kill(child, end_signal()); /* the init kills and reaps everything; if it cannot, SIGKILL after the grace */
		if (!hard_kill_at)
			hard_kill_at = now_ns() + (int64_t)p->kill_grace_ns;
	} else if (p->kill_rule == KILL_PROGRAM && program > 0)
		kill(program, sig);
	else
		kill(-child, sig);
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "isolation-helper: started by the isolation library only\n");
		return 2;
	}
	/* PLAN_FD, STATUS_FD, CONTROL_FD, LEASE_FD in place; moved out of the way first only if one is in the way */
	static const int targets[] = { PLAN_FD, STATUS_FD, CONTROL_FD, LEASE_FD };
	int nfds = argc - 1, given[4], in_the_way = 0;
	for (int i = 0; i < nfds; i++) {
		given[i] = atoi(argv[i + 1]);
		in_the_way |= given[i] >= PLAN_FD && given[i] <= LEASE_FD;
	}
	for (int i = 0; i < nfds && in_the_way; i++) {
		int high = fcntl(given[i], F_DUPFD_CLOEXEC, 16);
		if (high < 0) {
			fprintf(stderr, "isolation-helper: descriptor %d: %s\n", given[i], strerror(errno));
			return 2;
		}
		close(given[i]);
		given[i] = high;
	}
	for (int i = 0; i < nfds; i++) {
		if (dup3(given[i], targets[i], O_CLOEXEC) < 0) {
			fprintf(stderr, "isolation-helper: descriptor %d: dup3: %s\n", given[i], strerror(errno));
			return 2;
		}
		close(given[i]);
	}
	status_fd = STATUS_FD;
	int control_fd = CONTROL_FD;
	int lease_fd = nfds == 4 ? LEASE_FD : -1;
	prctl(PR_SET_NAME, "isolation-mon");
	reset_signals();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTTOU, SIG_IGN); /* a relay may write to the JVM's terminal from a background process group */

	/* Keep stdio and ours only: nothing else the JVM had open reaches the sandbox. */
	unsigned int first_closed = (unsigned int)targets[nfds - 1] + 1;
	if (syscall(SYS_close_range, first_closed, ~0U, 0U) < 0)
		for (unsigned int fd = first_closed; fd < 1024; fd++)
			close((int)fd);

	static struct plan plan;
	uint32_t setup_len;
	char *setup_msg = read_plan_message(PLAN_FD, MESSAGE_SETUP, &plan, &setup_len);
	/* what the sandbox leaves behind without a pid namespace (setsid daemons) is re-parented to us;
	 * set before the first fork, after the plan is read, so that a refusal is reported to the JVM */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl", "PR_SET_CHILD_SUBREAPER");
	step_sweep(&plan, lease_fd);
	relay_prepare(&plan);
	if (plan.pool_listen)
		pool_listen(plan.pool_listen); /* the sandbox's first process inherits it */

	int report[2], sync[2] = { -1, -1 }, init_pipe[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0)
		die("socketpair", "setup report");
	int one = 1;
	if (setsockopt(report[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
		die("setsockopt", "SO_PASSCRED");
	/* the child waits for its id maps and its cgroups, written from here */
	if (((plan.clone_flags & CLONE_NEWUSER) || plan.nplace_cgroups) && pipe2(sync, O_CLOEXEC) < 0)
		die("pipe2", "user namespace sync");
	if (plan.init && pipe2(init_pipe, O_CLOEXEC) < 0)
		die("pipe2", "init report");

	int64_t started = 0;
	int pidfd = -1;
	/* KILL_INIT: PID 1 of a new pid namespace, killing it kills the sandbox; else the child's session is killed */
	int ns_init = plan.kill_rule == KILL_INIT;
	pid_t child;
	if (plan.pool_run) {
		/* a run in a pooled sandbox: its init forks the run; the connection reports its end, as a pidfd would */
		uint32_t exec_len;
		char *exec_msg = read_plan_message(PLAN_FD, MESSAGE_EXEC, &plan, &exec_len);
		int cgroup_fd = -1;
		if (plan.clone_into_cgroup && (cgroup_fd = open(plan.clone_into_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			die("open", plan.clone_into_cgroup);
		pool_conn = pool_connect(plan.pool_run);
		pool_send_run(pool_conn, setup_msg, setup_len, exec_msg, exec_len, report[1], cgroup_fd);
		if (cgroup_fd >= 0)
			close(cgroup_fd);
		free(exec_msg);
		child = 0;
		pidfd = pool_conn;
	} else {
		child = spawn_child(plan.clone_flags, plan.clone_into_cgroup, &pidfd);
	}
	if (child < 0)
		die("clone3", "namespaces");
	if (child == 0 && pool_conn < 0) {
		close(report[0]);
		close(STATUS_FD);
		close(CONTROL_FD); /* the monitor's commands: nothing in the sandbox may read them */
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
	pool_listen_close();
	relay_detach();
	if (init_pipe[1] >= 0)
		close(init_pipe[1]);
	if (sync[0] >= 0) {
		close(sync[0]);
		place_in_cgroups(&plan, child);
		write_id_maps(&plan, child);
		if (write(sync[1], "g", 1) != 1)
			die("write", "user namespace sync");
		close(sync[1]);
	}

	pid_t program = 0;
	int awaited = await_exec(report[0], &plan, control_fd, &program, &started);
	if (awaited != AWAIT_EXECED) {
		/* no figures to keep: SIGKILL at once, not the init's orderly end (a frozen init would never run it) */
		if (pool_conn >= 0) {
			int64_t figures[6];
			kill_sandbox(&plan, child, 0, SIGKILL);
			thaw_cgroups(&plan);
			if (read_full(pool_conn, figures, sizeof figures) < 0) {
				/* the init reaped the run, or is gone with it */
			}
		} else {
			kill(ns_init ? child : -child, SIGKILL);
			thaw_cgroups(&plan);
			waitpid(child, NULL, 0);
		}
		struct rusage unused;
		memset(&unused, 0, sizeof unused);
		reap_descendants(&unused, 1);
		char c;
		/*
		 * The JVM is gone, or closed the plans of a sandbox that never got its exec plan (its
		 * streams could not be opened): nobody else will clean up. An exec plan that was sent means
		 * the JVM waits for this report and removes the cgroups itself.
		 */
		if (awaited == AWAIT_JVM_GONE || read(PLAN_FD, &c, 1) == 0)
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
		kill_sandbox(&plan, child, program, SIGKILL);
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
			kill_sandbox(&plan, child, program, SIGKILL);
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
				kill_sandbox(&plan, child, program, SIGKILL);
				killed = KILLED_SYSCALL;
			}
		} else if (fds[2].revents) {
			fds[2].fd = -1; /* every process under the filter is gone */
		}
		if (!killed && plan.wall_limit_ns && now_ns() - started >= (int64_t)plan.wall_limit_ns) {
			kill_sandbox(&plan, child, program, SIGKILL);
			killed = KILLED_WALL_LIMIT;
		}
		if (!killed && plan.cpu_limit_ns && cpu_usage_ns(&plan) >= (int64_t)plan.cpu_limit_ns) {
			kill_sandbox(&plan, child, program, SIGKILL);
			killed = KILLED_CPU_LIMIT;
		}
		if (fds[0].revents) {
			char cmd = 0;
			ssize_t r = read(control_fd, &cmd, 1);
			if (r <= 0 || cmd == 'K') {
				kill_sandbox(&plan, child, program, SIGKILL);
				if (!killed)
					killed = KILLED_ON_REQUEST;
				if (r <= 0) {
					fds[0].fd = -1; /* the JVM is gone */
					jvm_gone = 1;
				}
			} else if (cmd == 'T') {
				kill_sandbox(&plan, child, program, SIGTERM);
			}
		}
	}

	if (pool_conn >= 0) {
		/* the init's figures of the run, once it reaped everything; its end of file: it died, and the run with it */
		int64_t figures[6];
		memset(&ru, 0, sizeof ru);
		if (read_full(pool_conn, figures, sizeof figures) == 0) {
			status = (int)figures[0];
			ru.ru_utime.tv_sec = figures[1] / 1000000;
			ru.ru_utime.tv_usec = figures[1] % 1000000;
			ru.ru_stime.tv_sec = figures[2] / 1000000;
			ru.ru_stime.tv_usec = figures[2] % 1000000;
			ru.ru_maxrss = figures[3];
			ru.ru_nvcsw = figures[4];
			ru.ru_nivcsw = figures[5];
		} else {
			status = SIGKILL;
		}
	} else if (reaped != child && wait4(child, &status, 0, &ru) < 0) {
		die("wait4", "sandbox");
	}
	int64_t wall = now_ns() - started;
	/* RUN_END_KILL_REST: stragglers in the program's session, and those that left it (re-parented to us, the subreaper) */
	int kill_rest = (plan.run_end & RUN_END_KILL_REST) != 0;
	if (!ns_init && kill_rest && child > 0)
		kill(-child, SIGKILL);
	if (reap_descendants(&ru, kill_rest) && plan.sweep && lease_fd >= 0)
		lease_mark_clean(lease_fd); /* nothing of the sandbox is left: the next holder of its id need not sweep */
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
