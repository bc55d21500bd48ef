package dev.isolation.core.internal.seccomp;

import dev.isolation.core.UnsupportedHostException;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Turns a list of syscall rules into a classic BPF program for the native architecture with
 * libseccomp: {@code seccomp_init}, one {@code seccomp_rule_add} per rule,
 * {@code seccomp_export_bpf} into a pipe. Thread-safe: every compilation owns its own context.
 *
 * <p>Architectures other than the native one, and on x86_64 the x32 ABI (which shares the native
 * audit arch but sets bit 30 of the syscall number), take the bad-arch action, which is always
 * kill-process: libseccomp emits that check itself when only the native arch is in the filter.
 */
public final class BpfCompiler {
    /**
     * One rule: {@code action} (a raw {@code SCMP_ACT_*} value) applies to {@code syscall} when
     * {@code (arg0 & arg0Mask) == arg0Value}; a zero mask makes it unconditional. An unknown
     * syscall is an error for a {@code required} rule and skipped otherwise. Several rules for one
     * syscall with the same action match if any of them matches.
     */
    public record Rule(String syscall, int action, boolean required, long arg0Mask, long arg0Value) {
        public Rule(String syscall, int action, boolean required) {
            this(syscall, action, required, 0, 0);
        }
    }

    /** Bytes of one {@code struct sock_filter}. */
    public static final int INSTRUCTION_SIZE = 8;
    /** {@code BPF_MAXINSNS}: the kernel rejects longer programs. */
    public static final int MAX_INSTRUCTIONS = 4096;

    private static final String SONAME = "libseccomp.so.2";
    private static final int EINVAL = 22;

    private BpfCompiler() {}

    /** Loaded on first use; holds the failure if libseccomp is missing, so it is reported each time. */
    private static final class Holder {
        static final LibSeccomp LIB;
        static final Throwable FAILURE;

        static {
            LibSeccomp lib = null;
            Throwable failure = null;
            try {
                lib = LibraryLoader.create(LibSeccomp.class).searchDefault().load(SONAME);
                lib.seccomp_syscall_resolve_name("read"); // binds lazily: force a symbol lookup now
            } catch (LinkageError | RuntimeException e) {
                lib = null;
                failure = e;
            }
            LIB = lib;
            FAILURE = failure;
        }
    }

    /** Whether libseccomp could be loaded on this host. */
    private static final java.util.Map<Integer, String> NAMES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The name of system call {@code nr} of the native architecture, e.g. {@code ptrace}; {@code syscall NNN} if unknown. */
    public static String syscallName(int nr) {
        // libseccomp's string is never freed: cached, so at most one per system call leaks
        return NAMES.computeIfAbsent(nr, n -> {
            try {
                String name = lib().seccomp_syscall_resolve_num_arch(0, n);
                return name == null ? "syscall " + n : name;
            } catch (UnsupportedHostException e) {
                return "syscall " + n;
            }
        });
    }

    public static boolean isAvailable() {
        return Holder.LIB != null;
    }

    private static LibSeccomp lib() throws UnsupportedHostException {
        if (Holder.LIB == null) {
            throw new UnsupportedHostException("this host cannot build seccomp filters: " + SONAME
                    + " cannot be loaded (" + Holder.FAILURE.getMessage()
                    + "); install libseccomp 2.5 or later, e.g. `apt-get install libseccomp2`"
                    + " or `dnf install libseccomp`", Holder.FAILURE);
        }
        return Holder.LIB;
    }

    /**
     * Whether libseccomp is loaded and does not know {@code syscall}; false where libseccomp is
     * missing, since then {@link #compile} reports the host problem instead.
     */
    public static boolean isUnknown(String syscall) {
        return isAvailable() && Holder.LIB.seccomp_syscall_resolve_name(syscall) == LibSeccomp.NR_SCMP_ERROR;
    }

    /**
     * Compiles the rules. A rule whose action equals {@code defaultAction} is left out (libseccomp
     * refuses it, and it changes nothing); an unknown syscall is skipped unless the rule is
     * {@code required}.
     *
     * @return {@code struct sock_filter[]} in native byte order, a non-empty multiple of 8 bytes
     * @throws UnsupportedHostException if libseccomp cannot be loaded
     * @throws IllegalArgumentException naming a required syscall libseccomp does not know, or if
     *     the program is longer than the kernel accepts
     */
    public static byte[] compile(int defaultAction, List<Rule> rules) throws UnsupportedHostException {
        LibSeccomp lib = lib();
        Pointer ctx = filter(lib, defaultAction, rules);
        try {
            byte[] program = export(lib, ctx, false);
            if (program.length == 0 || program.length % INSTRUCTION_SIZE != 0) {
                throw new IllegalStateException("seccomp_export_bpf wrote " + program.length + " bytes");
            }
            if (program.length / INSTRUCTION_SIZE > MAX_INSTRUCTIONS) {
                throw new IllegalArgumentException("seccomp filter has " + program.length / INSTRUCTION_SIZE
                        + " instructions; the kernel accepts at most " + MAX_INSTRUCTIONS);
            }
            return program;
        } finally {
            lib.seccomp_release(ctx);
        }
    }

    /** libseccomp's pseudo filter code for the same rules: for debugging and tests. */
    public static String pseudoCode(int defaultAction, List<Rule> rules) throws UnsupportedHostException {
        LibSeccomp lib = lib();
        Pointer ctx = filter(lib, defaultAction, rules);
        try {
            return new String(export(lib, ctx, true), StandardCharsets.UTF_8);
        } finally {
            lib.seccomp_release(ctx);
        }
    }

    /** A libseccomp context holding the rules; the caller releases it. */
    private static Pointer filter(LibSeccomp lib, int defaultAction, List<Rule> rules) {
        Pointer ctx = lib.seccomp_init(defaultAction);
        if (ctx == null) {
            // libseccomp returns NULL for an action this kernel or library does not support
            throw new NativeCallException("seccomp_init", "0x" + Integer.toHexString(defaultAction), EINVAL);
        }
        try {
            check(lib.seccomp_attr_set(ctx, LibSeccomp.SCMP_FLTATR_ACT_BADARCH, LibSeccomp.SCMP_ACT_KILL_PROCESS),
                    "seccomp_attr_set", "SCMP_FLTATR_ACT_BADARCH");
            // a binary tree instead of a chain: fewer instructions per call, and a cheaper install
            // (the kernel runs the filter once per system call number to build its action cache)
            if (lib.seccomp_attr_set(ctx, LibSeccomp.SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) {
                // older libseccomp: the chain works the same, only slower
            }
            for (Rule rule : rules) {
                int nr = lib.seccomp_syscall_resolve_name(rule.syscall());
                if (nr == LibSeccomp.NR_SCMP_ERROR) {
                    if (rule.required()) {
                        throw new IllegalArgumentException("unknown system call: \"" + rule.syscall()
                                + "\" (libseccomp does not know it)");
                    }
                    continue;
                }
                // a negative pseudo number: the native arch has no such call, so there is nothing to filter
                if (nr >= 0 && rule.action() != defaultAction) {
                    check(addRule(lib, ctx, rule, nr), "seccomp_rule_add", rule.syscall());
                }
            }
            return ctx;
        } catch (RuntimeException e) {
            lib.seccomp_release(ctx);
            throw e;
        }
    }

    private static int addRule(LibSeccomp lib, Pointer ctx, Rule rule, int nr) {
        if (rule.arg0Mask() == 0) {
            return lib.seccomp_rule_add_array(ctx, rule.action(), nr, 0, null);
        }
        Pointer cmp = Memory.allocateDirect(Runtime.getRuntime(lib), LibSeccomp.SCMP_ARG_CMP_SIZE, true);
        cmp.putInt(0, 0); // arg
        cmp.putInt(4, LibSeccomp.SCMP_CMP_MASKED_EQ); // op
        cmp.putLong(8, rule.arg0Mask()); // datum_a
        cmp.putLong(16, rule.arg0Value()); // datum_b
        return lib.seccomp_rule_add_array(ctx, rule.action(), nr, 1, cmp);
    }

    /**
     * Exports through a pipe. The pipe holds 64 KiB; a filter has at most one rule per syscall of
     * the native table (under 500), a few instructions each, so the write cannot block.
     */
    private static byte[] export(LibSeccomp lib, Pointer ctx, boolean pfc) {
        Kernel kernel = Kernel.get();
        int[] fds = kernel.pipe();
        try {
            int rc = pfc ? lib.seccomp_export_pfc(ctx, fds[1]) : lib.seccomp_export_bpf(ctx, fds[1]);
            kernel.close(fds[1]);
            fds[1] = -1;
            check(rc, pfc ? "seccomp_export_pfc" : "seccomp_export_bpf", "pipe");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = kernel.read(fds[0], buf)) > 0; ) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            kernel.close(fds[0]);
            if (fds[1] >= 0) {
                kernel.close(fds[1]);
            }
        }
    }

    private static void check(int rc, String call, String argument) {
        if (rc < 0) {
            throw new NativeCallException(call, argument, -rc);
        }
    }
}
