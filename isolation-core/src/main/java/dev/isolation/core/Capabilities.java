package dev.isolation.core;

import java.util.List;
import java.util.Locale;

/** Capability names and numbers, as in {@code <linux/capability.h>}. */
final class Capabilities {
    private static final List<String> NAMES = List.of(
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
            "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
            "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
            "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
            "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
            "CHECKPOINT_RESTORE");

    private Capabilities() {}

    /** The number of a capability named {@code CAP_SYS_ADMIN}, {@code sys_admin} or {@code SYS_ADMIN}. */
    static int number(String name) {
        int n = NAMES.indexOf(name.toUpperCase(Locale.ROOT).replaceFirst("^CAP_", ""));
        if (n < 0) {
            throw new IllegalArgumentException("unknown capability \"" + name + "\" (e.g. CAP_NET_BIND_SERVICE)");
        }
        return n;
    }

    static String name(int number) {
        return "CAP_" + NAMES.get(number);
    }
}
