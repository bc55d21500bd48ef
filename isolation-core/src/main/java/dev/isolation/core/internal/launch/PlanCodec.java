package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.launch.LaunchPlan.MountKind;
import dev.isolation.core.internal.launch.Step.*;
import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The wire format of a launch plan, as {@code plan.c} reads it: a header (u32 magic, version,
 * message kind, body length), then records of (u32 tag, u32 length, value) in order, ending with
 * {@link Tag#END}. Integers are in native byte order; a string is its UTF-8 bytes and one NUL,
 * which the helper checks is the record's last byte and its only NUL. {@link #decode} reads what
 * {@link #encode} writes, with the helper's checks, so tests can read a plan back.
 */
public final class PlanCodec {
    public static final int MAGIC = 0x4c4f5349; // "ISOL"
    public static final int VERSION = 4;
    static final int HEADER = 16;

    private PlanCodec() {
    }

    /** A decoded message: its kind and its records in order (without the end record). */
    public record Plan(Tag.Message message, List<Step> steps) {
    }

    public static byte[] encode(Tag.Message message, List<Step> steps) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(512);
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            checkOrder(steps.subList(0, i), s);
            if (!s.tag().phase.allowedIn(message)) {
                throw new IllegalArgumentException(s.tag() + " (" + s.tag().phase + ") does not belong in a " + message + " plan");
            }
            byte[] v = value(s);
            body.writeBytes(le(8).putInt(s.tag().number).putInt(v.length).array());
            body.writeBytes(v);
        }
        body.writeBytes(le(8).putInt(Tag.END.number).putInt(0).array());
        byte[] b = body.toByteArray();
        return le(HEADER + b.length).putInt(MAGIC).putInt(VERSION).putInt(message.number).putInt(b.length).put(b).array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.nativeOrder());
    }

    static byte[] string(String s) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL character in " + s.replace('\0', '?'));
        }
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return z;
    }

    /** Several strings, each NUL-terminated, one after another (MOUNT's, TEARDOWN_FREEZER's, CPU_COUNTER's). */
    static byte[] strings(String... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String v : values) {
            out.writeBytes(string(v));
        }
        return out.toByteArray();
    }

    private static byte[] value(Step s) {
        if (s instanceof CloneNamespaces c) {
            return le(8).putLong(c.flags()).array();
        } else if (s instanceof Arg a) {
            return string(a.value());
        } else if (s instanceof Env e) {
            return string(e.keyEqualsValue());
        } else if (s instanceof ExecFile e) {
            return string(e.file());
        } else if (s instanceof ExecPath p) {
            return string(p.path());
        } else if (s instanceof WorkingDirectory w) {
            return string(w.dir());
        } else if (s instanceof SetHostname h) {
            return string(h.name());
        } else if (s instanceof UidMap m) {
            return string(m.map());
        } else if (s instanceof GidMap m) {
            return string(m.map());
        } else if (s instanceof JoinCgroup j) {
            return string(j.procsFile());
        } else if (s instanceof PlaceInCgroup p) {
            return string(p.procsFile());
        } else if (s instanceof CloneIntoCgroup c) {
            return string(c.directory());
        } else if (s instanceof PoolListen p) {
            return string(p.socket());
        } else if (s instanceof PoolRun p) {
            return string(p.socket());
        } else if (s instanceof UnshareNamespaces u) {
            return le(8).putLong(u.flags()).array();
        } else if (s instanceof TeardownKill t) {
            return string(t.file());
        } else if (s instanceof TeardownFreezer t) {
            return strings(t.file(), t.freezeValue(), t.thawValue());
        } else if (s instanceof TeardownProcs t) {
            return string(t.file());
        } else if (s instanceof TeardownRemove t) {
            return string(t.directory());
        } else if (s instanceof UserNamespaceIds u) {
            return le(8).putInt(u.uid()).putInt(u.gid()).array();
        } else if (s instanceof Mount m) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(le(16).putLong(m.flags()).putInt(m.kind().code).putInt(m.options()).array());
            out.writeBytes(strings(m.source(), m.target(), m.fstype(), m.data(), m.display()));
            return out.toByteArray();
        } else if (s instanceof SetIds i) {
            return le(12).putInt(i.uid()).putInt(i.gid()).putInt(i.clearGroups() ? 1 : 0).array();
        } else if (s instanceof DropCapabilities c) {
            return le(16).putLong(c.keepMask()).putLong(c.securebits()).array();
        } else if (s instanceof InstallSeccomp f) {
            byte[] bpf = f.bpf();
            return le(8 + bpf.length).putInt(f.mode().code).putInt(0).put(bpf).array();
        } else if (s instanceof Init i) {
            return le(16).putLong(i.forwardedSignals()).putInt(i.killRest() ? 1 : 0).putInt(0).array();
        } else if (s instanceof Step.KillRule k) {
            return le(16).putInt(k.rule().code).putInt(0).putLong(k.graceNanos()).array();
        } else if (s instanceof RunEnd r) {
            return le(4).putInt(r.killRest() ? 1 : 0).array();
        } else if (s instanceof SetRlimit r) {
            return le(24).putInt(r.resource()).putInt(0).putLong(r.soft()).putLong(r.hard()).array();
        } else if (s instanceof WallLimit w) {
            return le(8).putLong(w.nanos()).array();
        } else if (s instanceof SetupTimeout t) {
            return le(8).putLong(t.nanos()).array();
        } else if (s instanceof CpuCounter c) {
            byte[] files = strings(c.file(), c.key());
            return le(16 + files.length).putLong(c.nanos()).putLong(c.nanosPerUnit()).put(files).array();
        } else if (s instanceof JoinNamespaces j) {
            return le(24).putInt(j.pid()).putInt(0).putLong(j.namespaceFlags()).putLong(j.startTime()).array();
        } else if (s instanceof SweepUid u) {
            return le(4).putInt(u.uid()).array();
        } else if (s instanceof OutputRelay r) {
            return le(16).putInt(r.fd()).putInt(r.withStderr() ? 1 << 2 : 0).putLong(r.limit()).array();
        } else { // the flags: no value
            return new byte[0];
        }
    }

    /** Reads a plan back, refusing what the helper refuses: a bad header, a record of the wrong size or phase, an unbounded string. */
    public static Plan decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        try {
            if (b.getInt() != MAGIC || b.getInt() != VERSION) {
                throw new IllegalArgumentException("magic or version mismatch");
            }
            Tag.Message message = Tag.Message.of(b.getInt());
            int len = b.getInt();
            if (len != b.remaining()) {
                throw new IllegalArgumentException("body length " + len + ", " + b.remaining() + " bytes follow");
            }
            List<Step> steps = new ArrayList<>();
            while (true) {
                Tag tag = Tag.of(b.getInt());
                int n = b.getInt();
                if (n < 0 || n > b.remaining()) {
                    throw new IllegalArgumentException("truncated " + tag + " record");
                }
                if (!tag.phase.allowedIn(message)) {
                    throw new IllegalArgumentException(tag + " record in a " + message + " plan");
                }
                ByteBuffer v = b.slice().order(ByteOrder.nativeOrder()).limit(n);
                b.position(b.position() + n);
                if (tag == Tag.END) {
                    if (n != 0 || b.hasRemaining()) {
                        throw new IllegalArgumentException("bytes after the end record");
                    }
                    return new Plan(message, List.copyOf(steps));
                }
                Step step = step(tag, v);
                if (tag == Tag.KILL_RULE && steps.stream().anyMatch(s -> s.tag() == Tag.KILL_RULE)) {
                    throw new IllegalArgumentException("a second kill rule");
                }
                checkOrder(steps, step);
                steps.add(step);
            }
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated plan", e);
        }
    }

    /** The helper's order rules: setup steps before program steps, INIT first of those, nothing after EXEC. */
    static void checkOrder(List<Step> before, Step next) {
        Tag.Phase phase = next.tag().phase;
        if (phase != Tag.Phase.SETUP && phase != Tag.Phase.PROGRAM) {
            return;
        }
        List<Step> program = before.stream().filter(s -> s.tag().phase == Tag.Phase.PROGRAM).toList();
        if (phase == Tag.Phase.SETUP && !program.isEmpty()) {
            throw new IllegalArgumentException("a setup step (" + next.tag() + ") after a program step");
        }
        if (next.tag() == Tag.INIT && !program.isEmpty()) {
            throw new IllegalArgumentException("init not the first program step");
        }
        if (phase == Tag.Phase.PROGRAM && !program.isEmpty() && program.get(program.size() - 1).tag() == Tag.EXEC) {
            throw new IllegalArgumentException("a program step (" + next.tag() + ") after exec");
        }
    }

    private static Step step(Tag tag, ByteBuffer v) {
        int n = v.remaining();
        Step s = switch (tag) {
            case CLONE_FLAGS -> new CloneNamespaces(fixed(v, 8).getLong());
            case ARG -> new Arg(string(v, tag));
            case ENV -> new Env(string(v, tag));
            case EXEC_FILE -> new ExecFile(string(v, tag));
            case EXEC_PATH -> new ExecPath(string(v, tag));
            case CWD -> new WorkingDirectory(string(v, tag));
            case HOSTNAME -> new SetHostname(string(v, tag));
            case UID_MAP -> new UidMap(string(v, tag));
            case GID_MAP -> new GidMap(string(v, tag));
            case SETGROUPS_DENY -> flag(v, new SetgroupsDeny());
            case MOUNT_PROC -> flag(v, new MountProc());
            case LOOPBACK_UP -> flag(v, new LoopbackUp());
            case INIT -> {
                fixed(v, 16);
                long signals = v.getLong();
                int flags = v.getInt();
                yield new Init(signals, known(flags, 1, tag) != 0);
            }
            case KILL_RULE -> {
                fixed(v, 16);
                LaunchPlan.KillRule rule = LaunchPlan.KillRule.of(v.getInt());
                if (v.getInt() != 0) {
                    throw new IllegalArgumentException("KILL_RULE record: reserved word not 0");
                }
                yield new Step.KillRule(rule, v.getLong());
            }
            case RUN_END -> new RunEnd(known(fixed(v, 4).getInt(), 1, tag) != 0);
            case PIVOT_ROOT -> flag(v, new PivotRoot());
            case SET_CAPS -> flag(v, new SetCapabilities());
            case CHDIR -> flag(v, new EnterWorkingDirectory());
            case EXEC -> flag(v, new Exec());
            case CGROUP_PROCS -> new JoinCgroup(string(v, tag));
            case CGROUP_NS -> flag(v, new UnshareCgroupNamespace());
            case MAKE_PRIVATE -> flag(v, new MakeRootPrivate());
            case USERNS_IDS -> new UserNamespaceIds(fixed(v, 8).getInt(), v.getInt());
            case CLONE_INTO_CGROUP -> new CloneIntoCgroup(string(v, tag));
            case PLACE_IN_CGROUP -> {
                String file = string(v, tag);
                if (!file.startsWith("/")) {
                    throw new IllegalArgumentException("cgroup placement: not an absolute path: " + file);
                }
                yield new PlaceInCgroup(file);
            }
            case TEARDOWN_KILL -> new TeardownKill(string(v, tag));
            case TEARDOWN_FREEZER -> {
                String[] f = strings(v, tag, 3);
                yield new TeardownFreezer(f[0], f[1], f[2]);
            }
            case TEARDOWN_PROCS -> new TeardownProcs(string(v, tag));
            case TEARDOWN_REMOVE -> new TeardownRemove(string(v, tag));
            case NEW_ROOT -> flag(v, new NewRoot());
            case MOUNT -> {
                if (n < 16) {
                    throw new IllegalArgumentException("MOUNT record of " + n + " bytes");
                }
                long flags = v.getLong();
                MountKind kind = MountKind.of(v.getInt());
                int options = v.getInt();
                String[] f = strings(v, tag, 5);
                yield new Mount(kind, flags, options, f[0], f[1], f[2], f[3], f[4]);
            }
            case RUN_AS -> new SetIds(fixed(v, 12).getInt(), v.getInt(), v.getInt() != 0);
            case CAPS -> new DropCapabilities(fixed(v, 16).getLong(), v.getLong());
            case NO_NEW_PRIVS -> flag(v, new NoNewPrivs());
            case SECCOMP -> {
                if (n < 16 || n % 8 != 0) {
                    throw new IllegalArgumentException("SECCOMP record of " + n + " bytes");
                }
                LaunchPlan.SeccompMode mode = LaunchPlan.SeccompMode.of(v.getInt());
                v.getInt();
                byte[] bpf = new byte[n - 8];
                v.get(bpf);
                yield new InstallSeccomp(mode, bpf);
            }
            case RLIMIT -> {
                fixed(v, 24);
                int resource = v.getInt();
                v.getInt();
                yield new SetRlimit(resource, v.getLong(), v.getLong());
            }
            case WALL_LIMIT -> new WallLimit(fixed(v, 8).getLong());
            case CPU_COUNTER -> {
                if (n < 18) {
                    throw new IllegalArgumentException("CPU_COUNTER record of " + n + " bytes");
                }
                long nanos = v.getLong();
                long perUnit = v.getLong();
                String[] f = strings(v, tag, 2);
                try {
                    yield new CpuCounter(nanos, perUnit, f[0], f[1]);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("CPU_COUNTER record: " + e.getMessage(), e);
                }
            }
            case SESSION -> flag(v, new Session());
            case POOL -> flag(v, new PoolInit());
            case POOL_LISTEN -> new PoolListen(string(v, tag));
            case POOL_RUN -> new PoolRun(string(v, tag));
            case UNSHARE -> new UnshareNamespaces(fixed(v, 8).getLong());
            case JOIN -> {
                fixed(v, 24);
                int pid = v.getInt();
                v.getInt();
                long flags = v.getLong();
                yield new JoinNamespaces(pid, flags, v.getLong());
            }
            case SETUP_TIMEOUT -> new SetupTimeout(fixed(v, 8).getLong());
            case SWEEP_UID -> new SweepUid(fixed(v, 4).getInt());
            case OUTPUT_RELAY -> {
                fixed(v, 16);
                int fd = v.getInt();
                int also = v.getInt();
                yield new OutputRelay(fd, also != 0, v.getLong());
            }
            case END -> throw new AssertionError();
        };
        return s;
    }

    private static int known(int flags, int mask, Tag tag) {
        if ((flags & ~mask) != 0) {
            throw new IllegalArgumentException("unknown " + tag + " flags " + flags);
        }
        return flags;
    }

    private static ByteBuffer fixed(ByteBuffer v, int size) {
        if (v.remaining() != size) {
            throw new IllegalArgumentException("record of " + v.remaining() + " bytes where " + size + " belong");
        }
        return v;
    }

    private static <S extends Step> S flag(ByteBuffer v, S s) {
        fixed(v, 0);
        return s;
    }

    /** The whole value as one string: its last byte is its only NUL. */
    private static String string(ByteBuffer v, Tag tag) {
        String s = nextString(v, tag);
        if (v.hasRemaining()) {
            throw new IllegalArgumentException("NUL inside a " + tag + " string");
        }
        return s;
    }

    /** Exactly {@code count} NUL-terminated strings, nothing after them. */
    private static String[] strings(ByteBuffer v, Tag tag, int count) {
        String[] f = new String[count];
        for (int i = 0; i < count; i++) {
            f[i] = nextString(v, tag);
        }
        if (v.hasRemaining()) {
            throw new IllegalArgumentException("bytes after a " + tag + " record's strings");
        }
        return f;
    }

    private static String nextString(ByteBuffer v, Tag tag) {
        int start = v.position();
        for (int i = start; i < v.limit(); i++) {
            if (v.get(i) == 0) {
                byte[] s = new byte[i - start];
                v.get(s);
                v.get();
                return new String(s, StandardCharsets.UTF_8);
            }
        }
        throw new IllegalArgumentException("unterminated " + tag + " string");
    }
}
