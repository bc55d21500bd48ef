package dev.isolation.core;

import java.util.Locale;

/**
 * Resource limits applied with setrlimit(2) right before exec. Numbers as in
 * {@code <sys/resource.h>} (the same on x86_64 and aarch64).
 *
 * @since 0.1.0
 */
public enum Rlimit {
    /** CPU seconds; SIGXCPU at the soft limit, SIGKILL at the hard one. */
    CPU(0),
    /** Largest file the program may write, in bytes; SIGXFSZ past it. */
    FSIZE(1),
    /** Data segment size in bytes (the heap of {@code brk}, and of {@code mmap} since Linux 4.7). */
    DATA(2),
    /** Stack size in bytes; judges often want {@link #UNLIMITED}. */
    STACK(3),
    /** Core dump size in bytes; 0 by default in a sandbox. */
    CORE(4),
    /** Processes of the program's user (prefer {@code pidsLimit}, which counts the sandbox only). */
    NPROC(6),
    /** Open file descriptors. */
    NOFILE(7),
    /** Bytes of memory the program may lock into RAM ({@code mlock}). */
    MEMLOCK(8),
    /** Address space in bytes. Opt-in only: it breaks the JVM, Go and V8; limit memory with the cgroup. */
    AS(9),
    /** Bytes in POSIX message queues of the program's user. */
    MSGQUEUE(12);

    /** RLIM_INFINITY. */
    public static final long UNLIMITED = -1;

    final int resource;

    Rlimit(int resource) {
        this.resource = resource;
    }

    /**
     * By name, case-insensitive, with or without the {@code RLIMIT_} prefix: {@code stack}, {@code RLIMIT_NOFILE}.
     *
     * @param name the name
     * @return the resource
     * @throws IllegalArgumentException if no resource has that name
     */
    public static Rlimit byName(String name) {
        String n = name.toUpperCase(Locale.ROOT).replaceFirst("^RLIMIT_", "");
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown rlimit \"" + name + "\": one of cpu, fsize, data, stack, core, nproc, nofile, memlock, as, msgqueue", e);
        }
    }
}
