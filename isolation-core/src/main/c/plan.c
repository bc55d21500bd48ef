/*
 * Decoding of the launch plan (the format of PlanCodec.java). Trusts nothing: like bubblewrap's
 * read_priv_sec_op, each record's size is checked against its tag before any field is read, and,
 * like resolve_string_offset, every string must end inside its record. A record whose phase does
 * not belong in the message (a monitor record in an exec plan, a command in a setup plan) is
 * refused. This file makes no system call: fuzz/plan_fuzz.c runs it on arbitrary bytes.
 */
#include <errno.h>
#include <string.h>
#include "plan.h"

enum phase { PHASE_NONE = 0, PHASE_MONITOR, PHASE_SETUP, PHASE_PROGRAM, PHASE_EXEC, PHASE_ANY };

#define PLAN_TAG_PHASE(name, number, phase) [number] = PHASE_##phase,
static const unsigned char tag_phase[TAG_LIMIT] = { PLAN_TAGS(PLAN_TAG_PHASE) };
#undef PLAN_TAG_PHASE

static int phase_allowed(uint32_t tag, uint32_t kind)
{
	if (tag >= TAG_LIMIT)
		return -1;
	switch (tag_phase[tag]) {
	case PHASE_MONITOR:
	case PHASE_SETUP:
	case PHASE_PROGRAM: return kind == MESSAGE_SETUP;
	case PHASE_EXEC: return kind == MESSAGE_EXEC;
	case PHASE_ANY: return 1;
	default: return -1; /* a number no tag has */
	}
}

static int bad(int err, const char **why, const char *what)
{
	errno = err;
	*why = what;
	return -1;
}

static uint32_t u32(const char *v)
{
	uint32_t x;
	memcpy(&x, v, sizeof x);
	return x;
}

static uint64_t u64(const char *v)
{
	uint64_t x;
	memcpy(&x, v, sizeof x);
	return x;
}

/* The string at v[0..len): its last byte is its only NUL. */
static const char *whole_string(char *v, uint32_t len)
{
	if (len == 0 || v[len - 1] != 0 || memchr(v, 0, len) != v + len - 1)
		return NULL;
	return v;
}

/* The next string at *v, ending before end: advances *v past its NUL. NULL if there is none. */
static char *next_string(char **v, const char *end)
{
	char *s = *v;
	if (s >= end)
		return NULL;
	char *nul = memchr(s, 0, (size_t)(end - s));
	if (!nul)
		return NULL;
	*v = nul + 1;
	return s;
}

static int add_to_list(char **list, int *count, int max, char *s)
{
	if (*count >= max)
		return -1;
	list[(*count)++] = s;
	list[*count] = NULL;
	return 0;
}

/* The size a fixed-size record has; -1 for records of strings or of variable size. */
static long fixed_size(uint32_t tag)
{
	switch (tag) {
	case TAG_END:
	case TAG_SETGROUPS_DENY:
	case TAG_MOUNT_PROC:
	case TAG_LOOPBACK_UP:
	case TAG_CGROUP_NS:
	case TAG_MAKE_PRIVATE:
	case TAG_NEW_ROOT:
	case TAG_PIVOT_ROOT:
	case TAG_NO_NEW_PRIVS:
	case TAG_SET_CAPS:
	case TAG_CHDIR:
	case TAG_EXEC:
	case TAG_SESSION:
	case TAG_POOL: return 0;
	case TAG_UNSHARE: return 8;
	case TAG_SWEEP_UID:
	case TAG_RUN_END: return 4;
	case TAG_CLONE_FLAGS:
	case TAG_USERNS_IDS:
	case TAG_WALL_LIMIT:
	case TAG_SETUP_TIMEOUT: return 8;
	case TAG_RUN_AS: return 12;
	case TAG_CAPS:
	case TAG_INIT:
	case TAG_OUTPUT_RELAY: return 16;
	case TAG_KILL_RULE: return 16;
	case TAG_JOIN:
	case TAG_RLIMIT: return 24;
	default: return -1;
	}
}

static int decode_mount(struct plan *p, char *v, uint32_t len, const char **why)
{
	if (p->nmounts >= MAX_MOUNTS)
		return bad(E2BIG, why, "more than 256 mounts");
	if (len < 16)
		return bad(EPROTO, why, "mount record shorter than its fixed part");
	struct mount_op *m = &p->mounts[p->nmounts];
	m->flags = u64(v);
	m->kind = u32(v + 8);
	m->options = u32(v + 12);
	if (m->kind >= MOUNT_KIND_LIMIT)
		return bad(EPROTO, why, "unknown mount kind");
	const char **fields[] = { &m->source, &m->target, &m->fstype, &m->data, &m->display };
	char *s = v + 16, *end = v + len;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		char *f = next_string(&s, end);
		if (!f)
			return bad(EPROTO, why, "mount record: a string runs past its end");
		*fields[i] = *f ? f : NULL;
	}
	if (s != end)
		return bad(EPROTO, why, "mount record: bytes after its strings");
	if (!m->target || m->target[0] != '/')
		return bad(EPROTO, why, "mount record: target not absolute");
	p->nmounts++;
	return 0;
}

/* TEARDOWN_FREEZER: exactly three strings, file, freeze value, thaw value. */
static int decode_freezer(struct plan *p, char *v, uint32_t len, const char **why)
{
	if (p->nteardown_freezers >= MAX_FREEZERS)
		return bad(E2BIG, why, "more than 16 cgroup freezers");
	char *s = v, *end = v + len;
	char *file = next_string(&s, end), *freeze = file ? next_string(&s, end) : NULL, *thaw = freeze ? next_string(&s, end) : NULL;
	if (!thaw)
		return bad(EPROTO, why, "freezer record: a string runs past its end");
	if (s != end)
		return bad(EPROTO, why, "freezer record: bytes after its strings");
	if (!*file || !*freeze || !*thaw)
		return bad(EPROTO, why, "freezer record: an empty string");
	p->teardown_freezers[p->nteardown_freezers].file = file;
	p->teardown_freezers[p->nteardown_freezers].freeze = freeze;
	p->teardown_freezers[p->nteardown_freezers++].thaw = thaw;
	return 0;
}

static int decode_value(struct plan *p, uint32_t tag, char *v, uint32_t len, const char **why)
{
	long fixed = fixed_size(tag);
	if (fixed >= 0 && len != (uint32_t)fixed)
		return bad(EPROTO, why, "record of the wrong size for its tag");
	const char *str = NULL;
	switch (tag) {
	case TAG_ARG: case TAG_ENV: case TAG_EXEC_FILE: case TAG_EXEC_PATH: case TAG_CWD: case TAG_HOSTNAME:
	case TAG_UID_MAP: case TAG_GID_MAP: case TAG_CGROUP_PROCS: case TAG_PLACE_IN_CGROUP: case TAG_CLONE_INTO_CGROUP:
	case TAG_TEARDOWN_KILL: case TAG_TEARDOWN_PROCS: case TAG_TEARDOWN_REMOVE:
	case TAG_POOL_LISTEN: case TAG_POOL_RUN:
		if (!(str = whole_string(v, len)))
			return bad(EPROTO, why, "string record not ending in its only NUL");
		break;
	default: break;
	}
	switch (tag) {
	case TAG_CLONE_FLAGS: p->clone_flags = u64(v); return 0;
	case TAG_ARG: return add_to_list(p->argv, &p->argc, MAX_LIST, v) ? bad(E2BIG, why, "argv") : 0;
	case TAG_ENV: return add_to_list(p->envp, &p->envc, MAX_LIST, v) ? bad(E2BIG, why, "environment") : 0;
	case TAG_EXEC_FILE: p->exec_file = str; return 0;
	case TAG_EXEC_PATH:
		return add_to_list(p->exec_paths, &p->nexec_paths, MAX_EXEC_PATHS, v) ? bad(E2BIG, why, "exec paths") : 0;
	case TAG_CWD: p->cwd = str; return 0;
	case TAG_HOSTNAME: p->hostname = str; return 0;
	case TAG_UID_MAP: p->uid_map = str; return 0;
	case TAG_GID_MAP: p->gid_map = str; return 0;
	case TAG_SETGROUPS_DENY: p->setgroups_deny = 1; return 0;
	case TAG_MOUNT_PROC: p->mount_proc = 1; return 0;
	case TAG_LOOPBACK_UP: p->loopback_up = 1; return 0;
	case TAG_INIT: /* u64 signals forwarded to the program, u32 INIT_* flags, u32 0 */
		p->init = 1;
		p->init_signals = u64(v);
		p->init_flags = u32(v + 8);
		if (p->init_flags & ~INIT_KILL_REST)
			return bad(EPROTO, why, "unknown init flags");
		return 0;
	case TAG_RUN_END:
		p->run_end = u32(v);
		if (p->run_end & ~RUN_END_KILL_REST)
			return bad(EPROTO, why, "unknown run end flags");
		return 0;
	case TAG_PIVOT_ROOT:
	case TAG_SET_CAPS:
	case TAG_CHDIR:
	case TAG_EXEC: return 0; /* steps without values */
	case TAG_CGROUP_PROCS:
		return add_to_list(p->cgroup_procs, &p->ncgroup_procs, MAX_CGROUPS, v) ? bad(E2BIG, why, "cgroups") : 0;
	case TAG_PLACE_IN_CGROUP:
		if (str[0] != '/')
			return bad(EPROTO, why, "cgroup placement: not an absolute path");
		return add_to_list(p->place_cgroups, &p->nplace_cgroups, MAX_CGROUPS, v) ? bad(E2BIG, why, "cgroup placements") : 0;
	case TAG_CGROUP_NS: p->cgroup_ns = 1; return 0;
	case TAG_TEARDOWN_KILL:
		return add_to_list(p->teardown_kill, &p->nteardown_kill, MAX_KILL_FILES, v) ? bad(E2BIG, why, "cgroup kill files") : 0;
	case TAG_TEARDOWN_PROCS:
		return add_to_list(p->teardown_procs, &p->nteardown_procs, MAX_CGROUPS, v) ? bad(E2BIG, why, "cgroup procs files") : 0;
	case TAG_TEARDOWN_REMOVE:
		return add_to_list(p->teardown_remove, &p->nteardown_remove, MAX_CGROUPS, v) ? bad(E2BIG, why, "cgroups") : 0;
	case TAG_TEARDOWN_FREEZER: return decode_freezer(p, v, len, why);
	case TAG_MAKE_PRIVATE: p->make_private = 1; return 0;
	case TAG_CLONE_INTO_CGROUP: p->clone_into_cgroup = str; return 0;
	case TAG_NEW_ROOT: p->new_root = 1; return 0;
	case TAG_MOUNT: return decode_mount(p, v, len, why);
	case TAG_RUN_AS:
		p->run_as = 1;
		p->uid = u32(v);
		p->gid = u32(v + 4);
		p->clear_groups = u32(v + 8) != 0;
		return 0;
	case TAG_CAPS: /* u64 capabilities kept, u64 securebits */
		p->caps = 1;
		p->keep_caps = u64(v);
		p->securebits = u64(v + 8);
		return 0;
	case TAG_NO_NEW_PRIVS: p->no_new_privs = 1; return 0;
	case TAG_SECCOMP: /* u32 mode, u32 0, then struct sock_filter[] */
		if (len < 8 + 8 || (len - 8) % 8 != 0 || (len - 8) / 8 > MAX_BPF_INSNS)
			return bad(EPROTO, why, "seccomp program: not 1 to 4096 instructions of 8 bytes");
		p->seccomp_mode = u32(v);
		if (p->seccomp_mode >= SECCOMP_MODE_LIMIT)
			return bad(EPROTO, why, "unknown seccomp mode");
		p->seccomp_bpf = v + 8;
		p->seccomp_insns = (len - 8) / 8;
		return 0;
	case TAG_WALL_LIMIT: p->wall_limit_ns = u64(v); return 0;
	case TAG_SETUP_TIMEOUT: p->setup_timeout_ns = u64(v); return 0;
	case TAG_SESSION: p->session = 1; return 0;
	case TAG_POOL: p->pool = 1; return 0;
	case TAG_POOL_LISTEN: p->pool_listen = str; return 0;
	case TAG_POOL_RUN: p->pool_run = str; return 0;
	case TAG_UNSHARE:
		p->unshare_flags = u64(v);
		if (p->unshare_flags != 0x08000000) /* CLONE_NEWIPC */
			return bad(EPROTO, why, "unshare of something but the IPC namespace");
		return 0;
	case TAG_KILL_RULE: /* u32 rule, u32 0, u64 grace ns */
		if (p->has_kill_rule)
			return bad(EPROTO, why, "a second kill rule");
		if (u32(v) >= KILL_RULE_LIMIT)
			return bad(EPROTO, why, "unknown kill rule");
		if (u32(v + 4) != 0)
			return bad(EPROTO, why, "kill rule: reserved word not 0");
		p->has_kill_rule = 1;
		p->kill_rule = u32(v);
		p->kill_grace_ns = u64(v + 8);
		return 0;
	case TAG_JOIN:
		p->join_pid = u32(v);
		p->join_flags = u64(v + 8);
		p->join_start_time = u64(v + 16);
		if (p->join_pid == 0)
			return bad(EPROTO, why, "join of pid 0");
		return 0;
	case TAG_CPU_COUNTER: /* u64 limit ns, u64 ns per unit, then the strings file and key */
		if (len < 18)
			return bad(EPROTO, why, "cpu counter record shorter than its fixed part and two strings");
		p->cpu_limit_ns = u64(v);
		p->cpu_ns_per_unit = u64(v + 8);
		if (p->cpu_ns_per_unit == 0)
			return bad(EPROTO, why, "cpu counter of 0 ns per unit");
		{
			char *s = v + 16, *end = v + len;
			char *file = next_string(&s, end), *key = file ? next_string(&s, end) : NULL;
			if (!file || !key)
				return bad(EPROTO, why, "cpu counter record: a string runs past its end");
			if (s != end)
				return bad(EPROTO, why, "cpu counter record: bytes after its strings");
			if (!*file)
				return bad(EPROTO, why, "cpu counter record: no file");
			if (strchr(key, ' ') || strchr(key, '\n'))
				return bad(EPROTO, why, "cpu counter record: a key with a space or newline");
			p->cpu_usage_file = file;
			p->cpu_usage_key = key;
		}
		return 0;
	case TAG_RLIMIT:
		if (p->nrlimits >= MAX_RLIMITS)
			return bad(E2BIG, why, "rlimits");
		p->rlimits[p->nrlimits].resource = u32(v);
		p->rlimits[p->nrlimits].soft = u64(v + 8);
		p->rlimits[p->nrlimits].hard = u64(v + 16);
		p->nrlimits++;
		return 0;
	case TAG_SWEEP_UID: p->sweep = 1; p->sweep_uid = u32(v); return 0;
	case TAG_OUTPUT_RELAY: {
		if (p->nrelays >= 2)
			return bad(E2BIG, why, "output relays");
		struct relay_op *r = &p->relay_ops[p->nrelays];
		r->fd = u32(v);
		r->also = u32(v + 4);
		r->limit = u64(v + 8);
		if ((r->fd != 1 && r->fd != 2) || (r->also & ~(1u << 2)) || (r->also && r->fd != 1))
			return bad(EPROTO, why, "output relay descriptor");
		p->nrelays++;
		return 0;
	}
	case TAG_USERNS_IDS:
		p->userns_ids = 1;
		p->userns_uid = u32(v);
		p->userns_gid = u32(v + 4);
		return 0;
	default: return bad(EPROTO, why, "unknown record");
	}
}

/* Appends a step of the SETUP or PROGRAM phase, refusing an order the helper cannot execute. */
static int add_step(struct plan *p, uint32_t tag, const char **why)
{
	struct step s = { tag, 0, 0, 0 };
	switch (tag) {
	case TAG_MOUNT: s.index = (uint32_t)p->nmounts - 1; break;
	case TAG_RLIMIT: s.index = (uint32_t)p->nrlimits - 1; break;
	case TAG_CGROUP_PROCS: s.index = (uint32_t)p->ncgroup_procs - 1; break;
	case TAG_USERNS_IDS: s.uid = p->userns_uid; s.gid = p->userns_gid; break;
	default: break;
	}
	if (tag_phase[tag] == PHASE_SETUP) {
		if (p->nprogram_steps)
			return bad(EPROTO, why, "a setup step after a program step");
		if (p->nsetup_steps >= MAX_STEPS)
			return bad(E2BIG, why, "setup steps");
		p->setup_steps[p->nsetup_steps++] = s;
		return 0;
	}
	if (tag == TAG_INIT && p->nprogram_steps)
		return bad(EPROTO, why, "init not the first program step");
	if (p->nprogram_steps && p->program_steps[p->nprogram_steps - 1].tag == TAG_EXEC)
		return bad(EPROTO, why, "a program step after exec");
	if (p->nprogram_steps >= MAX_STEPS)
		return bad(E2BIG, why, "program steps");
	p->program_steps[p->nprogram_steps++] = s;
	return 0;
}

/* Decodes a record's value into p; a step of the setup plan is also listed, in order. */
static int decode_record(struct plan *p, uint32_t tag, char *v, uint32_t len, const char **why)
{
	if (decode_value(p, tag, v, len, why) < 0)
		return -1;
	if (tag_phase[tag] == PHASE_SETUP || tag_phase[tag] == PHASE_PROGRAM)
		return add_step(p, tag, why);
	return 0;
}

/* At the end of the setup plan: its kill rule is there and fits the plan's other records. */
static int check_kill_rule(const struct plan *p, const char **why)
{
	if (!p->has_kill_rule)
		return bad(EPROTO, why, "no kill rule");
	if (p->kill_rule == KILL_INIT && (p->join_pid || !p->init))
		return bad(EPROTO, why, "kill rule INIT with a join or without an init");
	if (p->kill_rule == KILL_PROGRAM && !p->join_pid)
		return bad(EPROTO, why, "kill rule PROGRAM without a join");
	if ((p->kill_rule == KILL_POOL) != (p->pool_run != NULL))
		return bad(EPROTO, why, "kill rule POOL without a pool run, or a pool run without it");
	return 0;
}

long plan_check_header(const void *header, size_t len, uint32_t kind, const char **why)
{
	if (len < PLAN_HEADER)
		return bad(EPROTO, why, "shorter than its header");
	const char *h = header;
	if (u32(h) != PLAN_MAGIC || u32(h + 4) != PLAN_VERSION)
		return bad(EPROTO, why, "magic or version mismatch");
	if (u32(h + 8) != kind)
		return bad(EPROTO, why, kind == MESSAGE_SETUP ? "not a setup plan" : "not an exec plan");
	uint32_t body = u32(h + 12);
	if (body > PLAN_MAX_BYTES)
		return bad(E2BIG, why, "longer than 64 MiB");
	return body;
}

int plan_decode(struct plan *p, uint32_t kind, char *msg, size_t len, const char **why)
{
	long body = plan_check_header(msg, len, kind, why);
	if (body < 0)
		return -1;
	if ((size_t)body != len - PLAN_HEADER)
		return bad(EPROTO, why, "body length does not match the message");
	char *b = msg + PLAN_HEADER;
	size_t off = 0, size = (size_t)body;
	while (size - off >= 8) {
		uint32_t tag = u32(b + off), rlen = u32(b + off + 4);
		off += 8;
		if (rlen > size - off)
			return bad(EPROTO, why, "truncated record");
		int allowed = phase_allowed(tag, kind);
		if (allowed < 0)
			return bad(EPROTO, why, "unknown record");
		if (!allowed)
			return bad(EPROTO, why, kind == MESSAGE_SETUP ? "a record of the exec plan in the setup plan"
								 : "a record of the setup plan in the exec plan");
		char *v = b + off;
		off += rlen;
		if (tag == TAG_END) {
			if (rlen != 0 || off != size)
				return bad(EPROTO, why, "bytes after the end record");
			return kind == MESSAGE_SETUP ? check_kill_rule(p, why) : 0;
		}
		if (decode_record(p, tag, v, rlen, why) < 0)
			return -1;
	}
	return bad(EPROTO, why, "missing end record");
}
