/*
 * libFuzzer target for the helper's plan decoder (src/main/c/plan.c): any bytes, as a setup plan
 * and as an exec plan, must be decoded or refused without a crash, an out-of-bounds read or a
 * string that runs past its record. Run by fuzz-plan.sh (and .ci/run) for a bounded time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0; /* under ASan, a string not bounded by its record is a crash here */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan p;
	for (uint32_t kind = MESSAGE_SETUP; kind <= MESSAGE_EXEC; kind++) {
		char *buf = malloc(size ? size : 1); /* exactly the input: a read past it is caught */
		if (!buf)
			return 0;
		if (size)
			memcpy(buf, data, size);
		if (size >= PLAN_HEADER)
			memcpy(buf + 8, &kind, sizeof kind); /* reach the records of both kinds */
		memset(&p, 0, sizeof p);
		const char *why = NULL;
		size_t sum = 0;
		if (plan_decode(&p, kind, buf, size, &why) == 0) {
			for (int i = 0; i < p.argc; i++)
				sum += touch(p.argv[i]);
			for (int i = 0; i < p.envc; i++)
				sum += touch(p.envp[i]);
			for (int i = 0; i < p.nmounts; i++)
				sum += touch(p.mounts[i].source) + touch(p.mounts[i].target) + touch(p.mounts[i].fstype)
					+ touch(p.mounts[i].data) + touch(p.mounts[i].display);
			for (int i = 0; i < p.ncgroup_procs; i++)
				sum += touch(p.cgroup_procs[i]);
			for (int i = 0; i < p.nteardown_kill; i++)
				sum += touch(p.teardown_kill[i]);
			for (int i = 0; i < p.nteardown_freezers; i++)
				sum += touch(p.teardown_freezers[i].file) + touch(p.teardown_freezers[i].freeze)
					+ touch(p.teardown_freezers[i].thaw);
			for (int i = 0; i < p.nteardown_procs; i++)
				sum += touch(p.teardown_procs[i]);
			for (int i = 0; i < p.nteardown_remove; i++)
				sum += touch(p.teardown_remove[i]);
			for (int i = 0; i < p.nexec_paths; i++)
				sum += touch(p.exec_paths[i]);
			sum += touch(p.exec_file) + touch(p.cwd) + touch(p.hostname) + touch(p.uid_map)
				+ touch(p.gid_map) + touch(p.clone_into_cgroup) + touch(p.cpu_usage_file) + touch(p.cpu_usage_key);
			for (int i = 0; i < p.nsetup_steps; i++) /* every step's index names an entry its tag's list has */
				if ((p.setup_steps[i].tag == TAG_MOUNT && (int)p.setup_steps[i].index >= p.nmounts)
					|| (p.setup_steps[i].tag == TAG_CGROUP_PROCS && (int)p.setup_steps[i].index >= p.ncgroup_procs))
					abort();
			for (int i = 0; i < p.nprogram_steps; i++)
				if (p.program_steps[i].tag == TAG_RLIMIT && (int)p.program_steps[i].index >= p.nrlimits)
					abort();
			if (p.seccomp_insns)
				sum += (unsigned char)p.seccomp_bpf[p.seccomp_insns * 8 - 1];
		} else if (!why) {
			abort(); /* a refusal always says why */
		}
		free(buf);
		if (sum == (size_t)-1)
			abort();
	}
	return 0;
}
