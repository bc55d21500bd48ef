package dev.isolation.core.internal.seccomp;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;

/**
 * The libseccomp 2.x functions the filter compiler uses, declared as in {@code <seccomp.h>}.
 * Functions return a negative errno on failure instead of setting {@code errno}. Public because
 * jnr-ffi generates its implementation in another class loader; not part of the API.
 */
public interface LibSeccomp {
    // enum scmp_filter_attr
    int SCMP_FLTATR_ACT_BADARCH = 2;
    /** {@code SCMP_FLTATR_CTL_OPTIMIZE}: 2 arranges the rules as a binary tree (libseccomp 2.5+). */
    int SCMP_FLTATR_CTL_OPTIMIZE = 8;

    // actions (uint32_t; passed as Java int, so 0x80000000 is negative)
    int SCMP_ACT_KILL_PROCESS = 0x80000000;
    int SCMP_ACT_KILL_THREAD = 0x00000000;
    int SCMP_ACT_TRAP = 0x00030000;
    int SCMP_ACT_ERRNO = 0x00050000;
    int SCMP_ACT_LOG = 0x7ffc0000;
    /** The call waits for the listener (the sandbox's monitor), which kills the sandbox and names the call. */
    int SCMP_ACT_NOTIFY = 0x7fc00000;
    int SCMP_ACT_ALLOW = 0x7fff0000;

    // enum scmp_compare: _SCMP_CMP_MIN = 0, NE, LT, LE, EQ, GE, GT, MASKED_EQ
    int SCMP_CMP_MASKED_EQ = 7;

    /**
     * {@code struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a;
     * scmp_datum_t datum_b; }}: offsets 0, 4, 8, 16; 24 bytes.
     */
    int SCMP_ARG_CMP_SIZE = 24;

    /** {@code __NR_SCMP_ERROR}: what the resolver returns for a name it does not know. */
    int NR_SCMP_ERROR = -1;

    /** {@code scmp_filter_ctx seccomp_init(uint32_t def_action)}; NULL on failure. */
    Pointer seccomp_init(int defAction);

    /** {@code void seccomp_release(scmp_filter_ctx ctx)}. */
    void seccomp_release(Pointer ctx);

    /** {@code int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value)}. */
    int seccomp_attr_set(Pointer ctx, int attr, int value);

    /**
     * {@code int seccomp_syscall_resolve_name(const char *name)}: the native-arch number, a
     * negative pseudo number for a syscall this arch does not have, or {@link #NR_SCMP_ERROR}.
     */
    int seccomp_syscall_resolve_name(@In String name);

    /** {@code char *seccomp_syscall_resolve_num_arch(uint32_t arch, int num)}; arch 0 is the native one. */
    String seccomp_syscall_resolve_num_arch(int arch, int num);

    /**
     * {@code int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
     * unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)}: the non-variadic twin of
     * {@code seccomp_rule_add}; {@code argArray} may be NULL when {@code argCnt} is 0.
     */
    int seccomp_rule_add_array(Pointer ctx, int action, int syscall, int argCnt, Pointer argArray);

    /** {@code int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd)}: writes struct sock_filter[]. */
    int seccomp_export_bpf(Pointer ctx, int fd);

    /** {@code int seccomp_export_pfc(const scmp_filter_ctx ctx, int fd)}: human-readable pseudo code. */
    int seccomp_export_pfc(Pointer ctx, int fd);
}
