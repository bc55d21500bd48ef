package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The images of {@code src/test/resources/images/build-tool-images.sh}, made by umoci and skopeo
 * (tools nobody here wrote), built once per build into {@code target/tool-images}.
 */
public final class ToolImages {
    public static final Path DIR = Path.of("target/tool-images").toAbsolutePath();
    private static boolean built;

    private ToolImages() {}

    /** Builds the images if this JVM has not; fails (or skips where allowed) without umoci, skopeo, busybox or gcc. */
    public static synchronized Path build() throws IOException, InterruptedException {
        for (String tool : List.of("/usr/bin/umoci", "/usr/bin/skopeo", "/bin/busybox", "/usr/bin/gcc", "/usr/bin/strace")) {
            RealKernel.skipUnless(Files.isExecutable(Path.of(tool)), tool + " (installed by .ci/run)");
        }
        if (!built) {
            List<String> cmd = new ArrayList<>(List.of("sh", Path.of("src/test/resources/images/build-tool-images.sh").toAbsolutePath().toString(),
                    DIR.toString()));
            try (var solutions = Files.list(Path.of("sample-problem/solutions"))) {
                solutions.filter(p -> p.toString().endsWith(".c")).map(p -> p.toAbsolutePath().toString()).sorted().forEach(cmd::add);
            }
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(new String(out)).isZero();
            built = true;
        }
        return DIR;
    }
}
