package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the native helper runs from, seen from the host: a sealed memfd (no file an attacker could
 * replace), or, where memfds cannot be executed or {@code -Disolation.helper=cache} says so, a file
 * named by its SHA-256 in a private cache directory, rewritten if its content is not the helper's.
 */
@KernelTest
class HelperBinaryIT {
    /** The bytes the library runs: the helper resource of this build. */
    private static byte[] helperResource() throws Exception {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            default -> System.getProperty("os.arch");
        };
        try (InputStream in = HelperBinaryIT.class.getClassLoader()
                .getResourceAsStream("dev/isolation/core/internal/launch/native/linux-" + arch + "/isolation-helper")) {
            assertThat(in).as("the helper resource").isNotNull();
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    @Timeout(60)
    void byDefaultTheHelperRunsFromASealedMemfd() throws Exception {
        try (IsolatedProcess p = Sandbox.builder().build().start("sh", "-c", "echo up; read x")) {
            assertThat(Bounded.line(new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())))).isEqualTo("up");
            long monitor = Probe.parentOf(p.pid()).orElseThrow();
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + monitor + "/exe")).toString())
                    .isEqualTo("/memfd:isolation-helper (deleted)");
            p.getOutputStream().close();
            Bounded.get(p.outcome(), "the program's end");
        }
        // the JVM's descriptor of it: sealed against writes, shrinking, growing and further seals, with the helper's bytes
        List<Path> memfds = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals("/memfd:isolation-helper (deleted)")) {
                        memfds.add(fd);
                    }
                } catch (java.io.IOException gone) {
                    // closed while we looked
                }
            }
        }
        assertThat(memfds).hasSize(1);
        Path self = Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "fd", memfds.get(0).getFileName().toString());
        Process seals = new ProcessBuilder("python3", "-c", "import fcntl, os, sys\n"
                + "fd = os.open(sys.argv[1], os.O_RDWR)\n"
                + "print(fcntl.fcntl(fd, 1034))\n" // F_GET_SEALS
                + "try:\n    os.write(fd, b'x'); print('written')\nexcept OSError as e:\n    print('write', e.errno)\n",
                self.toString()).redirectErrorStream(true).start();
        java.util.concurrent.Future<String> out = Bounded.drain(seals.getInputStream());
        assertThat(seals.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // F_SEAL_SEAL 1 | F_SEAL_SHRINK 2 | F_SEAL_GROW 4 | F_SEAL_WRITE 8 (and F_SEAL_EXEC 32 on kernels that have it)
        List<String> answer = Bounded.get(out, "the seals").lines().toList();
        assertThat(answer).hasSize(2);
        assertThat(Integer.parseInt(answer.get(0)) & 15).as("seals").isEqualTo(15);
        assertThat(answer.get(1)).isEqualTo("write 1"); // EPERM
        assertThat(Files.readAllBytes(self)).isEqualTo(helperResource());
    }

    /** Runs {@link Holder} in a JVM of its own; returns the path its sandbox's monitor runs from. */
    private static String helperOfAJvm(Path cacheHome, List<String> prefix, String... properties) throws Exception {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JavaCommand.flags());
        command.addAll(List.of(properties));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Holder.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("XDG_CACHE_HOME", cacheHome.toString());
        Process jvm = pb.start();
        java.util.concurrent.Future<String> out = Bounded.drain(jvm.getInputStream());
        try {
            assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).as("the JVM ended").isTrue();
        } finally {
            jvm.destroyForcibly();
        }
        List<String> lines = Bounded.get(out, "its output").lines().toList();
        assertThat(lines).as("%s", lines).anyMatch(l -> l.startsWith("helper "));
        return lines.stream().filter(l -> l.startsWith("helper ")).findFirst().orElseThrow().substring(7);
    }

    /** The child JVM: starts a sandbox and prints what its monitor executes. */
    static final class Holder {
        public static void main(String[] args) throws Exception {
            try (IsolatedProcess p = Sandbox.builder().build().start("sh", "-c", "echo up; read x")) {
                new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
                long monitor = ProcessHandle.of(p.pid()).flatMap(ProcessHandle::parent).orElseThrow().pid();
                System.out.println("helper " + Files.readSymbolicLink(Path.of("/proc/" + monitor + "/exe")));
                p.getOutputStream().close();
                p.outcome().get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    @Timeout(180)
    void theCacheFileIsNamedAndCheckedByItsSha256InAPrivateDirectory(@TempDir Path cacheHome) throws Exception {
        byte[] helper = helperResource();
        String hash = sha256(helper);
        Path dir = cacheHome.resolve("isolation");
        Path file = dir.resolve("isolation-helper-" + hash.substring(0, 32));
        // a file of that name planted with other content, as an attacker with the user's rights could
        Files.createDirectories(dir);
        Files.writeString(file, "#!/bin/sh\necho planted\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r-x------"));

        assertThat(helperOfAJvm(cacheHome, List.of(), "-Disolation.helper=cache")).isEqualTo(file.toString());
        assertThat(sha256(Files.readAllBytes(file))).as("the planted file was replaced by the helper").isEqualTo(hash);
        assertThat(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS)).isEqualTo(PosixFilePermissions.fromString("r-x------"));
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(file.getFileName().toString());
        }
    }

    @Test
    @Timeout(300)
    void whereMemfdsMayNotBeExecutedTheHelperRunsFromTheCache(@TempDir Path cacheHome) throws Exception {
        // vm.memfd_noexec (Linux 6.3+) is per pid namespace: set in a pid namespace of the test's own, never the host's.
        // 1: memfds are not executable unless created with MFD_EXEC; 2: MFD_EXEC is refused too.
        Path sysctl = Path.of("/proc/sys/vm/memfd_noexec");
        Skip.unless(Files.exists(sysctl), "a kernel with vm.memfd_noexec (Linux 6.3+)");
        String before = Files.readString(sysctl);
        Path cached = cacheHome.resolve("isolation").resolve("isolation-helper-" + sha256(helperResource()).substring(0, 32));
        for (Map.Entry<String, String> c : Map.of("1", "/memfd:isolation-helper (deleted)", "2", cached.toString()).entrySet()) {
            List<String> inPidNs = List.of("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
                    "echo " + c.getKey() + " > /proc/sys/vm/memfd_noexec && exec \"$@\"", "sh");
            assertThat(helperOfAJvm(cacheHome, inPidNs)).as("vm.memfd_noexec=%s", c.getKey()).isEqualTo(c.getValue());
        }
        assertThat(Files.readString(sysctl)).as("the host's vm.memfd_noexec").isEqualTo(before);
        assertThat(new File(cached.toString())).exists();
    }
}
