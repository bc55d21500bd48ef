package dev.isolation.core.internal.launch;

import java.util.EnumSet;
import java.util.Set;

/**
 * The record tags of a launch plan, with their wire numbers and the phase each belongs to. The
 * helper's table is {@code src/main/c/plan_tags.h}; {@code PlanFormatTest} checks that both list
 * the same names, numbers and phases. Numbers are explicit and never reused (5, 19, 28 and 31 are retired: 19 the
 * orphan cgroup and 28 the CPU limit became the TEARDOWN_* records and CPU_COUNTER).
 */
public enum Tag {
    END(0, Phase.ANY),
    CLONE_FLAGS(1, Phase.MONITOR),
    ARG(2, Phase.EXEC),
    ENV(3, Phase.EXEC),
    EXEC_FILE(4, Phase.EXEC),
    CWD(6, Phase.EXEC),
    HOSTNAME(7, Phase.SETUP),
    UID_MAP(8, Phase.MONITOR),
    GID_MAP(9, Phase.MONITOR),
    SETGROUPS_DENY(10, Phase.MONITOR),
    MOUNT_PROC(11, Phase.SETUP),
    LOOPBACK_UP(12, Phase.SETUP),
    INIT(13, Phase.PROGRAM),
    CGROUP_PROCS(14, Phase.SETUP),
    CGROUP_NS(15, Phase.SETUP),
    MAKE_PRIVATE(16, Phase.SETUP),
    USERNS_IDS(17, Phase.SETUP),
    CLONE_INTO_CGROUP(18, Phase.MONITOR),
    NEW_ROOT(20, Phase.SETUP),
    MOUNT(21, Phase.SETUP),
    RUN_AS(22, Phase.PROGRAM),
    CAPS(23, Phase.PROGRAM),
    NO_NEW_PRIVS(24, Phase.PROGRAM),
    SECCOMP(25, Phase.PROGRAM),
    RLIMIT(26, Phase.PROGRAM),
    WALL_LIMIT(27, Phase.MONITOR),
    SESSION(29, Phase.SETUP),
    JOIN(30, Phase.SETUP),
    SETUP_TIMEOUT(32, Phase.MONITOR),
    SWEEP_UID(40, Phase.MONITOR),
    OUTPUT_RELAY(44, Phase.MONITOR),
    PIVOT_ROOT(45, Phase.SETUP),
    SET_CAPS(46, Phase.PROGRAM),
    CHDIR(47, Phase.PROGRAM),
    EXEC(48, Phase.PROGRAM),
    EXEC_PATH(49, Phase.EXEC),
    RUN_END(50, Phase.MONITOR),
    TEARDOWN_KILL(51, Phase.MONITOR),
    TEARDOWN_FREEZER(52, Phase.MONITOR),
    TEARDOWN_PROCS(53, Phase.MONITOR),
    TEARDOWN_REMOVE(54, Phase.MONITOR),
    CPU_COUNTER(55, Phase.MONITOR),
    PLACE_IN_CGROUP(56, Phase.MONITOR),
    POOL_LISTEN(57, Phase.MONITOR),
    POOL(58, Phase.SETUP),
    POOL_RUN(59, Phase.MONITOR),
    UNSHARE(60, Phase.SETUP),
    KILL_RULE(61, Phase.MONITOR);

    /**
     * Who acts on a record, and so in which message it may appear: the setup plan carries
     * {@link #MONITOR} records anywhere, then the {@link #SETUP} steps, then the {@link #PROGRAM}
     * steps (ending with {@link Tag#EXEC}); the exec plan only {@link #EXEC} records, the data of
     * one run, so that a set-up sandbox could take many. The helper refuses a record in a message
     * its phase does not allow, and a step out of that order.
     */
    public enum Phase {
        /** Read by the monitor, in the host's namespaces. */
        MONITOR(EnumSet.of(Message.SETUP)),
        /** A step of the sandbox's first process, before the exec plan. */
        SETUP(EnumSet.of(Message.SETUP)),
        /** A step of the program's own process, after the exec plan arrived, ending with execve. */
        PROGRAM(EnumSet.of(Message.SETUP)),
        /** The program itself: command, environment, directory, where to find it. */
        EXEC(EnumSet.of(Message.EXEC)),
        /** The end record, in every message. */
        ANY(EnumSet.allOf(Message.class));

        private final Set<Message> messages;

        Phase(Set<Message> messages) {
            this.messages = messages;
        }

        public boolean allowedIn(Message m) {
            return messages.contains(m);
        }
    }

    /** The two messages the helper reads, each with its number in the header. */
    public enum Message {
        SETUP(1),
        EXEC(2);

        public final int number;

        Message(int number) {
            this.number = number;
        }

        static Message of(int number) {
            for (Message m : values()) {
                if (m.number == number) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown plan message kind " + number);
        }
    }

    public final int number;
    public final Phase phase;

    Tag(int number, Phase phase) {
        this.number = number;
        this.phase = phase;
    }

    static Tag of(int number) {
        for (Tag t : values()) {
            if (t.number == number) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown plan record tag " + number);
    }
}
