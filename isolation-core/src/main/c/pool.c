/*
 * A pooled sandbox (SandboxPool.java): the init that forks its runs, and the socket its runs'
 * monitors reach it by. The sandbox is set up once (namespaces, mounts, cgroup) by its keeper's
 * helper; its first process then stays, as PID 1 of the sandbox's pid namespace and inside the
 * sandbox's cgroup, and serves one run at a time:
 *
 *   1. A run's monitor (monitor.c, POOL_RUN) connects. Only a peer outside the sandbox's pid
 *      namespace (SO_PEERCRED's pid is 0 there) and of the init's own uid (the JVM's) is read
 *      from: nothing inside the sandbox, and no other user, can ask for a run. That is not enough
 *      for an ordinary JVM: every sandbox's user namespace maps its root to the JVM's user, so a
 *      program of another sandbox that shares the host's network namespace (where the abstract
 *      name is, listed in /proc/net/unix) passes both checks. Hence the pool's secret.
 *   2. It sends a header (u32 setup plan length, u32 exec plan length, the pool's secret:
 *      POOL_SECRET_LEN bytes that only the JVM, the keeper and the runs' monitors have, from
 *      their plans, never in a name) with the run's standard input, output and error and its
 *      report socket (SCM_RIGHTS), optionally a fifth descriptor: a cgroup2 directory the run is
 *      created in (clone3 CLONE_INTO_CGROUP); then both plans. A request with another secret, or
 *      not sent in full within POOL_REQUEST_SECONDS, ends the connection: nothing is started.
 *   3. The init forks the run's process, which decodes the plans and executes the run's setup
 *      steps and program steps (steps.c, run_pooled), reporting to the monitor as any sandbox's
 *      first process does. The fork is made inside the already-placed cgroup: no migration.
 *   4. The init reaps the run; once the program ended it kills whatever else is left in the pid
 *      namespace (kill(-1) from its PID 1 reaches every process but itself) and reaps until no
 *      child is left: nothing of the run survives it. A command byte from the monitor ('K' kill,
 *      'T' SIGTERM to the program) or its end of file (the monitor is gone) kills the run.
 *   5. It sends the run's figures: i64 wait status, user and system CPU microseconds, max RSS
 *      (KiB), voluntary and involuntary context switches, summed over every process of the run.
 *
 * The signal that ends a sandbox (end_signal()) kills everything and ends the init.
 */
#include "helper.h"

#include <sys/signalfd.h>
#include <stddef.h>
#include <sys/un.h>

#define POOL_REQUEST_FDS 5
#define POOL_SECRET_LEN 32
#define POOL_REQUEST_SECONDS 10

static int pool_listen_fd = -1;
/* POOL_LISTEN's or POOL_RUN's secret: what a request must carry to be served */
static char pool_secret[POOL_SECRET_LEN];

/*
 * The socket's address, from POOL_LISTEN's or POOL_RUN's value: the name, a space and the pool's
 * secret (POOL_SECRET_LEN characters, kept in pool_secret; a value without one is refused). A name
 * starting with '@' is in the abstract namespace (of the host's network namespace, where the
 * monitors are: no file to remove, out of reach of a sandbox with a network namespace of its
 * own); anything else a path. Errors name the socket without its secret.
 */
static socklen_t address(struct sockaddr_un *a, const char *value, const char *call)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t len = strcspn(value, " ");
	if (len >= sizeof a->sun_path)
		fail(ENAMETOOLONG, call, "the pool's socket");
	memcpy(a->sun_path, value, len);
	if (value[len] != ' ' || strlen(value + len + 1) != POOL_SECRET_LEN)
		fail(EINVAL, call, "a pool's socket without its secret");
	memcpy(pool_secret, value + len + 1, POOL_SECRET_LEN);
	if (a->sun_path[0] == '@')
		a->sun_path[0] = 0;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (a->sun_path[0] == 0 ? 0 : 1));
}

/* The socket's name, for errors: the value without its secret. */
static const char *shown(const struct sockaddr_un *a)
{
	static char name[sizeof a->sun_path + 1];
	memcpy(name, a->sun_path, sizeof a->sun_path);
	name[sizeof a->sun_path] = 0;
	if (name[0] == 0)
		name[0] = '@';
	return name;
}

/* In the keeper's monitor, before the sandbox exists: the listening socket, inherited by the sandbox's first process. */
void pool_listen(const char *name)
{
	struct sockaddr_un a;
	socklen_t len = address(&a, name, "bind");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", "pool");
	if (bind(fd, (struct sockaddr *)&a, len) < 0)
		die("bind", shown(&a));
	if (listen(fd, 16) < 0)
		die("listen", shown(&a));
	pool_listen_fd = fd;
}

/* In the keeper's monitor, once the sandbox's first process has its copy. */
void pool_listen_close(void)
{
	if (pool_listen_fd >= 0)
		close(pool_listen_fd);
}

/* In a run's monitor: the pooled sandbox's socket. */
int pool_connect(const char *name)
{
	struct sockaddr_un a;
	socklen_t len = address(&a, name, "connect");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", "pool");
	if (connect(fd, (struct sockaddr *)&a, len) < 0)
		die("connect", shown(&a));
	return fd;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* In a run's monitor: hands the run to the pooled sandbox's init (see the top of this file). */
void pool_send_run(int conn, const char *setup, uint32_t setup_len, const char *exec, uint32_t exec_len, int report, int cgroup_fd)
{
	uint32_t lens[2] = { setup_len, exec_len };
	int fds[POOL_REQUEST_FDS] = { 0, 1, 2, report, cgroup_fd };
	int nfds = cgroup_fd >= 0 ? 5 : 4;
	union {
		char buf[CMSG_SPACE(sizeof(int) * POOL_REQUEST_FDS)];
		struct cmsghdr align;
	} cbuf;
	memset(&cbuf, 0, sizeof cbuf);
	struct iovec iov[2] = { { lens, sizeof lens }, { pool_secret, POOL_SECRET_LEN } };
	struct msghdr msg = { 0 };
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	if (sendmsg(conn, &msg, MSG_NOSIGNAL) != (ssize_t)(sizeof lens + POOL_SECRET_LEN) || write_full(conn, setup, setup_len) < 0
			|| write_full(conn, exec, exec_len) < 0)
		die("sendmsg", "the run to the pooled sandbox");
}

static void add_usage(struct rusage *sum, const struct rusage *ru)
{
	timeradd(&sum->ru_utime, &ru->ru_utime, &sum->ru_utime);
	timeradd(&sum->ru_stime, &ru->ru_stime, &sum->ru_stime);
	sum->ru_maxrss = ru->ru_maxrss > sum->ru_maxrss ? ru->ru_maxrss : sum->ru_maxrss;
	sum->ru_nvcsw += ru->ru_nvcsw;
	sum->ru_nivcsw += ru->ru_nivcsw;
}

/* Kills every process of the pid namespace but this init, and reaps them all. */
static void kill_all_and_reap(struct rusage *sum)
{
	kill(-1, SIGKILL);
	struct rusage ru;
	while (wait4(-1, NULL, 0, &ru) > 0)
		add_usage(sum, &ru);
}

/* The request's header and descriptors; -1 if the peer sent none (it went away). */
static int receive_request(int conn, uint32_t lens[2], int fds[POOL_REQUEST_FDS], int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * POOL_REQUEST_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { lens, 2 * sizeof(uint32_t) };
	struct msghdr msg = { 0 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	ssize_t n;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (got > POOL_REQUEST_FDS)
				got = POOL_REQUEST_FDS; /* MSG_CTRUNC: the kernel dropped the rest */
			memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)got);
			*nfds = got;
		}
	if (n <= 0 || *nfds < 4 || (msg.msg_flags & MSG_CTRUNC)
			|| (n < (ssize_t)(2 * sizeof(uint32_t)) && read_full(conn, (char *)lens + n, 2 * sizeof(uint32_t) - (size_t)n) < 0))
		return -1;
	char secret[POOL_SECRET_LEN];
	if (read_full(conn, secret, sizeof secret) < 0)
		return -1;
	unsigned char differ = 0; /* in constant time */
	for (size_t i = 0; i < sizeof secret; i++)
		differ |= (unsigned char)(secret[i] ^ pool_secret[i]);
	if (differ)
		return -1;
	if (lens[0] > PLAN_MAX_BYTES + PLAN_HEADER || lens[1] > PLAN_MAX_BYTES + PLAN_HEADER)
		return -1;
	return 0;
}

/* The run's process: its descriptors in place, its plans decoded, then steps.c's run_pooled. */
static void run_process(int conn, int sigfd, int fds[POOL_REQUEST_FDS], char *setup, uint32_t setup_len, char *exec,
	uint32_t exec_len)
{
	close(pool_listen_fd);
	close(sigfd);
	close(conn);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(127);
	child_fd = fds[3]; /* close-on-exec: its end of file tells the monitor that the program runs */
	for (int i = 0; i < 3; i++)
		if (fds[i] > 2)
			close(fds[i]);
	if (fds[4] >= 0)
		close(fds[4]);
	/*
	 * No reset_signals() here: the init has no handlers (SIGPIPE and SIGTTOU ignored, SIGCHLD and the
	 * end signal blocked), none of which matters to the setup steps, and run_program() resets every
	 * signal before the program's first step (62 rt_sigaction calls a run, once instead of twice).
	 */
	/*
	 * The init this run was forked from is never the OOM killer's pick (a root JVM's PooledSandbox
	 * sets its oom_score_adj to -1000); the run must not inherit that: a negative value is raised to
	 * 0, the kernel's default (raising needs no privilege; a value the init had from a non-root JVM,
	 * 0 or above, is left as a sandbox of its own would have it). A pooled sandbox always has its
	 * pid namespace's /proc.
	 */
	char adj[16] = { 0 };
	int oom = openat(AT_FDCWD, "/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	if (oom < 0 || pread(oom, adj, sizeof adj - 1, 0) <= 0)
		die("read", "/proc/self/oom_score_adj of the pooled run");
	if (adj[0] == '-' && pwrite(oom, "0", 1, 0) != 1)
		die("write", "/proc/self/oom_score_adj of the pooled run");
	close(oom);
	static struct plan run;
	memset(&run, 0, sizeof run);
	const char *why = NULL;
	if (plan_decode(&run, MESSAGE_SETUP, setup, setup_len, &why) < 0 || plan_decode(&run, MESSAGE_EXEC, exec, exec_len, &why) < 0)
		die("plan", why);
	run_pooled(&run);
	_exit(127);
}

static pid_t fork_run(int cgroup_fd)
{
	if (cgroup_fd < 0)
		return fork();
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cgroup_fd;
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/*
 * One run, from its request to its figures. A request that cannot be read ends the connection,
 * and nothing was started.
 */
static void serve_run(int conn, int sigfd)
{
	uint32_t lens[2] = { 0, 0 };
	int fds[POOL_REQUEST_FDS] = { -1, -1, -1, -1, -1 }, nfds = 0;
	/* a peer that connects and sends nothing (or too little) must not hold the init */
	struct timeval limit = { POOL_REQUEST_SECONDS, 0 }, none = { 0, 0 };
	int ok = setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0 && receive_request(conn, lens, fds, &nfds) == 0;
	char *setup = NULL, *exec = NULL;
	if (ok) {
		setup = malloc(lens[0] ? lens[0] : 1);
		exec = malloc(lens[1] ? lens[1] : 1);
		ok = setup && exec && read_full(conn, setup, lens[0]) == 0 && read_full(conn, exec, lens[1]) == 0
			&& setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none) == 0;
	}
	pid_t program = -1;
	if (ok) {
		program = fork_run(nfds > 4 ? fds[4] : -1);
		if (program == 0)
			run_process(conn, sigfd, fds, setup, lens[0], exec, lens[1]);
		if (program < 0)
			send_error(fds[3], errno, nfds > 4 ? "clone3" : "fork", "the run in the pooled sandbox");
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(setup);
	free(exec);
	if (program < 0)
		return;

	struct rusage sum;
	memset(&sum, 0, sizeof sum);
	int status = 0, done = 0;
	for (;;) {
		struct pollfd p[2] = { { conn, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			kill_all_and_reap(&sum);
			break;
		}
		if (p[0].revents) {
			char cmd = 0;
			ssize_t r = read(conn, &cmd, 1);
			if (r <= 0) { /* the monitor is gone: nobody reads the figures */
				kill_all_and_reap(&sum);
				return;
			}
			if (cmd == 'K')
				kill(-1, SIGKILL); /* reaped below, so that their figures count */
			else if (cmd == 'T' && !done)
				kill(program, SIGTERM);
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof si) == sizeof si && (int)si.ssi_signo == end_signal()) {
				kill_all_and_reap(&sum);
				_exit(0);
			}
			struct rusage ru;
			int st;
			pid_t r;
			while ((r = wait4(-1, &st, WNOHANG, &ru)) > 0) {
				add_usage(&sum, &ru);
				if (r == program) {
					status = st;
					done = 1;
				}
			}
			if (done) {
				kill_all_and_reap(&sum); /* nothing outlives the program */
				break;
			}
		}
	}
	int64_t figures[6] = {
		status,
		(int64_t)sum.ru_utime.tv_sec * 1000000 + sum.ru_utime.tv_usec,
		(int64_t)sum.ru_stime.tv_sec * 1000000 + sum.ru_stime.tv_usec,
		sum.ru_maxrss,
		sum.ru_nvcsw,
		sum.ru_nivcsw,
	};
	if (write_full(conn, figures, sizeof figures) < 0) {
		/* the monitor is gone */
	}
}

/* POOL: the pooled sandbox's init, serving runs until it is ended. */
void pool_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, end_signal());
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask", "pool");
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sigfd < 0)
		die("signalfd", "pool");
	if (pool_listen_fd < 0)
		fail(EBADF, "pool", "no listening socket (POOL_LISTEN)");
	prctl(PR_SET_NAME, "isolation-pool");
	close(child_fd); /* the keeper's monitor reports the sandbox started */
	child_fd = -1;
	for (;;) {
		struct pollfd p[2] = { { pool_listen_fd, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof si) == sizeof si && (int)si.ssi_signo == end_signal()) {
				struct rusage unused;
				memset(&unused, 0, sizeof unused);
				kill_all_and_reap(&unused);
				_exit(0);
			}
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
		if (!p[0].revents)
			continue;
		int conn = accept4(pool_listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		struct ucred peer;
		socklen_t len = sizeof peer;
		/*
		 * Only the JVM's monitors are served: a peer outside the sandbox's pid namespace (one inside
		 * has a pid here) with our own uid (the JVM's; another user's is unmapped in our user namespace)
		 */
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.pid == 0 && peer.uid == getuid())
			serve_run(conn, sigfd);
		if (conn >= 0)
			close(conn);
	}
}
