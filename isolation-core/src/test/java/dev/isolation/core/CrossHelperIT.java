package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.internal.launch.LaunchPlan;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The aarch64 helper of the jar (cross-built by {@code src/main/c/build.sh}) runs: under {@code
 * qemu-aarch64-static} (Debian's qemu-user-static) it reads the JVM's protocol, decodes a setup
 * plan and an exec plan, and reports the failure of the exec step the way the library reads it
 * (errno, call, argument). The x86_64 one is what every other test runs.
 */
@KernelTest
class CrossHelperIT {
    private static final String QEMU = "/usr/bin/qemu-aarch64-static";
    private static final int REPORT_ERROR = 1;

    @Test
    @Timeout(120)
    void aarch64HelperDecodesAPlanUnderQemuAndReportsAClearFailure(@TempDir Path dir) throws Exception {
        Skip.unlessArchitecture("amd64", "the aarch64 helper is cross-built on x86_64 and run there under qemu-user");
        Path helper = dir.resolve("isolation-helper-aarch64");
        try (InputStream in = CrossHelperIT.class.getClassLoader()
                .getResourceAsStream("dev/isolation/core/internal/launch/native/linux-aarch64/isolation-helper")) {
            Skip.unless(in != null, "no linux-aarch64/isolation-helper in the jar: build.sh found no aarch64-linux-gnu-gcc"
                    + " (apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross)");
            Files.write(helper, in.readAllBytes());
        }
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwx------"));
        Skip.unless(Files.isExecutable(Path.of(QEMU)), QEMU + " is missing (apt-get install -y qemu-user-static)");

        // a plan that is not one: the decoder refuses it, naming why
        assertThat(run(helper, "not a launch plan at all".getBytes(StandardCharsets.UTF_8)))
                .containsExactly("plan(\"magic or version mismatch\"): errno 71"); // EPROTO
        // a setup plan and an exec plan: decoded, then the first step this emulator refuses is reported, as on a
        // kernel that refuses it; qemu-user 7.2 has no PR_SET_CHILD_SUBREAPER, a later one fails at the exec
        String missing = "/nonexistent/isolation-cross-smoke-program";
        byte[] setup = new LaunchPlan().cloneFlags(0).runEnd(true).killRule(LaunchPlan.KillRule.SESSION, 0).exec().encode();
        byte[] exec = LaunchPlan.forExec().arg(missing).execFile(missing).execPath(missing).encode();
        byte[] both = new byte[setup.length + exec.length];
        System.arraycopy(setup, 0, both, 0, setup.length);
        System.arraycopy(exec, 0, both, setup.length, exec.length);
        List<String> errors = run(helper, both);
        System.out.println("the aarch64 helper under qemu reported: " + errors);
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).isIn("prctl(\"PR_SET_CHILD_SUBREAPER\"): errno 22", "execve(\"" + missing + "\"): errno 2");
    }

    /** Runs the helper under qemu with {@code plans} as its plan stream; the errors it reported. */
    private static List<String> run(Path helper, byte[] plans) throws Exception {
        // the helper's protocol: plans on the plan descriptor (3), reports on the status descriptor (4), commands on
        // the control descriptor (5): here a FIFO opened for reading and writing, so never at end of file (the JVM
        // is there) and never written
        Path control = helper.resolveSibling("control-" + System.nanoTime());
        Process mkfifo = new ProcessBuilder("mkfifo", "-m", "600", control.toString()).start();
        assertThat(mkfifo.waitFor()).as("mkfifo").isZero();
        Process p = new ProcessBuilder("sh", "-c", "exec \"$0\" \"$1\" 3 4 5 3<&0 4>&1 5<>\"$2\" </dev/null >/dev/null", QEMU,
                helper.toString(), control.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            try (OutputStream in = p.getOutputStream()) {
                in.write(plans);
            }
            byte[] reports = readReports(p.getInputStream());
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the helper ended").isTrue();
            return errors(reports);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The status stream until the helper closes it (it ends after reporting the failure). */
    private static byte[] readReports(InputStream in) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) > 0 && out.size() < 1 << 20) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** Each error record as {@code call("argument"): errno N}: {@code type, length, errno, call\0argument\0}. */
    private static List<String> errors(byte[] reports) {
        ByteBuffer b = ByteBuffer.wrap(reports).order(ByteOrder.LITTLE_ENDIAN);
        List<String> out = new ArrayList<>();
        while (b.remaining() >= 8) {
            int type = b.getInt();
            int len = b.getInt();
            assertThat(len).as("record length").isBetween(0, b.remaining());
            byte[] rec = new byte[len];
            b.get(rec);
            if (type == REPORT_ERROR) {
                int errno = ByteBuffer.wrap(rec, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                String[] parts = new String(rec, 4, len - 4, StandardCharsets.UTF_8).split("\0", -1);
                out.add(parts[0] + "(\"" + (parts.length > 1 ? parts[1] : "") + "\"): errno " + errno);
            }
        }
        return out;
    }
}
