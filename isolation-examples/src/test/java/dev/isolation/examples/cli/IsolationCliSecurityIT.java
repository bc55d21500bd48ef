package dev.isolation.examples.cli;

import dev.isolation.examples.cli.IsolationJar.Result;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.examples.RealKernel;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built tool's security options on the real kernel: the minimal root hides the host, binds are
 * read-only unless asked, the program runs as an unprivileged uid of its own without capabilities, the seccomp filter and
 * resource limits hold, and a user namespace maps ids as told.
 */
class IsolationCliSecurityIT {
    /** 128 + SIGKILL: the monitor, told of a denied system call by the seccomp filter, kills the program. */
    private static final int KILLED_BY_SECCOMP = 137;

    @TempDir
    Path dir;

    @BeforeAll
    static void requireKernelAndJar() {
        RealKernel.require();
        IsolationJar.requireBuilt();
    }


    private Result isolation(String... args) throws IOException, InterruptedException {
        return IsolationJar.run(dir, args);
    }

    /** A directory of the test's own with these permissions, which the sandbox's unprivileged uid may need. */
    private Path directory(String name, String permissions) throws IOException {
        Path d = Files.createDirectory(dir.resolve(name));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString(permissions));
        return d;
    }

    @Test
    @Timeout(120)
    void mountGivesAMinimalRootWithoutTheHostsSecretsAndTheProgramRunsAsNobody() throws Exception {
        Result r = isolation("run", "--pid", "--mount", "--", "sh", "-c", "id -u; ls /; cat /etc/shadow");

        List<String> lines = r.stdout().lines().toList();
        // a uid of the sandbox's own (from 2130706432 on), not the host's nobody (65534)
        assertThat(Long.parseLong(lines.get(0))).as("uid").isBetween(2130706432L, 2130706432L + 65535);
        assertThat(lines).as("ls /").contains("usr", "bin", "etc", "proc", "tmp", "dev").doesNotContain("root", "home", "var");
        assertThat(r.stderr()).as("cat's complaint").contains("/etc/shadow", "No such file or directory");
        assertThat(r.status()).as("cat's status").isEqualTo(1);
    }

    @Test
    @Timeout(120)
    void bindIsReadableButReadOnlyAndTheHostFileStaysUnchanged() throws Exception {
        Path data = directory("data", "rwxr-xr-x");
        Path file = Files.writeString(data.resolve("file"), "from the host\n");
        // writable by anyone: only the read-only mount can stop the write
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));

        Result r = isolation("run", "--mount", "--bind", data + ":/data", "--",
                "sh", "-c", "cat /data/file; echo x > /data/file");

        assertThat(r.stdout()).isEqualTo("from the host\n");
        assertThat(r.stderr()).contains("Read-only file system");
        assertThat(r.status()).isNotZero();
        assertThat(file).hasContent("from the host");
    }

    @Test
    @Timeout(120)
    void writableBindLetsTheProgramWriteToTheHost() throws Exception {
        Path data = directory("data", "rwxrwxrwx");
        Result r = isolation("run", "--mount", "--bind-rw", data + ":/data", "--", "sh", "-c", "echo written > /data/new");

        assertThat(r.stderr()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(data.resolve("new")).hasContent("written");
    }

    @Test
    @Timeout(120)
    void tmpfsIsWritableUpToItsSizeAndNoexecForbidsRunningFromIt() throws Exception {
        Result full = isolation("run", "--mount", "--tmpfs", "/scratch:1M", "--",
                "sh", "-c", "echo hi > /scratch/small && cat /scratch/small && head -c 2000000 /dev/zero > /scratch/big");
        assertThat(full.stdout()).isEqualTo("hi\n");
        assertThat(full.stderr()).contains("No space left on device");
        assertThat(full.status()).isNotZero();

        String copyAndRun = "cp /bin/true /scratch/t && /scratch/t && echo ran";
        Result exec = isolation("run", "--mount", "--tmpfs", "/scratch:8M", "--", "sh", "-c", copyAndRun);
        assertThat(exec.stdout()).isEqualTo("ran\n");
        assertThat(exec.status()).isZero();

        Result noexec = isolation("run", "--mount", "--tmpfs", "/scratch:8M", "--noexec", "/scratch", "--", "sh", "-c", copyAndRun);
        assertThat(noexec.stdout()).isEmpty();
        assertThat(noexec.stderr()).contains("Permission denied");
        assertThat(noexec.status()).as("the shell's status for a program it cannot execute").isEqualTo(126);
    }

    @Test
    @Timeout(120)
    void strictSeccompRunsAnOrdinaryProgramAndTheReportNamesModeAndIds() throws Exception {
        Path json = dir.resolve("strict.json");
        Result r = isolation("run", "--seccomp", "strict", "--uid", "1000", "--json", json.toString(), "--", "/bin/true");

        assertThat(r.stderr()).isEmpty();
        assertThat(r.status()).isZero();
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("seccomp").getAsString()).isEqualTo("strict");
        assertThat(j.get("uid").getAsInt()).isEqualTo(1000);
        assertThat(j.get("gid").getAsInt()).as("the same number as --uid").isEqualTo(1000);
    }

    @Test
    @Timeout(120)
    void defaultSeccompKillsAProgramThatCreatesANamespace() throws Exception {
        Path json = dir.resolve("default.json");
        Result r = isolation("run", "--seccomp", "default", "--json", json.toString(), "--", "sh", "-c", "unshare -U true");

        assertThat(r.status()).as("128 + SIGKILL").isEqualTo(KILLED_BY_SECCOMP);
        JsonObject j = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertThat(j.get("status").getAsString()).isEqualTo("RESTRICTED_SYSCALL");
        assertThat(j.get("message").getAsString()).startsWith("forbidden system call");
        assertThat(j.get("seccomp").getAsString()).isEqualTo("default");
        assertThat(j.get("uid").isJsonNull()).isTrue();
    }

    @Test
    @Timeout(120)
    void seccompDenyKillsAProgramMakingThatCall() throws Exception {
        assertThat(isolation("run", "--", "uname").status()).isZero();
        assertThat(isolation("run", "--seccomp-deny", "uname", "--", "uname").status()).isEqualTo(KILLED_BY_SECCOMP);
    }

    @Test
    @Timeout(120)
    void rlimitSetsSoftAndHardLimit() throws Exception {
        Result r = isolation("run", "--rlimit", "nofile=64", "--rlimit", "stack=unlimited", "--",
                "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -s");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout()).isEqualTo("64\n64\nunlimited\n");
    }

    @Test
    @Timeout(120)
    void uidMapMakesTheProgramRootOfItsUserNamespace() throws Exception {
        // not the default map (0 to 65534 for a root JVM): an ignored --map-uid would show 65534
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // for 54321 to pass through
        Path out = directory("out", "rwxrwxrwx");
        Result r = isolation("run", "--user", "--map-uid", "0:54321:1", "--map-gid", "0:54322:1", "--",
                "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch " + out + "/made-inside");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.status()).isZero();
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.subList(0, 2)).as("ids inside").containsExactly("0", "0");
        assertThat(lines.get(2).trim().split("\\s+")).as("uid_map").containsExactly("0", "54321", "1");
        assertThat(lines.get(3).trim().split("\\s+")).as("gid_map").containsExactly("0", "54322", "1");
        assertThat(Files.getAttribute(out.resolve("made-inside"), "unix:uid")).as("owner on the host").isEqualTo(54321);
        assertThat(Files.getAttribute(out.resolve("made-inside"), "unix:gid")).as("group on the host").isEqualTo(54322);
    }

    @Test
    @Timeout(120)
    void uidZeroWithoutAUserNamespaceHasNoCapabilitiesUnlessKept() throws Exception {
        // uid 0 needs a pid namespace (it could signal its monitor) and a mount namespace (the cgroup files)
        Result refused = isolation("run", "--uid", "0", "--", "true");
        assertThat(refused.status()).isEqualTo(IsolationCli.ISOLATION_FAILED);
        assertThat(refused.stderr()).contains("add --pid");

        Result none = isolation("run", "--pid", "--mount", "--uid", "0", "--", "sh", "-c", "id -u; grep CapEff /proc/self/status");
        assertThat(none.stdout()).isEqualTo("0\nCapEff:\t0000000000000000\n");

        Result kept = isolation("run", "--pid", "--mount", "--uid", "0", "--gid", "0", "--keep-cap", "CAP_CHOWN", "--",
                "grep", "CapEff", "/proc/self/status");
        assertThat(kept.stdout()).as("CAP_CHOWN is bit 0").isEqualTo("CapEff:\t0000000000000001\n");

        // either spelling names the capability: sys_chroot is bit 18, CAP_NET_BIND_SERVICE bit 10
        Result names = isolation("run", "--pid", "--mount", "--uid", "0", "--gid", "0", "--keep-cap", "sys_chroot",
                "--keep-cap", "CAP_NET_BIND_SERVICE", "--", "grep", "CapEff", "/proc/self/status");
        assertThat(names.stdout()).as(names.stderr()).isEqualTo("CapEff:\t0000000000040400\n");
    }
}
