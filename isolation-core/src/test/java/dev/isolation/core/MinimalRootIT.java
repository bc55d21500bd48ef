package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The minimal root: its {@code /tmp} is size-limited, the programs it is made for run in it
 * ({@code java} included), and a read-only bind is read-only with every mount below its source.
 */
@KernelTest
class MinimalRootIT {
    private static final Sandbox BOX = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().minimalRoot().build();

    /** Writes {@code mib} MiB to /tmp/f; prints the status of the write and the size written. */
    private static List<String> fillTmp(Sandbox s, int mib) throws Exception {
        Bounded.Result r = Bounded.run(s, "sh", "-c", "head -c " + mib + "M /dev/zero > /tmp/f; echo $?; stat -c %s /tmp/f");
        assertThat(r.outcome().status()).as("%s %s", r.outcome(), r.err()).isEqualTo(Outcome.Status.OK);
        return r.out().lines().toList();
    }

    @Test
    @Timeout(120)
    void tmpHoldsSixtyFourMibByDefaultAndTmpSizeChangesIt() throws Exception {
        assertThat(fillTmp(BOX, 60)).containsExactly("0", Long.toString(60L << 20));
        List<String> full = fillTmp(BOX, 65);
        assertThat(full.get(0)).as("the write past 64 MiB").isNotEqualTo("0");
        assertThat(Long.parseLong(full.get(1))).isEqualTo(64L << 20);
        Sandbox small = BOX.toBuilder().tmpSize(ByteSize.mb(1)).build();
        List<String> smallFull = fillTmp(small, 2);
        assertThat(smallFull.get(0)).isNotEqualTo("0");
        assertThat(Long.parseLong(smallFull.get(1))).isEqualTo(1L << 20);
        assertThat(Bounded.ok(small, "sh", "-c", "{ head -c 2M /dev/zero > /tmp/f; } 2>&1 || true")).contains("No space left on device");
    }

    @Test
    @Timeout(180)
    void javaRunsInsideTheMinimalRoot(@TempDir Path dir) throws Exception {
        Skip.unless(Files.isExecutable(Path.of("/usr/bin/java")), "a java on the host's PATH in /usr/bin");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve("Hello.java"), "public class Hello { public static void main(String[] a) {"
                + " System.out.println(\"hello from \" + System.getProperty(\"user.name\") + \" in \" + System.getProperty(\"user.dir\")); } }\n");
        Files.setPosixFilePermissions(dir.resolve("Hello.java"), PosixFilePermissions.fromString("rw-r--r--"));
        Sandbox s = BOX.toBuilder().bind(dir, "/src").build();
        // the source launcher: the JVM starts, compiles in memory, and runs the class; the stub /etc/passwd names the user
        ProcessBuilder pb = new ProcessBuilder("java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "/src/Hello.java")
                .directory(new java.io.File("/tmp"));
        Bounded.Result r = Bounded.run(s, pb);
        assertThat(r.outcome().status()).as("%s %s", r.outcome(), r.err()).isEqualTo(Outcome.Status.OK);
        assertThat(r.out()).matches("hello from \\S+ in /tmp\n");
    }

    @Test
    @Timeout(180)
    void aReadOnlyBindIsReadOnlyWithEveryMountBelowIt(@TempDir Path dir) throws Exception {
        // A host directory with a tmpfs mounted below it, in a mount namespace of the test's own (the host's mount
        // table is untouched), where a JVM binds the directory read-only into a sandbox: writing into the mount below
        // fails there, while the host side of it is writable.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path sub = Files.createDirectory(dir.resolve("sub"));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs -o mode=1777 isolation-below \"$3\" && touch \"$3\"/host-can-write && exec \"$0\" " + JavaCommand.shellFlags() + " -cp \"$1\" \"$2\" \"$4\"",
                javaBin, System.getProperty("java.class.path"), BindsReadOnly.class.getName(), sub.toString(), dir.toString())
                .redirectErrorStream(true).start();
        Future<String> out = Bounded.drain(jvm.getInputStream());
        try {
            assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).as("the JVM ended").isTrue();
        } finally {
            jvm.destroyForcibly();
        }
        List<String> lines = Bounded.get(out, "its output").lines().toList();
        assertThat(lines).as(String.join("\n", lines)).containsExactly("host-can-write", "1", "Read-only file system");
        assertThat(sub).isEmptyDirectory(); // the tmpfs was only ever in that mount namespace
    }

    /** The JVM of {@link #aReadOnlyBindIsReadOnlyWithEveryMountBelowIt}: binds args[0] at /data and writes below it. */
    static final class BindsReadOnly {
        public static void main(String[] args) throws Exception {
            Sandbox s = BOX.toBuilder().runAs(0, 0).bind(Path.of(args[0]), "/data").build();
            Outcome o = s.run(new ProcessBuilder("sh", "-c", "ls /data/sub; touch /data/sub/sandbox-wrote; echo $?"), new byte[0]);
            System.out.print(o.stdoutText());
            System.out.println(o.stderrText().contains("Read-only file system") ? "Read-only file system" : o.stderrText());
        }
    }
}
