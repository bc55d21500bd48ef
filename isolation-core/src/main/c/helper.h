/*
 * What the helper's parts share: plan.h's decoded plan, the report channel to the JVM, and the
 * entry points of steps.c (the sandbox's side) and monitor.c (the host's side).
 */
#ifndef ISOLATION_HELPER_H
#define ISOLATION_HELPER_H

#define _GNU_SOURCE
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
#ifndef __GLIBC__
/*
 * musl (the x86_64 helper's C library where musl-gcc is installed: its start-up does not probe the
 * CPU, which glibc's does with cpuid, a trap to the hypervisor on a virtual machine) has no
 * wrappers of the new mount API: the kernel's header and the system calls themselves.
 */
#include <linux/mount.h>
static inline int fsopen(const char *fs, unsigned int flags) { return (int)syscall(__NR_fsopen, fs, flags); }
static inline int fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(__NR_fsconfig, fd, cmd, key, value, aux);
}
static inline int fsmount(int fd, unsigned int flags, unsigned int attrs) { return (int)syscall(__NR_fsmount, fd, flags, attrs); }
static inline int open_tree(int dfd, const char *path, unsigned int flags) { return (int)syscall(__NR_open_tree, dfd, path, flags); }
static inline int move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned int flags)
{
	return (int)syscall(__NR_move_mount, from_dfd, from, to_dfd, to, flags);
}
static inline int mount_setattr(int dfd, const char *path, unsigned int flags, struct mount_attr *attr, size_t size)
{
	return (int)syscall(__NR_mount_setattr, dfd, path, flags, attr, size);
}
#endif

#include "plan.h"

/* Why the monitor killed the sandbox; reported to the JVM. */
enum kill_reason {
	KILLED_NOT = 0, KILLED_ON_REQUEST = 1, KILLED_CPU_LIMIT = 2, KILLED_WALL_LIMIT = 3, KILLED_SYSCALL = 4,
	KILLED_OUTPUT_LIMIT = 5
};

enum report_type { REPORT_ERROR = 1, REPORT_STARTED = 2, REPORT_EXIT = 3 };

struct report_header {
	uint32_t type;
	uint32_t len;
};

/* The helper's descriptors, once main() has moved them. */
#define PLAN_FD 3    /* plans from the JVM: the setup plan (the monitor reads it), then the exec plan (the sandbox) */
#define STATUS_FD 4  /* reports to the JVM */
#define CONTROL_FD 5 /* one-byte commands from the JVM to the monitor; end of file: the JVM is gone */
#define LEASE_FD 6   /* the JVM's lock on the sandbox's host uid, held by the monitor */

extern int status_fd; /* the monitor's report pipe to the JVM; -1 in the sandbox */
extern int child_fd;  /* in the sandbox: the report socket to the monitor */

/* monitor.c: reporting and plan reading, shared by both sides */
void send_record(int fd, uint32_t type, const void *payload, size_t len);
void send_error(int fd, int err, const char *call, const char *arg);
__attribute__((noreturn)) void die(const char *call, const char *arg);
__attribute__((noreturn)) void fail(int err, const char *call, const char *arg);
void read_plan(int fd, uint32_t kind, struct plan *p);
char *read_plan_message(int fd, uint32_t kind, struct plan *p, uint32_t *len);
int read_full(int fd, void *buf, size_t len);
void relay_attach(void);

/* steps.c: the sandbox's side */
void reset_signals(void);
int kill_children(void);
int end_signal(void);
void run_child(struct plan *p, int sync_fd, int init_report_fd);
void run_pooled(struct plan *p);

/* pool.c: a pooled sandbox's init, and the socket its runs' monitors reach it by */
void pool_listen(const char *path);
void pool_listen_close(void);
int pool_connect(const char *path);
void pool_send_run(int conn, const char *setup, uint32_t setup_len, const char *exec, uint32_t exec_len, int report, int cgroup_fd);
__attribute__((noreturn)) void pool_init(void);

#endif
