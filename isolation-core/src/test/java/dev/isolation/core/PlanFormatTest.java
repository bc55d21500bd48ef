package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.LaunchPlan.MountKind;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.launch.Tag;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The launch plan's wire format on both sides, without root: Java's tags against the helper's
 * table, golden bytes, Java's decoder round-tripping what its encoder writes, and the helper's own
 * decoder (plan.c, compiled here with a small dump harness) reading the same bytes and refusing
 * the same malformed ones.
 */
class PlanFormatTest {
    private static final Path GOLDEN = Path.of("src/test/resources/plans");
    private static Path dump;

    @BeforeAll
    static void buildTheHelpersDecoder() throws Exception {
        Path out = Files.createDirectories(Path.of("target/plan-dump"));
        dump = out.resolve("plan_dump");
        Process cc = new ProcessBuilder(System.getenv().getOrDefault("CC", "cc"), "-O1", "-Wall", "-Wextra", "-Werror",
                "-Isrc/main/c", "-o", dump.toString(), "src/test/c/plan_dump.c", "src/main/c/plan.c").redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor()).as("cc: %s", log).isZero();
    }

    /** What plan.c reads from {@code message}: its dump, or "refused: why". */
    private static String helperReads(String kind, byte[] message) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(dump.toString(), kind).redirectErrorStream(true).start();
        p.getOutputStream().write(message);
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isIn(0, 1); // a crash is neither
        return out;
    }

    private static LaunchPlan setupPlan() {
        return new LaunchPlan().cloneFlags(LaunchPlan.CLONE_NEWPID | LaunchPlan.CLONE_NEWNS).setupTimeout(5_000_000_000L)
                .sweepUid(2130706433).setgroupsDeny().uidMap("0 1000 1\n").gidMap("0 1000 1\n").userNamespaceIds(0, 0)
                .cloneIntoCgroup("/sys/fs/cgroup/isolation-1").teardownKillFile("/sys/fs/cgroup/isolation-1/cgroup.kill")
                .teardownFreezer("/sys/fs/cgroup/isolation-1/cgroup.freeze", "1", "0")
                .teardownProcs("/sys/fs/cgroup/isolation-1/cgroup.procs").teardownRemove("/sys/fs/cgroup/isolation-1")
                .placeInCgroup("/sys/fs/cgroup/memory/isolation-1/cgroup.procs")
                .joinCgroup("/sys/fs/cgroup/pids/isolation-1/cgroup.procs").cgroupNamespace().makeRootPrivate().newRoot()
                .mount(MountKind.DIR, LaunchPlan.MS_NOSUID | LaunchPlan.MS_NODEV, "isolation-tmpfs", "/", "tmpfs",
                        "mode=0755,size=1m", "\"tmpfs\" -> \"/\"")
                .mount(MountKind.FILE, LaunchPlan.MS_BIND, LaunchPlan.MOUNT_DEVICE_SOURCE, "/dev/null", "/dev/null", null, null, null)
                .mountProc().pivotRoot().hostname("box").loopbackUp().wallLimit(2_000_000_000L).runEnd(true)
                .killRule(LaunchPlan.KillRule.INIT, 1_000_000_000L)
                .cpuCounter(1_000_000_000L, "/sys/fs/cgroup/isolation-1/cpu.stat", "usage_usec", 1000)
                .outputRelay(1, true, 1 << 20).init(PlanCompiler.FORWARDED_SIGNALS, true).rlimit(4, 0, 0)
                .capabilities(1L << 10, 0x1b).runAs(1000, 1000, true).setCapabilities().enterWorkingDirectory().noNewPrivs()
                .seccomp(LaunchPlan.SeccompMode.MONITOR_KILLS, new byte[] {6, 0, 0, 0, 0, 0, (byte) 0xff, 0x7f}).exec();
    }

    private static LaunchPlan execPlan() {
        return LaunchPlan.forExec().arg("sh").arg("-c").arg("echo é").env("PATH=/bin").execFile("sh").execPath("/usr/bin/sh").execPath("/bin/sh")
                .workingDirectory("/box");
    }

    private static byte[] golden(String name, byte[] actual) throws IOException {
        Path f = GOLDEN.resolve(name + ".hex");
        if (Boolean.getBoolean("plan.golden.write")) {
            Files.createDirectories(GOLDEN);
            Files.writeString(f, HexFormat.of().formatHex(actual) + "\n");
        }
        return HexFormat.of().parseHex(Files.readString(f).strip());
    }

    @Test
    void everyTagHasTheNumberAndPhaseOfTheHelpersTable() throws IOException {
        String h = Files.readString(Path.of("src/main/c/plan_tags.h"));
        Map<String, String> helper = new LinkedHashMap<>();
        Matcher m = Pattern.compile("X\\(([A-Z_]+), (\\d+), ([A-Z]+)\\)").matcher(h.substring(h.indexOf("#define PLAN_TAGS"),
                h.indexOf("#define PLAN_TAG_ENUM")));
        while (m.find()) {
            helper.put(m.group(1), m.group(2) + " " + m.group(3));
        }
        Map<String, String> java = new LinkedHashMap<>();
        for (Tag t : Tag.values()) {
            java.put(t.name(), t.number + " " + t.phase);
        }
        assertThat(helper).isEqualTo(java);
        assertThat(Arrays.stream(Tag.values()).mapToInt(t -> t.number).distinct().count()).isEqualTo(Tag.values().length);
    }

    @Test
    void mountKindsAndSeccompModesHaveTheHelpersNumbers() throws IOException {
        String h = Files.readString(Path.of("src/main/c/plan_tags.h"));
        assertThat(table(h, "MOUNT_KINDS")).isEqualTo(codes(MountKind.values(), k -> k.code));
        assertThat(table(h, "SECCOMP_MODES")).isEqualTo(codes(LaunchPlan.SeccompMode.values(), m -> m.code));
        assertThat(table(h, "KILL_RULES")).isEqualTo(codes(LaunchPlan.KillRule.values(), r -> r.code));
        assertThat(h).as("the CPU usage formats are gone with CPU_LIMIT: CPU_COUNTER names its key and unit")
                .doesNotContain("CPU_USAGE_FORMATS");
    }

    private static Map<String, Integer> table(String h, String name) {
        String body = h.substring(h.indexOf("#define " + name + "(X)"));
        body = body.substring(0, body.indexOf("\n\n"));
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Matcher m = Pattern.compile("X\\(([A-Z_]+), (\\d+)\\)").matcher(body); m.find(); ) {
            out.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return out;
    }

    private static <E extends Enum<E>> Map<String, Integer> codes(E[] values, java.util.function.ToIntFunction<E> code) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (E e : values) {
            out.put(e.name(), code.applyAsInt(e));
        }
        return out;
    }

    @Test
    void aPlanIsTheGoldenBytesAndReadsBackAsItsSteps() throws IOException {
        assertThat(ByteOrder.nativeOrder()).as("the golden files are little-endian, as x86_64 and aarch64 are")
                .isEqualTo(ByteOrder.LITTLE_ENDIAN);
        for (LaunchPlan plan : List.of(setupPlan(), execPlan())) {
            byte[] bytes = plan.encode();
            assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(HexFormat.of().formatHex(golden(plan.message().name().toLowerCase(), bytes)));
            PlanCodec.Plan back = PlanCodec.decode(bytes);
            assertThat(back.message()).isEqualTo(plan.message());
            assertThat(back.steps()).isEqualTo(plan.steps());
            assertThat(PlanCodec.encode(back.message(), back.steps())).isEqualTo(bytes);
        }
    }

    @Test
    void theHeaderNamesMagicVersionKindAndLength() {
        byte[] bytes = new LaunchPlan().cloneFlags(LaunchPlan.CLONE_NEWPID).noNewPrivs().encode();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        assertThat(b.getInt()).isEqualTo(0x4c4f5349);
        assertThat(b.getInt()).isEqualTo(PlanCodec.VERSION).isEqualTo(4);
        assertThat(b.getInt()).isEqualTo(Tag.Message.SETUP.number);
        assertThat(b.getInt()).isEqualTo(bytes.length - 16);
        assertThat(b.getInt()).isEqualTo(1); // clone flags
        assertThat(b.getInt()).isEqualTo(8);
        assertThat(b.getLong()).isEqualTo(0x20000000L);
        assertThat(b.getInt()).isEqualTo(24); // no_new_privs
        assertThat(b.getInt()).isZero();
        assertThat(b.getInt()).isZero(); // end
        assertThat(b.getInt()).isZero();
        assertThat(b.hasRemaining()).isFalse();
    }

    @Test
    void theHelpersDecoderReadsWhatJavaWrites() throws Exception {
        assertThat(helperReads("setup", setupPlan().encode())).isEqualTo("""
                clone_flags 0x20020000
                exec_file (none)
                cwd (none)
                hostname box
                uid_map 0 1000 1
                gid_map 0 1000 1
                flags setgroups_deny=1 mount_proc=1 loopback_up=1 init=1 cgroup_ns=1 make_private=1 new_root=1 no_new_privs=1 session=0
                init signals=0x940e flags=1
                run_end 1
                kill_rule 0 grace_ns 1000000000
                cgroup_procs /sys/fs/cgroup/pids/isolation-1/cgroup.procs
                place_in_cgroup /sys/fs/cgroup/memory/isolation-1/cgroup.procs
                teardown_kill /sys/fs/cgroup/isolation-1/cgroup.kill
                teardown_freezer /sys/fs/cgroup/isolation-1/cgroup.freeze 1 0
                teardown_procs /sys/fs/cgroup/isolation-1/cgroup.procs
                teardown_remove /sys/fs/cgroup/isolation-1
                clone_into_cgroup /sys/fs/cgroup/isolation-1
                userns_ids 0 0
                mount 0 0x6 0 isolation-tmpfs / tmpfs mode=0755,size=1m "tmpfs" -> "/"
                mount 1 0x1000 1 /dev/null /dev/null (none) (none) (none)
                run_as 1000 1000 1
                caps 0x400 securebits 0x1b
                seccomp_insns 1 mode 1
                rlimit 4 0 0
                wall_limit_ns 2000000000
                setup_timeout_ns 5000000000
                cpu_counter 1000000000 1000 /sys/fs/cgroup/isolation-1/cpu.stat [usage_usec]
                sweep_uid 2130706433
                relay 1 4 1048576
                setup step USERNS_IDS 0
                setup step CGROUP_PROCS 0
                setup step CGROUP_NS 0
                setup step MAKE_PRIVATE 0
                setup step NEW_ROOT 0
                setup step MOUNT 0
                setup step MOUNT 1
                setup step MOUNT_PROC 0
                setup step PIVOT_ROOT 0
                setup step HOSTNAME 0
                setup step LOOPBACK_UP 0
                program step INIT 0
                program step RLIMIT 0
                program step CAPS 0
                program step RUN_AS 0
                program step SET_CAPS 0
                program step CHDIR 0
                program step NO_NEW_PRIVS 0
                program step SECCOMP 0
                program step EXEC 0
                """);
        assertThat(helperReads("exec", execPlan().encode())).isEqualTo("""
                clone_flags 0
                arg sh
                arg -c
                arg echo é
                env PATH=/bin
                exec_path /usr/bin/sh
                exec_path /bin/sh
                exec_file sh
                cwd /box
                hostname (none)
                uid_map (none)
                gid_map (none)
                flags setgroups_deny=0 mount_proc=0 loopback_up=0 init=0 cgroup_ns=0 make_private=0 new_root=0 no_new_privs=0 session=0
                run_end 0
                clone_into_cgroup (none)
                seccomp_insns 0 mode 0
                wall_limit_ns 0
                setup_timeout_ns 0
                """);
    }

    /** A message with the records (tag, value) given, after a valid header of {@code kind}. */
    private static byte[] raw(Tag.Message kind, Object... tagsAndValues) {
        ByteBuffer body = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
        for (int i = 0; i < tagsAndValues.length; i += 2) {
            byte[] v = (byte[]) tagsAndValues[i + 1];
            body.putInt((Integer) tagsAndValues[i]).putInt(v.length).put(v);
        }
        body.flip();
        ByteBuffer out = ByteBuffer.allocate(16 + body.remaining()).order(ByteOrder.nativeOrder());
        return out.putInt(0x4c4f5349).putInt(PlanCodec.VERSION).putInt(kind.number).putInt(body.remaining()).put(body).array();
    }

    private static final byte[] NONE = new byte[0];

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void bothDecodersRefuseMalformedRecords() throws Exception {
        Map<String, byte[][]> cases = new LinkedHashMap<>();
        cases.put("record of the wrong size for its tag", new byte[][] {raw(Tag.Message.SETUP, 1, new byte[4], 0, NONE)});
        cases.put("string record not ending in its only NUL", new byte[][] {
                raw(Tag.Message.EXEC, 2, bytes("sh"), 0, NONE), raw(Tag.Message.EXEC, 2, bytes("s\0h\0"), 0, NONE),
                raw(Tag.Message.EXEC, 2, NONE, 0, NONE)});
        cases.put("a record of the setup plan in the exec plan", new byte[][] {raw(Tag.Message.EXEC, 1, new byte[8], 0, NONE)});
        cases.put("a record of the exec plan in the setup plan", new byte[][] {raw(Tag.Message.SETUP, 2, bytes("sh\0"), 0, NONE)});
        cases.put("unknown record", new byte[][] {raw(Tag.Message.SETUP, 33, NONE, 0, NONE), raw(Tag.Message.SETUP, 1 << 30, NONE, 0, NONE),
                // retired: the orphan cgroup and the CPU limit of format v3
                raw(Tag.Message.SETUP, 19, bytes("/sys/fs/cgroup/isolation-1\0"), 0, NONE),
                raw(Tag.Message.SETUP, 28, ByteBuffer.allocate(18).put(16, bytes("f\0")).array(), 0, NONE)});
        cases.put("record of the wrong size for its tag (join)", new byte[][] {
                raw(Tag.Message.SETUP, Tag.JOIN.number, ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putInt(0, 42).array(), 0, NONE)});
        cases.put("freezer record: a string runs past its end", new byte[][] {
                raw(Tag.Message.SETUP, Tag.TEARDOWN_FREEZER.number, bytes("/cg/cgroup.freeze\0" + "1\0"), 0, NONE),
                raw(Tag.Message.SETUP, Tag.TEARDOWN_FREEZER.number, bytes("/cg/cgroup.freeze\0" + "1\0" + "0"), 0, NONE)});
        cases.put("freezer record: bytes after its strings", new byte[][] {
                raw(Tag.Message.SETUP, Tag.TEARDOWN_FREEZER.number, bytes("/cg/cgroup.freeze\0" + "1\0" + "0\0" + "x\0"), 0, NONE)});
        cases.put("cpu counter record: a string runs past its end", new byte[][] {
                raw(Tag.Message.SETUP, Tag.CPU_COUNTER.number, ByteBuffer.allocate(16 + 10).order(ByteOrder.nativeOrder())
                        .putLong(8, 1000).put(16, bytes("/cg/cpu.st")).array(), 0, NONE),
                raw(Tag.Message.SETUP, Tag.CPU_COUNTER.number, ByteBuffer.allocate(16 + 12).order(ByteOrder.nativeOrder())
                        .putLong(8, 1000).put(16, bytes("/cg/cpu.st\0k")).array(), 0, NONE)});
        cases.put("cpu counter record: bytes after its strings", new byte[][] {
                raw(Tag.Message.SETUP, Tag.CPU_COUNTER.number, ByteBuffer.allocate(16 + 14).order(ByteOrder.nativeOrder())
                        .putLong(8, 1000).put(16, bytes("/cg/cpu.st\0\0x\0")).array(), 0, NONE)});
        cases.put("cpu counter of 0 ns per unit", new byte[][] {
                raw(Tag.Message.SETUP, Tag.CPU_COUNTER.number, ByteBuffer.allocate(16 + 12).put(16, bytes("/cg/cpu.st\0\0")).array(), 0, NONE)});
        cases.put("string record not ending in its only NUL (teardown)", new byte[][] {
                raw(Tag.Message.SETUP, Tag.TEARDOWN_REMOVE.number, bytes("/cg/a\0b\0"), 0, NONE),
                raw(Tag.Message.SETUP, Tag.TEARDOWN_PROCS.number, bytes("/cg/cgroup.procs"), 0, NONE),
                raw(Tag.Message.SETUP, Tag.TEARDOWN_KILL.number, NONE, 0, NONE)});
        cases.put("cgroup placement: not an absolute path", new byte[][] {
                raw(Tag.Message.SETUP, Tag.PLACE_IN_CGROUP.number, bytes("cgroup.procs\0"), 0, NONE)});
        cases.put("string record not ending in its only NUL (placement)", new byte[][] {
                raw(Tag.Message.SETUP, Tag.PLACE_IN_CGROUP.number, bytes("/cg/cgroup.procs"), 0, NONE),
                raw(Tag.Message.SETUP, Tag.PLACE_IN_CGROUP.number, bytes("/cg/a\0b\0"), 0, NONE)});
        cases.put("missing end record", new byte[][] {raw(Tag.Message.SETUP, 24, NONE)});
        cases.put("a setup step after a program step", new byte[][] {raw(Tag.Message.SETUP, 24, NONE, 11, NONE, 0, NONE)});
        cases.put("a program step after exec", new byte[][] {raw(Tag.Message.SETUP, 48, NONE, 24, NONE, 0, NONE)});
        cases.put("init not the first program step", new byte[][] {raw(Tag.Message.SETUP, 24, NONE, 13, new byte[16], 0, NONE)});
        cases.put("unknown init flags", new byte[][] {raw(Tag.Message.SETUP, 13, ByteBuffer.allocate(16).put(8, (byte) 2).array(), 0, NONE)});
        cases.put("seccomp program: not 1 to 4096 instructions", new byte[][] {raw(Tag.Message.SETUP, 25, new byte[12], 0, NONE),
                raw(Tag.Message.SETUP, 25, new byte[8], 0, NONE)});
        cases.put("bytes after the end record", new byte[][] {raw(Tag.Message.SETUP, 0, NONE, 13, NONE)});
        cases.put("mount record: a string runs past its end", new byte[][] {
                raw(Tag.Message.SETUP, 21, ByteBuffer.allocate(20).put(16, bytes("/\0\0\0")).array(), 0, NONE)});
        cases.put("unknown mount kind", new byte[][] {
                raw(Tag.Message.SETUP, 21, ByteBuffer.allocate(22).order(ByteOrder.nativeOrder()).putInt(8, 11)
                        .put(16, bytes("\0/\0\0\0\0")).array(), 0, NONE)});
        cases.put("unknown kill rule", new byte[][] {raw(Tag.Message.SETUP, Tag.KILL_RULE.number, killRule(4, 0), 0, NONE),
                raw(Tag.Message.SETUP, Tag.KILL_RULE.number, killRule(-1, 0), 0, NONE)});
        cases.put("kill rule: reserved word not 0", new byte[][] {raw(Tag.Message.SETUP, Tag.KILL_RULE.number, killRule(0, 1), 0, NONE)});
        cases.put("a second kill rule", new byte[][] {raw(Tag.Message.SETUP, Tag.KILL_RULE.number, killRule(2, 0),
                Tag.KILL_RULE.number, killRule(2, 0), 0, NONE)});
        cases.put("record of the wrong size for its tag (kill rule)", new byte[][] {
                raw(Tag.Message.SETUP, Tag.KILL_RULE.number, new byte[8], 0, NONE)});
        for (Map.Entry<String, byte[][]> c : cases.entrySet()) {
            for (byte[] message : c.getValue()) {
                String kind = ByteBuffer.wrap(message).order(ByteOrder.nativeOrder()).getInt(8) == 1 ? "setup" : "exec";
                String why = c.getKey().replaceAll(" \\(.*\\)$", "");
                assertThat(helperReads(kind, message)).as(c.getKey()).startsWith("refused: " + why);
                assertThatThrownBy(() -> PlanCodec.decode(message)).as(c.getKey()).isInstanceOf(IllegalArgumentException.class);
            }
        }
        byte[] truncated = Arrays.copyOf(setupPlan().encode(), 100);
        assertThat(helperReads("setup", truncated)).startsWith("refused: body length does not match the message");
        assertThatThrownBy(() -> PlanCodec.decode(truncated)).isInstanceOf(IllegalArgumentException.class);
        assertThat(helperReads("exec", setupPlan().encode())).startsWith("refused: not an exec plan");
    }

    private static byte[] killRule(int rule, int reserved) {
        return ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putInt(rule).putInt(reserved).putLong(1_000_000_000L).array();
    }

    @Test
    void aKillRuleRoundTripsWithItsGrace() {
        for (LaunchPlan.KillRule rule : LaunchPlan.KillRule.values()) {
            byte[] bytes = new LaunchPlan().killRule(rule, 7).encode();
            assertThat(PlanCodec.decode(bytes).steps()).containsExactly(new Step.KillRule(rule, 7));
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder()).position(16);
            assertThat(new int[] {b.getInt(), b.getInt(), b.getInt(), b.getInt()}).containsExactly(61, 16, rule.code, 0);
            assertThat(b.getLong()).isEqualTo(7);
        }
        assertThatThrownBy(() -> new Step.KillRule(LaunchPlan.KillRule.INIT, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** The helper's own checks at the end of a setup plan: one kill rule, which fits the plan's other records. */
    @Test
    void theHelperRefusesASetupPlanWithoutAKillRuleOrWithOneThatContradictsIt() throws Exception {
        LaunchPlan.KillRule init = LaunchPlan.KillRule.INIT, program = LaunchPlan.KillRule.PROGRAM,
                session = LaunchPlan.KillRule.SESSION, pool = LaunchPlan.KillRule.POOL;
        Map<String, List<LaunchPlan>> cases = new LinkedHashMap<>();
        cases.put("no kill rule", List.of(new LaunchPlan().cloneFlags(0).exec(), new LaunchPlan().init(1, true).exec()));
        cases.put("kill rule INIT with a join or without an init", List.of(new LaunchPlan().killRule(init, 1).exec(),
                new LaunchPlan().killRule(init, 1).join(42, 1, LaunchPlan.CLONE_NEWPID).init(1, true).exec()));
        cases.put("kill rule PROGRAM without a join", List.of(new LaunchPlan().killRule(program, 0).init(1, true).exec()));
        cases.put("kill rule POOL without a pool run", List.of(new LaunchPlan().killRule(pool, 0).exec(),
                new LaunchPlan().killRule(session, 0).poolRun("@isolation-pool-ab-0").exec()));
        for (Map.Entry<String, List<LaunchPlan>> c : cases.entrySet()) {
            for (LaunchPlan plan : c.getValue()) {
                byte[] bytes = plan.encode();
                assertThat(PlanCodec.decode(bytes).steps()).as("Java's decoder reads it back").isEqualTo(plan.steps());
                assertThat(helperReads("setup", bytes)).as(c.getKey()).startsWith("refused: " + c.getKey());
            }
        }
        // and the rules each fit a plan of their own
        assertThat(helperReads("setup", new LaunchPlan().killRule(init, 1).init(1, true).exec().encode())).contains("kill_rule 0 grace_ns 1\n");
        assertThat(helperReads("setup", new LaunchPlan().killRule(program, 0).join(42, 1, LaunchPlan.CLONE_NEWPID).init(1, true).exec()
                .encode())).contains("kill_rule 1 grace_ns 0\n");
        assertThat(helperReads("setup", new LaunchPlan().killRule(session, 0).exec().encode())).contains("kill_rule 2 grace_ns 0\n");
        assertThat(helperReads("setup", new LaunchPlan().killRule(pool, 0).poolRun("@isolation-pool-ab-0").exec().encode()))
                .contains("kill_rule 3 grace_ns 0\n");
    }

    @Test
    void theEncoderRefusesNulAndStepsOfTheOtherMessage() {
        assertThatThrownBy(() -> LaunchPlan.forExec().arg("a\0b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LaunchPlan().arg("sh")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ARG");
        assertThatThrownBy(() -> LaunchPlan.forExec().cloneFlags(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CLONE_FLAGS");
        assertThatThrownBy(() -> LaunchPlan.forExec().noNewPrivs()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NO_NEW_PRIVS");
        assertThatThrownBy(() -> new LaunchPlan().noNewPrivs().mountProc()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a setup step (MOUNT_PROC) after a program step");
        assertThatThrownBy(() -> new LaunchPlan().exec().noNewPrivs()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("after exec");
        assertThat(new LaunchPlan().noNewPrivs().wallLimit(1).exec().runEnd(true).steps()).as("monitor records go anywhere")
                .containsExactly(new Step.NoNewPrivs(), new Step.WallLimit(1), new Step.Exec(), new Step.RunEnd(true));
    }
}
