package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library as a consumer on the module path meets it: a module that requires {@code
 * dev.isolation.core} compiles against the API packages, and runs a sandbox (jnr-ffi's bindings,
 * libseccomp's included) on this JDK and, where a JDK 22+ is installed (Temurin 25 on CI), there
 * too, with no warning once the README's flags are given (and the warnings without them, so that
 * the check can fail). The same for a consumer on the class path.
 */
@KernelTest
class ModulePathIT {
    /** The README's flags for Java 22+ on the module path and on the class path. */
    static final List<String> MODULE_PATH_FLAGS = List.of("--enable-native-access=org.jnrproject.jffi",
            "--sun-misc-unsafe-memory-access=allow");
    static final List<String> CLASS_PATH_FLAGS = List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");

    private static final String MAIN = "package consumer;\n"
            + "import dev.isolation.core.Outcome;\n"
            + "import dev.isolation.core.Sandbox;\n"
            + "public final class Main {\n"
            + "    public static void main(String[] args) {\n"
            + "        Outcome o = Sandbox.builder().pidNs().mountNs().netNs().build().run(\"sh\", \"-c\", \"echo sandboxed as pid $$\");\n"
            + "        System.out.print(o.stdoutText());\n"
            + "        System.out.println(o.status() + \" in module \" + Sandbox.class.getModule().getName());\n"
            + "    }\n"
            + "}\n";

    private static List<String> modulePath;
    private static Path consumer;

    @BeforeAll
    static void compileConsumer(@TempDir Path dir) throws Exception {
        modulePath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String e = entry.replace('\\', '/');
            if (e.contains("isolation-cgroups/target/") && !e.contains("test-classes") || e.contains("isolation-core/target/") && !e.contains("test-classes")
                    || e.contains("/com/github/jnr/") || e.contains("/org/ow2/asm/")
                    // the image readers' libraries: tar and gzip, zstd, JSON
                    || e.contains("/org/apache/commons/commons-compress/") || e.contains("/commons-io/commons-io/")
                    || e.contains("/org/apache/commons/commons-lang3/") || e.contains("/commons-codec/commons-codec/")
                    || e.contains("/com/github/luben/") || e.contains("/com/google/code/gson/")
                    || e.contains("/com/google/errorprone/")) {
                modulePath.add(entry);
            }
        }
        Path src = dir.resolve("src/consumer");
        Files.createDirectories(src);
        Files.writeString(dir.resolve("src/module-info.java"), "module consumer { requires dev.isolation.core; }\n");
        Files.writeString(src.resolve("Main.java"), MAIN);
        consumer = dir.resolve("out");
        String javac = Path.of(System.getProperty("java.home"), "bin", "javac").toString();
        Process p = new ProcessBuilder(javac, "--release", "17", "--module-path", String.join(File.pathSeparator, modulePath),
                "-d", consumer.toString(), dir.resolve("src/module-info.java").toString(), src.resolve("Main.java").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("javac of the consumer module: " + out).isZero();
    }

    @Test
    @Timeout(60)
    void eachModuleExportsItsApiPackagesAndTheBindingPackagesOnly() {
        ModuleDescriptor core = descriptor("dev.isolation.core");
        assertThat(core.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source))
                .containsExactlyInAnyOrder("dev.isolation.core", "dev.isolation.core.junit", "dev.isolation.core.image", "dev.isolation.core.internal.linux",
                        "dev.isolation.core.internal.seccomp");
        assertThat(core.packages()).contains("dev.isolation.core.internal.launch"); // there, and not exported
        ModuleDescriptor cgroups = descriptor("dev.isolation.cgroups");
        assertThat(cgroups.exports().stream().map(e -> e.source() + (e.isQualified() ? " to " + e.targets() : "")))
                .containsExactlyInAnyOrder("dev.isolation.cgroups", "dev.isolation.cgroups.internal to [dev.isolation.core]");
        assertThat(core.requires().stream().filter(r -> r.name().equals("org.junit.jupiter.api")).map(ModuleDescriptor.Requires::modifiers))
                .containsExactly(Set.of(ModuleDescriptor.Requires.Modifier.STATIC));
    }

    @Test
    @Timeout(120)
    void aConsumerOnTheModulePathRunsASandbox() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Result r = run(java, List.of(), true);
        // a pid of the sandbox's own pid namespace (its init is 1): the sandbox really ran
        assertThat(r.stdout).as(r.toString()).matches("sandboxed as pid [12]\nOK in module dev.isolation.core\n");
    }

    @Test
    @Timeout(180)
    void onJava22AndLaterTheDocumentedFlagsLeaveNoWarning() throws Exception {
        Optional<Path> jdk = newerJdk();
        Skip.unless(jdk.isPresent(), "no JDK 22 or later in /usr/lib/jvm (CI installs Temurin 25 there)");
        String java = jdk.get().resolve("bin/java").toString();
        for (boolean onModulePath : new boolean[] {true, false}) {
            String where = onModulePath ? "module path" : "class path";
            Result bare = run(java, List.of(), onModulePath);
            assertThat(bare.stdout).as(where + ": " + bare).matches("(?s)sandboxed as pid [12]\nOK in module .*");
            assertThat(bare.stderr).as("without the flags, on the " + where + " (the check can fail)").contains("WARNING");
            Result flagged = run(java, onModulePath ? MODULE_PATH_FLAGS : CLASS_PATH_FLAGS, onModulePath);
            assertThat(flagged.stdout).as(where + ": " + flagged).matches("(?s)sandboxed as pid [12]\nOK in module .*");
            assertThat(flagged.stderr).as("with the README's flags, on the " + where).isEmpty();
        }
    }

    /** A JDK of release 22 or later beside this one, the newest. */
    static Optional<Path> newerJdk() throws Exception {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(jvms)) {
            return dirs.filter(d -> Files.isExecutable(d.resolve("bin/java")) && Files.exists(d.resolve("release")))
                    .filter(d -> feature(d) >= 22).max(java.util.Comparator.comparingInt(ModulePathIT::feature));
        }
    }

    private static int feature(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(v.split("[.+-]")[0]);
                }
            }
        } catch (Exception e) {
            // not a JDK we can use
        }
        return 0;
    }

    private static ModuleDescriptor descriptor(String name) {
        Path[] entries = modulePath.stream().map(Path::of).toArray(Path[]::new);
        return ModuleFinder.of(entries).find(name).orElseThrow(() -> new AssertionError(name + " on " + modulePath)).descriptor();
    }

    private record Result(String stdout, String stderr, int status) {}

    private static Result run(String java, List<String> flags, boolean onModulePath) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(flags);
        if (onModulePath) {
            cmd.addAll(List.of("--module-path", consumer + File.pathSeparator + String.join(File.pathSeparator, modulePath),
                    "-m", "consumer/consumer.Main"));
        } else {
            // the consumer's class on the class path, without its module-info
            List<String> cp = new ArrayList<>(modulePath);
            cp.add(0, consumer.toString());
            cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), "consumer.Main"));
        }
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        java.util.concurrent.Future<String> err = Bounded.drain(p.getErrorStream());
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Result(out, Bounded.get(err, "stderr"), p.exitValue());
    }
}
