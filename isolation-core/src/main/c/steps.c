/*
 * The sandbox's side of the helper: its first process's setup steps, the PID-1 inits, and the
 * program's own steps right before execve. One function per step; each fails loudly with the
 * system call, errno and argument (die). The plan is plan.c's; the monitor is monitor.c.
 */
#include "helper.h"

/* ---- steps in the sandbox (child and program) ----------------------------------------------- */

static void write_file(const char *path, const char *content)
{
	int fd = openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	size_t len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len)
		die("write", path);
	close(fd);
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

void fail(int err, const char *call, const char *arg)
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
	/* openat, not open: musl's open() follows O_CLOEXEC with a redundant fcntl(F_SETFD) */
	int root = openat(AT_FDCWD, new_root_mode ? "/newroot" : "/", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
	case MOUNT_OVERLAY:
		overlay_mount(m, display);
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

/* NEW_ROOT: a new root is assembled at /newroot of a staging root; bind sources come from /oldroot. */
static void step_new_root(void)
{
	new_root_mode = 1;
	enter_staging();
	if ((host_root_fd = openat(AT_FDCWD, "/oldroot", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", "host root");
}

static void step_mount(const struct mount_op *m)
{
	if (host_root_fd < 0 && (host_root_fd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", "host root");
	mount_op(m);
}

static void close_host_root(void)
{
	if (host_root_fd >= 0)
		close(host_root_fd);
	host_root_fd = -1;
}

/* PIVOT_ROOT: the new root becomes /, the staging root and the host's are detached. */
static void step_pivot_root(void)
{
	close_host_root();
	finish_pivot();
	new_root_mode = 0;
}

static void step_make_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount", "/ (MS_REC|MS_PRIVATE)");
}

static void step_mount_proc(void)
{
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount", "\"proc\" -> \"/proc\"");
}

static void step_hostname(const char *name)
{
	if (sethostname(name, strlen(name)) < 0)
		die("sethostname", name);
}

static void step_unshare_cgroup_ns(void)
{
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("unshare", "CLONE_NEWCGROUP");
}

static void step_join_cgroup(const char *procs)
{
	write_file(procs, "0");
}

static void step_loopback(void)
{
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

void reset_signals(void)
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

static void step_rlimit(const struct rlimit_op *r)
{
	struct rlimit rl = { r->soft, r->hard };
	if (setrlimit((int)r->resource, &rl) < 0) {
		char what[32];
		snprintf(what, sizeof what, "resource %u", r->resource);
		die("setrlimit", what);
	}
}

/*
 * CAPS, while we still hold CAP_SETPCAP: the bounding set and the ambient set emptied but for the
 * kept capabilities, then the plan's securebits (Java chooses them: locked so that uid 0 never
 * regains capabilities on exec).
 */
static void step_drop_capabilities(const struct plan *p)
{
	for (int cap = 0; cap < 64; cap++)
		if (!(p->keep_caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die("prctl(PR_CAPBSET_DROP)", "capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", "capabilities");
	if (prctl(PR_SET_SECUREBITS, (unsigned long)p->securebits, 0, 0, 0) < 0)
		die("prctl(PR_SET_SECUREBITS)", "securebits");
}

/* RUN_AS: the program's ids (of the namespace it is in). */
static void step_set_ids(const struct plan *p)
{
	if (p->clear_groups && setgroups(0, NULL) < 0)
		die("setgroups", "[]");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		die("setresgid", "run as");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		die("setresuid", "run as");
}

/* SET_CAPS: exactly the kept capabilities (CAPS' mask): effective, permitted, inheritable, ambient. */
static void step_set_capabilities(const struct plan *p)
{
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

static void step_chdir(const struct plan *p)
{
	if (p->cwd && chdir(p->cwd) < 0)
		die("chdir", p->cwd);
}

static void step_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("prctl(PR_SET_NO_NEW_PRIVS)", NULL);
}

/* SECCOMP: from here on only the program's own system calls are made, execve first. */
static void step_seccomp(const struct plan *p)
{
	static struct sock_filter filter[MAX_BPF_INSNS];
	struct sock_fprog prog = { (unsigned short)p->seccomp_insns, filter };
	memcpy(filter, p->seccomp_bpf, p->seccomp_insns * sizeof *filter); /* aligned: the plan's is not */
	if (p->seccomp_mode == SECCOMP_KERNEL_KILLS) {
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			die("seccomp(SECCOMP_SET_MODE_FILTER)", NULL);
		return;
	}
	/*
	 * SECCOMP_MONITOR_KILLS: a forbidden call waits for the monitor, which kills the sandbox and
	 * names the call. The listener travels to the monitor over the report socket (the policy
	 * allows sendmsg, Java checks); in flight it stays open after we close it, so exec need not
	 * wait for the monitor.
	 */
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (listener < 0)
		die("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)", NULL);
	if (send_ancillary('N', SCM_RIGHTS, &listener, sizeof listener) < 0)
		die("sendmsg", "seccomp listener");
	close(listener);
}

/*
 * EXEC: the exec plan's paths in their order (Java made them from PATH, as execvp would); ENOENT
 * and ENOTDIR try the next, EACCES is remembered (it wins over a later ENOENT), anything else
 * fails at once. The failure names the path.
 */
static void step_exec(const struct plan *p)
{
	if (!p->exec_file || p->argc == 0 || p->nexec_paths == 0)
		fail(EINVAL, "plan", "empty command");
	int saved = ENOENT;
	const char *last = p->exec_file;
	for (int i = 0; i < p->nexec_paths; i++) {
		execve(p->exec_paths[i], p->argv, p->envp);
		if (errno == EACCES) {
			saved = EACCES;
			last = p->exec_paths[i];
		} else if (errno != ENOENT && errno != ENOTDIR) {
			die("execve", p->exec_paths[i]);
		}
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

/*
 * The program's own process: its steps in the plan's order, from step `from` on (after INIT, which
 * forked it), ending with EXEC. The parent-death signal is set again once the credential steps
 * are done (they clear it), before the first of the final steps.
 */
static void run_program(const struct plan *p, int from)
{
	pid_t parent = getppid();
	reset_signals();
	send_own_pid();
	int armed = 0;
	for (int i = from; i < p->nprogram_steps; i++) {
		const struct step *s = &p->program_steps[i];
		switch (s->tag) {
		case TAG_RLIMIT: step_rlimit(&p->rlimits[s->index]); break;
		case TAG_CAPS: step_drop_capabilities(p); armed = 0; break;
		case TAG_RUN_AS: step_set_ids(p); armed = 0; break;
		case TAG_SET_CAPS: step_set_capabilities(p); armed = 0; break;
		case TAG_CHDIR:
		case TAG_NO_NEW_PRIVS:
		case TAG_SECCOMP:
		case TAG_EXEC:
			if (!armed) /* the ids changed: the program dies with its monitor or init */
				die_with_parent(parent);
			armed = 1;
			if (s->tag == TAG_CHDIR)
				step_chdir(p);
			else if (s->tag == TAG_NO_NEW_PRIVS)
				step_no_new_privs();
			else if (s->tag == TAG_SECCOMP)
				step_seccomp(p);
			else
				step_exec(p);
			break;
		default: fail(EPROTO, "plan", "a step the program cannot take");
		}
	}
	fail(EPROTO, "plan", "no exec step");
}

/* SIGKILL to every child of this (single-threaded) process; returns how many there were. */
int kill_children(void)
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
 * The signal that asks a pid namespace's init to kill everything in it and reap it before it
 * exits: killed by SIGKILL, the init would leave the reaping to the kernel, and the CPU time and
 * max RSS of the killed processes would be lost to the sandbox's figures.
 */
int end_signal(void)
{
	return SIGRTMIN + 2;
}

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
		kill(getpid(), sig); /* not raise(): after a raw clone musl's cached thread id is the parent's */
		kill(getpid(), SIGKILL);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

/*
 * INIT, the first program step: PID 1 of the sandbox (or of a session's run). Forwards the plan's
 * signals to the program, reaps everything, exits with the program; with INIT_KILL_REST, what
 * the program leaves behind is killed once it ended. Its child goes on with the next steps.
 */
static void run_init(const struct plan *p, int init_report_fd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int sig = 1; sig < 64 && sig < NSIG; sig++)
		if ((p->init_signals & (1ULL << sig)) && sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sigaddset(&set, sig);
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
		run_program(p, 1);
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
				if (!(p->init_flags & INIT_KILL_REST))
					;
				else if (p->join_pid)
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

static pid_t monitor_pid; /* the sandbox's first process's parent */

/*
 * USERNS_IDS: writing the maps (or entering a user namespace) does not change our credentials:
 * take the mapped ids. That clears the parent-death signal: set it again.
 */
static void step_userns_ids(const struct step *s)
{
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		die("setresgid", "user namespace");
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		die("setresuid", "user namespace");
	die_with_parent(monitor_pid);
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

/* JOIN: enters the namespaces of a persistent sandbox's keeper, the user namespace first. */
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
}

/* The setup steps are done: the monitor's setup deadline ends here. */
static void setup_done(void)
{
	char done = 'S';
	if (send(child_fd, &done, 1, MSG_NOSIGNAL) != 1)
		die("send", "setup done");
}

/* One setup step of the sandbox's first process. */
static void run_setup_step(const struct plan *p, const struct step *s)
{
	switch (s->tag) {
	case TAG_USERNS_IDS: step_userns_ids(s); return;
	case TAG_CGROUP_PROCS: step_join_cgroup(p->cgroup_procs[s->index]); return;
	case TAG_JOIN: step_join(p); return;
	case TAG_CGROUP_NS: step_unshare_cgroup_ns(); return;
	case TAG_MAKE_PRIVATE: step_make_private(); return;
	case TAG_NEW_ROOT: step_new_root(); return;
	case TAG_MOUNT: step_mount(&p->mounts[s->index]); return;
	case TAG_PIVOT_ROOT: step_pivot_root(); return;
	case TAG_MOUNT_PROC: step_mount_proc(); return;
	case TAG_HOSTNAME: step_hostname(p->hostname); return;
	case TAG_LOOPBACK_UP: step_loopback(); return;
	case TAG_SESSION:
		close_host_root();
		setup_done();
		run_session_keeper();
		return;
	case TAG_POOL:
		close_host_root();
		setup_done();
		send_own_pid();
		pool_init();
	case TAG_UNSHARE:
		if (unshare((int)p->unshare_flags) < 0)
			die("unshare", "the run's own namespaces");
		return;
	default: fail(EPROTO, "plan", "a step the sandbox's setup cannot take");
	}
}

/*
 * The sandbox's first process: the setup plan's steps in its order, then, once the exec plan
 * arrived, the program's steps (INIT first, if listed, forks the program and stays as its PID 1).
 */
void run_child(struct plan *p, int sync_fd, int init_report_fd)
{
	monitor_pid = getppid();
	relay_attach();
	die_with_parent(monitor_pid);
	if (sync_fd >= 0) { /* wait until the monitor wrote our id maps and put us in our cgroups */
		char c;
		if (read(sync_fd, &c, 1) != 1)
			_exit(127);
		close(sync_fd);
	}
	if (setsid() < 0) /* the sandbox's session, which the monitor kills */
		die("setsid", NULL);
	for (int i = 0; i < p->nsetup_steps; i++)
		run_setup_step(p, &p->setup_steps[i]);
	close_host_root();
	setup_done();
	read_plan(PLAN_FD, MESSAGE_EXEC, p); /* the exec plan, sent by the JVM after the setup plan */
	close(PLAN_FD);
	if (!p->exec_file || p->argc == 0) {
		errno = EINVAL;
		die("plan", "empty command");
	}
	if (p->nprogram_steps && p->program_steps[0].tag == TAG_INIT)
		run_init(p, init_report_fd);
	run_program(p, 0);
}

/*
 * A run in a pooled sandbox (pool.c forked it, inside the sandbox and its cgroup; its standard
 * streams and report socket in place): the run's setup steps (its own IPC namespace and mounts),
 * then its program steps. Without an INIT step: the pooled sandbox's init is the run's reaper.
 */
void run_pooled(struct plan *p)
{
	monitor_pid = getppid();
	die_with_parent(monitor_pid);
	if (setsid() < 0)
		die("setsid", NULL);
	for (int i = 0; i < p->nsetup_steps; i++)
		run_setup_step(p, &p->setup_steps[i]);
	setup_done();
	if (!p->exec_file || p->argc == 0) {
		errno = EINVAL;
		die("plan", "empty command");
	}
	run_program(p, 0);
}
