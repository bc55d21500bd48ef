package dev.isolation.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.examples.RealKernel;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI jar on Java 22+: its manifest enables native access for the class path, and the tool
 * turns jffi's sun.misc.Unsafe use off, so that {@code java -jar isolation.jar run ...} prints the
 * program's output and nothing else (Java 25 printed 8 warning lines).
 */
class IsolationJarJava25IT {
    @BeforeAll
    static void requireKernel() {
        RealKernel.require();
        IsolationJar.requireBuilt();
    }

    @Test
    @Timeout(60)
    void theManifestEnablesNativeAccess() throws Exception {
        try (JarFile jar = new JarFile(IsolationJar.JAR.toFile())) {
            assertThat(jar.getManifest().getMainAttributes().getValue("Enable-Native-Access")).isEqualTo("ALL-UNNAMED");
        }
    }

    @Test
    @Timeout(120)
    void aRunOnJava25PrintsNoWarning(@TempDir Path dir) throws Exception {
        Optional<Path> jdk = newerJdk();
        RealKernel.skipUnless(jdk.isPresent(), "no JDK 22 or later in /usr/lib/jvm (CI installs Temurin 25 there)");
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        Process p = new ProcessBuilder(jdk.get().resolve("bin/java").toString(), "-jar", IsolationJar.JAR.toString(),
                "run", "--", "echo", "hello from java 25")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(out)).isEqualTo("hello from java 25\n");
        assertThat(Files.readString(err)).as("stderr on " + jdk.get()).isEmpty();
        assertThat(p.exitValue()).isZero();
    }

    static Optional<Path> newerJdk() throws Exception {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(jvms)) {
            return dirs.filter(d -> Files.isExecutable(d.resolve("bin/java"))).filter(d -> feature(d) >= 22)
                    .max(Comparator.comparingInt(IsolationJarJava25IT::feature));
        }
    }

    private static int feature(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    return Integer.parseInt(line.substring(13).replace("\"", "").split("[.+-]")[0]);
                }
            }
        } catch (Exception e) {
            // not a JDK
        }
        return 0;
    }
}
