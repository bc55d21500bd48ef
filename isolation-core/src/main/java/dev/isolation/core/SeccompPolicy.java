package dev.isolation.core;

import dev.isolation.core.internal.linux.NativeCallException;
import dev.isolation.core.internal.seccomp.BpfCompiler;
import dev.isolation.core.internal.seccomp.LibSeccomp;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Which system calls the sandboxed program may make: a seccomp filter that the helper installs as
 * its last step before {@code execve}, after {@code PR_SET_NO_NEW_PRIVS}, so it also binds
 * everything the program starts.
 *
 * <p>Start from a preset and refine it; every method returns a new policy and leaves this one
 * unchanged:
 *
 * <pre>{@code
 * SeccompPolicy judge = SeccompPolicy.strict()
 *         .withDenyAction(SeccompPolicy.errno(1))   // EPERM instead of killing
 *         .allow("socketpair");
 * SeccompPolicy service = SeccompPolicy.defaultPolicy().deny("chroot");
 * }</pre>
 *
 * <ul>
 *   <li>{@link #none()}: no filter at all.
 *   <li>{@link #defaultPolicy()}: everything is allowed except system calls that reach the whole
 *       machine or the kernel's riskiest interfaces (modules, mounts, namespaces, clocks, keys,
 *       ptrace, bpf, io_uring, ...).
 *   <li>{@link #strict()}: nothing is allowed except what ordinary single-machine programs need
 *       to compute, read and write files and run threads (C/C++, the JVM, CPython, a shell). No
 *       sockets, no ptrace, no mounts.
 * </ul>
 *
 * <p>A rule names a system call as the kernel headers do ({@code "openat"}, {@code "clone3"}). A
 * rule replaces any rule the preset had for the same system call, and the last rule for a name
 * wins. {@link #deny(String)} uses the policy's <em>deny action</em> ({@link #kill()} unless
 * {@link #withDenyAction(Action)} says otherwise), which is also what {@link #strict()} does to
 * every system call it does not allow.
 *
 * <p>Whatever the rules say, a system call made through another ABI than the native one (on
 * x86_64: the i386 {@code int 0x80} ABI and the x32 ABI) kills the process, since the filter only
 * knows the native numbering (so {@code socketcall}, which only the 32-bit ABIs have, never
 * reaches the kernel).
 *
 * <p>A rule on a system call replaces the preset's conditions on its arguments too: with
 * {@code defaultPolicy().allow("socket")} every socket family may be used, with
 * {@code strict().allow("prctl")} every {@code prctl} option.
 *
 * <p>A program may install seccomp filters of its own where the policy lets it ({@link #strict()}
 * does not). The kernel runs every filter and the most restrictive answer wins, so such a filter
 * can only make more calls fail, never run one that the policy kills or fails (the kernel gives
 * the program no listener of its own while the sandbox's monitor listens, so it cannot answer
 * "continue" for a denied call). But a call that the program's own filter refuses first, with
 * an errno or a trap that outranks the monitor's notification, is not seen by the sandbox: the
 * outcome does not name it.
 *
 * <p>Instances are immutable and thread-safe; equal policies compile to the same filter.
 *
 * @implNote The filter is generated with libseccomp ({@code libseccomp.so.2}, package
 *     {@code libseccomp2}) for the architecture of the running JVM. {@link #kill()} and
 *     {@link #log()} need Linux 4.14 or later. System calls the installed libseccomp does not know
 *     are skipped in presets; in rules they are rejected.
 * @since 0.1.0
 */
public final class SeccompPolicy {
    /**
     * What the filter does with a system call.
     *
     * @since 0.1.0
     */
    public sealed interface Action permits Kill, Errno, Log, Allow {}

    /**
     * Kill the whole process (all threads) with {@code SIGSYS}, as if by an uncaught signal.
     *
     * @since 0.1.0
     */
    public record Kill() implements Action {
        @Override
        public String toString() {
            return "kill";
        }
    }

    /**
     * Do not run the system call; it fails with {@code errno}.
     *
     * @param errno a positive error number, at most 4095 ({@code MAX_ERRNO}), e.g. 1 for EPERM
     * @since 0.1.0
     */
    public record Errno(int errno) implements Action {
        /**
         * Checks the error number.
         *
         * @param errno a positive error number, at most 4095
         * @throws IllegalArgumentException if {@code errno} is out of range
         */
        public Errno {
            if (errno < 1 || errno > MAX_ERRNO) {
                throw new IllegalArgumentException("errno must be between 1 and " + MAX_ERRNO + ": " + errno);
            }
        }

        @Override
        public String toString() {
            return "errno(" + NativeCallException.errnoName(errno) + ")";
        }
    }

    /**
     * Run the system call and log it to the kernel audit log (kernel 4.14 or later).
     *
     * @since 0.1.0
     */
    public record Log() implements Action {
        @Override
        public String toString() {
            return "log";
        }
    }

    /**
     * Run the system call.
     *
     * @since 0.1.0
     */
    public record Allow() implements Action {
        @Override
        public String toString() {
            return "allow";
        }
    }

    private static final int MAX_ERRNO = 4095;
    private static final int EACCES = 13;
    private static final int ENOSYS = 38;
    private static final int EAFNOSUPPORT = 97;
    /** {@code PR_SET_SECCOMP} from {@code <linux/prctl.h>}. */
    private static final long PR_SET_SECCOMP = 22;
    /** The kernel reads these arguments as a C {@code int}: rules on them look at the low 32 bits only. */
    private static final long INT_MASK = 0xffffffffL;

    /**
     * Socket families that a network namespace does not isolate and that the kernel does not
     * refuse in a new network namespace by itself (those whose {@code create} checks
     * {@code net_eq(net, &init_net)}, such as AF_BLUETOOTH, AF_NFC, AF_X25, AF_LLC, are refused
     * there already): {@link #defaultPolicy()} makes {@code socket} fail with EAFNOSUPPORT for them.
     */
    private static final List<Integer> UNISOLATED_SOCKET_FAMILIES = List.of(
            21, // AF_RDS: bound addresses are in one table for the whole machine
            24, // AF_PPPOX: PPTP's call ids are too
            34, // AF_ISDN: mISDN sockets reach the hardware
            40, // AF_VSOCK: ports and CIDs are the host's (the hypervisor is a peer)
            42); // AF_QIPCRTR: nodes and ports are global

    private static final Kill KILL = new Kill();
    private static final Log LOG = new Log();
    private static final Allow ALLOW = new Allow();
    private static final Pattern SYSCALL_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,63}");

    /** clone() flags that create namespaces. CLONE_NEWTIME is left out: in clone() it is part of CSIGNAL. */
    private static final long CLONE_NEW_NAMESPACE = 0x00020000L // CLONE_NEWNS
            | 0x02000000L // CLONE_NEWCGROUP
            | 0x04000000L // CLONE_NEWUTS
            | 0x08000000L // CLONE_NEWIPC
            | 0x10000000L // CLONE_NEWUSER
            | 0x20000000L // CLONE_NEWPID
            | 0x40000000L; // CLONE_NEWNET

    /** What {@link #defaultPolicy()} denies. */
    private static final List<String> DEFAULT_DENIED = List.of(
            // replacing or reconfiguring the kernel
            "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module", "delete_module",
            "create_module", "get_kernel_syms", "query_module", "uselib", "nfsservctl", "_sysctl",
            "iopl", "ioperm", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "vhangup",
            // mounts, old and new API
            "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
            "open_tree", "move_mount", "mount_setattr",
            // leaving or creating namespaces (clone with namespace flags is handled apart)
            "unshare", "setns",
            // large kernel attack surface
            "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
            "io_uring_register", "keyctl", "add_key", "request_key", "lookup_dcookie", "fanotify_init",
            // other processes' memory and file handles
            "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
            "open_by_handle_at", "name_to_handle_at",
            // the machine's clock and kernel log
            "clock_settime", "clock_adjtime", "settimeofday", "adjtimex", "stime", "syslog");

    /** What {@link #strict()} allows (clone, clone3, prctl and socket are handled apart). */
    private static final List<String> STRICT_ALLOWED = List.of(
            // programs and processes
            "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "kill",
            "tkill", "tgkill", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
            "arch_prctl", "prlimit64", "getrlimit", "setrlimit", "getrusage", "times",
            "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
            "getresgid", "getgroups", "getpgrp", "getpgid", "setpgid", "getsid", "setsid",
            "getpriority", "uname", "sysinfo", "getrandom", "getcpu", "umask",
            // memory
            "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore", "membarrier",
            "get_mempolicy", "set_mempolicy", "mbind", // the JVM's ZGC and -XX:+UseNUMA
            // threads and scheduling
            "futex", "futex_waitv", "sched_yield", "sched_getaffinity", "sched_getparam",
            "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
            // signals
            "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
            "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack",
            "restart_syscall", "signalfd", "signalfd4", "pause",
            // time
            "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
            "alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
            "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
            // file descriptors and I/O
            "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
            "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "pipe", "pipe2",
            "fcntl", "ioctl", "flock", "fsync", "fdatasync", "ftruncate", "fallocate", "fadvise64",
            "readahead", "sendfile", "splice", "tee", "copy_file_range", "eventfd", "eventfd2",
            "memfd_create", "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
            "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
            // an anonymous connected pair reaches nothing: the JDK's FileChannel and Python's asyncio
            // need one. I/O on it (or on an inherited socket) is allowed; making a new socket is not.
            "socketpair", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "getsockname",
            "getpeername", "getsockopt", "setsockopt",
            // files and directories
            "open", "openat", "openat2", "creat", "stat", "fstat", "lstat", "newfstatat", "statx",
            "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
            "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir",
            "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
            "symlinkat", "chmod", "fchmod", "fchmodat", "truncate", "utime", "utimes", "utimensat",
            "futimesat", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
            "flistxattr");

    /** Where a policy starts from. */
    private enum Preset {
        NONE("none()"),
        DEFAULT("defaultPolicy()"),
        STRICT("strict()");

        final String call;

        Preset(String call) {
            this.call = call;
        }
    }

    private static final SeccompPolicy NONE = new SeccompPolicy(Preset.NONE, KILL, Map.of());
    private static final SeccompPolicy DEFAULT = new SeccompPolicy(Preset.DEFAULT, KILL, Map.of());
    private static final SeccompPolicy STRICT = new SeccompPolicy(Preset.STRICT, KILL, Map.of());

    private final Preset preset;
    private final Action denyAction;
    /** User rules by syscall name, in the order they were added; a null action means the deny action. */
    private final Map<String, Action> rules;
    /** The compiled programs, killing [0] and notifying [1]: computed at most a few times (racy but idempotent). */
    private final java.util.concurrent.atomic.AtomicReferenceArray<byte[]> compiled =
            new java.util.concurrent.atomic.AtomicReferenceArray<>(2);

    private SeccompPolicy(Preset preset, Action denyAction, Map<String, Action> rules) {
        this.preset = preset;
        this.denyAction = denyAction;
        this.rules = rules;
    }

    /**
     * {@link Kill}: kill the process.
     *
     * @return the kill action
     */
    public static Action kill() {
        return KILL;
    }

    /**
     * {@link Errno}: fail the call with {@code errno}.
     *
     * @param errno between 1 and 4095, e.g. 1 (EPERM) or 38 (ENOSYS)
     * @return the errno action
     * @throws IllegalArgumentException if {@code errno} is out of range
     */
    public static Action errno(int errno) {
        return new Errno(errno);
    }

    /**
     * {@link Log}: allow and log the call (kernel 4.14 or later).
     *
     * @return the log action
     */
    public static Action log() {
        return LOG;
    }

    /**
     * {@link Allow}: allow the call.
     *
     * @return the allow action
     */
    public static Action allow() {
        return ALLOW;
    }

    /**
     * No filter at all. Adding a rule to it starts an allow-by-default filter with just that rule.
     *
     * @return the empty policy
     */
    public static SeccompPolicy none() {
        return NONE;
    }

    /**
     * Allows everything except system calls that reach the whole machine or the kernel's riskiest
     * interfaces, which take the deny action: loading kernels and modules, reboot, swap, mounts
     * (old and new API), {@code unshare}, {@code setns} and {@code clone} with namespace flags,
     * {@code bpf}, {@code perf_event_open}, {@code userfaultfd}, io_uring, kernel keyrings,
     * {@code ptrace} and cross-process memory access, file handles, setting clocks,
     * {@code syslog}, {@code acct}, {@code quotactl} and a few obsolete calls.
     *
     * <p>{@code clone3} fails with ENOSYS whatever the deny action (its flags are in memory, out
     * of the filter's reach), so that the C library falls back to {@code clone}, whose flags the
     * filter checks.
     *
     * <p>{@code socket} fails with EAFNOSUPPORT, as if the kernel had no such family, for the
     * families that a network namespace does not isolate: {@code AF_VSOCK} (whose ports are the
     * host's: a program in {@code netNs()} could listen on them and reach the hypervisor),
     * {@code AF_RDS}, {@code AF_PPPOX} (PPTP), {@code AF_ISDN} and {@code AF_QIPCRTR}. The other
     * families are isolated or already refused by the kernel in a new network namespace;
     * io_uring, which could make sockets too, is denied.
     *
     * <p>The program may install seccomp filters of its own (see the class comment).
     *
     * @return the default policy, with {@link #kill()} as its deny action
     */
    public static SeccompPolicy defaultPolicy() {
        return DEFAULT;
    }

    /**
     * Allows only what ordinary programs need to compute, read and write files, and run threads
     * and child processes: statically and dynamically linked C/C++ programs, the JVM, CPython and
     * {@code /bin/sh}. Everything else takes the deny action: no new sockets ({@code connect},
     * {@code bind}, {@code listen}, {@code accept} are denied; {@code socketpair}, which the JDK's
     * {@code FileChannel} and Python's asyncio need and which reaches nothing, and I/O on existing
     * sockets are allowed), no ptrace, no mounts, no namespaces, no kernel keyrings, no SysV IPC.
     *
     * <p>Two calls fail instead of taking the deny action, because common code tries them and
     * copes with failure: {@code socket} fails with EACCES for every family (glibc's user and
     * group lookups, as in {@code getpwuid}, first try the nscd socket; the JVM does that at
     * start-up), and {@code clone3} fails with ENOSYS, so the C library falls back to
     * {@code clone}, which is allowed without namespace flags.
     *
     * <p>The program cannot install seccomp filters of its own: {@code seccomp} and
     * {@code prctl(PR_SET_SECCOMP)} take the deny action (other {@code prctl} options are
     * allowed). Its own filter's errno would outrank the monitor, and a forbidden call would then
     * fail quietly instead of being named in the outcome.
     *
     * @return the strict policy, with {@link #kill()} as its deny action
     */
    public static SeccompPolicy strict() {
        return STRICT;
    }

    /**
     * This policy with {@code syscall} taking the deny action.
     *
     * @param syscall the system call's name, e.g. {@code ptrace}
     * @return a new policy; this one is unchanged
     * @throws IllegalArgumentException naming {@code syscall} if it is not a system call name, or
     *     if the installed libseccomp does not know it
     */
    public SeccompPolicy deny(String syscall) {
        return withRule(syscall, null);
    }

    /**
     * This policy with {@code syscall} taking {@code action}.
     *
     * @param action {@link #kill()}, {@link #errno(int)} or {@link #log()}; use
     *     {@link #allow(String)} to allow
     * @param syscall the system call's name, e.g. {@code ptrace}
     * @return a new policy; this one is unchanged
     * @throws IllegalArgumentException naming {@code syscall} if it is not a system call name, or
     *     if the installed libseccomp does not know it; or if {@code action} is {@link Allow}
     */
    public SeccompPolicy deny(String syscall, Action action) {
        return withRule(syscall, checkDenyAction(action, "deny(\"" + syscall + "\", allow())"));
    }

    /**
     * This policy with {@code syscall} allowed.
     *
     * @param syscall the system call's name, e.g. {@code socket}
     * @return a new policy; this one is unchanged
     * @throws IllegalArgumentException naming {@code syscall} if it is not a system call name, or
     *     if the installed libseccomp does not know it
     */
    public SeccompPolicy allow(String syscall) {
        return withRule(syscall, ALLOW);
    }

    /**
     * This policy with {@code action} as the deny action: what {@link #deny(String)} rules, the
     * presets' denied calls and everything {@link #strict()} does not allow get. The default is
     * {@link #kill()}.
     *
     * @param action the deny action
     * @return a new policy; this one is unchanged
     * @throws IllegalArgumentException if {@code action} is {@link Allow}
     */
    public SeccompPolicy withDenyAction(Action action) {
        checkDenyAction(action, "withDenyAction(allow())");
        return action.equals(denyAction) ? this : new SeccompPolicy(preset, action, rules);
    }

    /** {@return whether this policy installs no filter at all} */
    public boolean isNone() {
        return preset == Preset.NONE && rules.isEmpty();
    }

    /**
     * The classic BPF program for the native architecture: an array of {@code struct sock_filter}
     * (8 bytes each, native byte order) to install with {@code seccomp(SECCOMP_SET_MODE_FILTER)};
     * empty for {@link #isNone()}. Compiled once per policy; each call returns a fresh copy.
     *
     * @throws UnsupportedHostException if libseccomp cannot be loaded
     * @throws IllegalArgumentException naming a rule's system call libseccomp does not know
     */
    byte[] compile() throws UnsupportedHostException {
        return compiled(false);
    }

    /** Whether the program may make this system call under this policy (without a rule's errno or kill). */
    boolean allows(String syscall) {
        if (rules.containsKey(syscall)) {
            return rules.get(syscall) instanceof Allow || rules.get(syscall) instanceof Log;
        }
        return switch (preset) {
            case NONE -> true;
            case DEFAULT -> !DEFAULT_DENIED.contains(syscall);
            case STRICT -> STRICT_ALLOWED.contains(syscall) || denyAction instanceof Log;
        };
    }

    /**
     * Like {@link #compile()}, but a kill is a user notification (SCMP_ACT_NOTIFY) to the sandbox's
     * monitor, which kills the sandbox itself and so can name the forbidden call in the outcome.
     */
    byte[] compileForMonitor() throws UnsupportedHostException {
        return compiled(true);
    }

    private byte[] compiled(boolean notify) throws UnsupportedHostException {
        byte[] program = compiled.get(notify ? 1 : 0);
        if (program == null) {
            program = isNone() ? new byte[0] : BpfCompiler.compile(rawAction(defaultAction(), notify), compilerRules(notify));
            compiled.set(notify ? 1 : 0, program); // a race compiles twice, to the same bytes
        }
        return program.clone();
    }

    /** libseccomp's pseudo filter code of {@link #compile()}, for debugging. */
    String pseudoCode() throws UnsupportedHostException {
        return isNone() ? "" : BpfCompiler.pseudoCode(rawAction(defaultAction(), false), compilerRules(false));
    }

    private Action defaultAction() {
        return preset == Preset.STRICT ? denyAction : ALLOW;
    }

    private List<BpfCompiler.Rule> compilerRules(boolean notify) {
        int deny = rawAction(denyAction, notify);
        List<BpfCompiler.Rule> out = new ArrayList<>();
        switch (preset) {
            case NONE -> { }
            case DEFAULT -> {
                for (String name : DEFAULT_DENIED) {
                    out.add(new BpfCompiler.Rule(name, deny, false));
                }
                // one rule per flag: the filter denies clone if any of them is set
                for (int bit = 0; bit < Long.SIZE; bit++) {
                    long flag = 1L << bit;
                    if ((CLONE_NEW_NAMESPACE & flag) != 0) {
                        out.add(new BpfCompiler.Rule("clone", deny, false, flag, flag));
                    }
                }
                out.add(new BpfCompiler.Rule("clone3", LibSeccomp.SCMP_ACT_ERRNO | ENOSYS, false));
                for (int family : UNISOLATED_SOCKET_FAMILIES) {
                    out.add(new BpfCompiler.Rule("socket", LibSeccomp.SCMP_ACT_ERRNO | EAFNOSUPPORT, false, INT_MASK, family));
                }
            }
            case STRICT -> {
                for (String name : STRICT_ALLOWED) {
                    out.add(new BpfCompiler.Rule(name, LibSeccomp.SCMP_ACT_ALLOW, false));
                }
                out.add(new BpfCompiler.Rule("clone", LibSeccomp.SCMP_ACT_ALLOW, false, CLONE_NEW_NAMESPACE, 0));
                out.add(new BpfCompiler.Rule("clone3", LibSeccomp.SCMP_ACT_ERRNO | ENOSYS, false));
                out.add(new BpfCompiler.Rule("socket", LibSeccomp.SCMP_ACT_ERRNO | EACCES, false));
                // prctl unless the option is PR_SET_SECCOMP: allowed if any of its low 32 bits (the
                // kernel's int) differs from PR_SET_SECCOMP's
                for (int bit = 0; bit < Integer.SIZE; bit++) {
                    long flag = 1L << bit;
                    out.add(new BpfCompiler.Rule("prctl", LibSeccomp.SCMP_ACT_ALLOW, false, flag, ~PR_SET_SECCOMP & flag));
                }
            }
        }
        out.removeIf(rule -> rules.containsKey(rule.syscall()));
        rules.forEach((name, action) ->
                out.add(new BpfCompiler.Rule(name, action == null ? deny : rawAction(action, notify), true)));
        return out;
    }

    private static int rawAction(Action action, boolean notify) {
        if (action instanceof Kill) {
            return notify ? LibSeccomp.SCMP_ACT_NOTIFY : LibSeccomp.SCMP_ACT_KILL_PROCESS;
        } else if (action instanceof Errno e) {
            return LibSeccomp.SCMP_ACT_ERRNO | e.errno();
        } else if (action instanceof Log) {
            return LibSeccomp.SCMP_ACT_LOG;
        } else {
            return LibSeccomp.SCMP_ACT_ALLOW;
        }
    }

    private static Action checkDenyAction(Action action, String call) {
        Objects.requireNonNull(action, "action");
        if (action instanceof Allow) {
            throw new IllegalArgumentException(call + ": a deny action cannot be allow()");
        }
        return action;
    }

    private SeccompPolicy withRule(String syscall, Action action) {
        Objects.requireNonNull(syscall, "syscall");
        if (!SYSCALL_NAME.matcher(syscall).matches()) {
            throw new IllegalArgumentException("not a system call name: \"" + syscall + "\"");
        }
        // Where libseccomp is missing compile() reports the host problem; here only the name counts.
        if (BpfCompiler.isUnknown(syscall)) {
            throw new IllegalArgumentException("unknown system call: \"" + syscall + "\" (libseccomp does not know it)");
        }
        Map<String, Action> next = new LinkedHashMap<>(rules);
        next.remove(syscall); // the latest rule for a name goes last
        next.put(syscall, action);
        return new SeccompPolicy(preset, denyAction, Collections.unmodifiableMap(next));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SeccompPolicy other
                && preset == other.preset
                && denyAction.equals(other.denyAction)
                && rules.equals(other.rules);
    }

    @Override
    public int hashCode() {
        return Objects.hash(preset, denyAction, rules);
    }

    /** E.g. {@code SeccompPolicy[strict(), deny action errno(EPERM), allow socketpair, deny ptrace]}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SeccompPolicy[").append(preset.call);
        sb.append(", deny action ").append(denyAction);
        rules.forEach((name, action) -> {
            sb.append(", ");
            if (action == null) {
                sb.append("deny ").append(name);
            } else if (action instanceof Allow) {
                sb.append("allow ").append(name);
            } else {
                sb.append("deny ").append(name).append(' ').append(action);
            }
        });
        return sb.append(']').toString();
    }
}
