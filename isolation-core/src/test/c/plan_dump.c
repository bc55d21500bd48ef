/*
 * Test harness: decodes one plan message from stdin with the helper's plan.c and prints what it
 * read, one "field value" line each, or "refused: WHY". PlanFormatTest runs it on plans encoded
 * by Java, so both sides of the format are checked against each other without root.
 *
 *     plan_dump setup|exec < message
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"

#define TAG_NAME(name, number, phase) [number] = #name,
static const char *tag_names[TAG_LIMIT] = { PLAN_TAGS(TAG_NAME) };

static const char *str(const char *s)
{
	return s ? s : "(none)";
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	uint32_t kind = strcmp(argv[1], "exec") == 0 ? MESSAGE_EXEC : MESSAGE_SETUP;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		return 2;
	static struct plan p;
	const char *why = "";
	if (plan_decode(&p, kind, buf, len, &why) < 0) {
		printf("refused: %s (%s)\n", why, errno == E2BIG ? "E2BIG" : errno == EPROTO ? "EPROTO" : "other");
		return 1;
	}
	printf("clone_flags %#llx\n", (unsigned long long)p.clone_flags);
	for (int i = 0; i < p.argc; i++)
		printf("arg %s\n", p.argv[i]);
	for (int i = 0; i < p.envc; i++)
		printf("env %s\n", p.envp[i]);
	for (int i = 0; i < p.nexec_paths; i++)
		printf("exec_path %s\n", p.exec_paths[i]);
	printf("exec_file %s\ncwd %s\nhostname %s\n", str(p.exec_file), str(p.cwd), str(p.hostname));
	printf("uid_map %s", p.uid_map ? p.uid_map : "(none)\n");
	printf("gid_map %s", p.gid_map ? p.gid_map : "(none)\n");
	printf("flags setgroups_deny=%d mount_proc=%d loopback_up=%d init=%d cgroup_ns=%d make_private=%d new_root=%d"
		" no_new_privs=%d session=%d\n", p.setgroups_deny, p.mount_proc, p.loopback_up, p.init,
		p.cgroup_ns, p.make_private, p.new_root, p.no_new_privs, p.session);
	if (p.init)
		printf("init signals=%#llx flags=%u\n", (unsigned long long)p.init_signals, p.init_flags);
	printf("run_end %u\n", p.run_end);
	if (p.has_kill_rule)
		printf("kill_rule %u grace_ns %llu\n", p.kill_rule, (unsigned long long)p.kill_grace_ns);
	if (p.pool || p.pool_listen || p.pool_run || p.unshare_flags)
		printf("pool=%d listen %s run %s unshare %#llx\n", p.pool, str(p.pool_listen), str(p.pool_run),
			(unsigned long long)p.unshare_flags);
	for (int i = 0; i < p.ncgroup_procs; i++)
		printf("cgroup_procs %s\n", p.cgroup_procs[i]);
	for (int i = 0; i < p.nplace_cgroups; i++)
		printf("place_in_cgroup %s\n", p.place_cgroups[i]);
	for (int i = 0; i < p.nteardown_kill; i++)
		printf("teardown_kill %s\n", p.teardown_kill[i]);
	for (int i = 0; i < p.nteardown_freezers; i++)
		printf("teardown_freezer %s %s %s\n", p.teardown_freezers[i].file, p.teardown_freezers[i].freeze,
			p.teardown_freezers[i].thaw);
	for (int i = 0; i < p.nteardown_procs; i++)
		printf("teardown_procs %s\n", p.teardown_procs[i]);
	for (int i = 0; i < p.nteardown_remove; i++)
		printf("teardown_remove %s\n", p.teardown_remove[i]);
	printf("clone_into_cgroup %s\n", str(p.clone_into_cgroup));
	if (p.userns_ids)
		printf("userns_ids %u %u\n", p.userns_uid, p.userns_gid);
	for (int i = 0; i < p.nmounts; i++) {
		const struct mount_op *m = &p.mounts[i];
		printf("mount %u %#llx %u %s %s %s %s %s\n", m->kind, (unsigned long long)m->flags, m->options, str(m->source),
			str(m->target), str(m->fstype), str(m->data), str(m->display));
	}
	if (p.run_as)
		printf("run_as %u %u %d\n", p.uid, p.gid, p.clear_groups);
	if (p.caps)
		printf("caps %#llx securebits %#llx\n", (unsigned long long)p.keep_caps, (unsigned long long)p.securebits);
	printf("seccomp_insns %u mode %u\n", p.seccomp_insns, p.seccomp_mode);
	for (int i = 0; i < p.nrlimits; i++)
		printf("rlimit %u %lld %lld\n", p.rlimits[i].resource, (long long)p.rlimits[i].soft, (long long)p.rlimits[i].hard);
	if (p.join_pid)
		printf("join %u %#llx %llu\n", p.join_pid, (unsigned long long)p.join_flags, (unsigned long long)p.join_start_time);
	printf("wall_limit_ns %llu\nsetup_timeout_ns %llu\n", (unsigned long long)p.wall_limit_ns,
		(unsigned long long)p.setup_timeout_ns);
	if (p.cpu_usage_file)
		printf("cpu_counter %llu %llu %s [%s]\n", (unsigned long long)p.cpu_limit_ns, (unsigned long long)p.cpu_ns_per_unit,
			p.cpu_usage_file, p.cpu_usage_key);
	if (p.sweep)
		printf("sweep_uid %u\n", p.sweep_uid);
	for (int i = 0; i < p.nrelays; i++)
		printf("relay %u %u %llu\n", p.relay_ops[i].fd, p.relay_ops[i].also, (unsigned long long)p.relay_ops[i].limit);
	for (int i = 0; i < p.nsetup_steps; i++)
		printf("setup step %s %u\n", tag_names[p.setup_steps[i].tag], p.setup_steps[i].index);
	for (int i = 0; i < p.nprogram_steps; i++)
		printf("program step %s %u\n", tag_names[p.program_steps[i].tag], p.program_steps[i].index);
	return 0;
}
