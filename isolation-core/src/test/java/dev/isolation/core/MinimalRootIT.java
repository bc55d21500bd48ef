package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The minimal root: its {@code /tmp} is size-limited, and the programs it is made for run in it, {@code java} included. */
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
}
