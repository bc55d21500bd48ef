package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupController;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.image.OciImage;
import dev.isolation.examples.cli.IsolationCli;
import dev.isolation.examples.judge.Judge;
import dev.isolation.examples.judge.Verdict;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Images made by umoci and converted by skopeo, tools nobody here wrote: three layers (a busybox
 * root; a deleted file and a replaced directory; a C toolchain from the host's /usr), read as an
 * OCI layout, a docker-archive, an OCI archive and a layout converted back, all to the same
 * unpacked layers; a C program compiled and run inside; {@code isolation run --image} and {@code
 * isolation judge --image}.
 */
class ImageToolsIT {
    private static Path images;
    private static Path cache;
    private static String previousCache;

    @BeforeAll
    static void build() throws Exception {
        RealKernel.require();
        images = ToolImages.build();
        cache = Files.createTempDirectory("isolation-image-cache");
        previousCache = System.setProperty("isolation.imageCache", cache.toString()); // the CLI's and the judge's default cache
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (previousCache == null) {
            System.clearProperty("isolation.imageCache");
        } else {
            System.setProperty("isolation.imageCache", previousCache);
        }
        if (cache != null) {
            try (Stream<Path> all = Files.walk(cache)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static OciImage open(String name, String tag) throws IOException {
        return OciImage.reader().cache(cache).open(images.resolve(name), tag);
    }

    @Test
    @Timeout(300)
    void theUmociImageHasItsDeletionsAndReplacedDirectoryAndItsCompilerWorks() throws Exception {
        OciImage image = open("oci", "v3");
        assertThat(image.layerDirectories()).hasSize(3);
        assertThat(image.workingDir()).contains("/opt/app");
        Sandbox box = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().image(image).build();
        Outcome byDefault = box.run();
        assertThat(byDefault.stdoutText()).as("the image's Cmd in its WorkingDir: %s %s", byDefault, byDefault.stderrText()).isEqualTo("v2\n");
        Outcome o = box.run("sh", "-c", "ls -A /opt/app; test -e /etc/motd && echo motd; cd /tmp && printf '#include <stdio.h>\\n"
                + "int main(void){puts(\"compiled inside\");return 0;}\\n' > t.c && gcc -O2 -o t t.c && ./t");
        assertThat(o.stdoutText()).as("%s %s", o, o.stderrText()).isEqualTo("config\ncompiled inside\n");
    }

    @Test
    @Timeout(300)
    void skopeosConversionsGiveTheSameLayers() throws Exception {
        OciImage oci = open("oci", "v3");
        for (OciImage other : List.of(open("docker.tar", "v3"), open("oci.tar", "v3"), open("back", "v3"))) {
            assertThat(other.diffIds()).as(other.reference()).isEqualTo(oci.diffIds());
            assertThat(other.layerDirectories()).as("unpacked once, shared: %s", other.reference()).isEqualTo(oci.layerDirectories());
            Outcome o = Sandbox.builder().pidNs().mountNs().netNs().image(other).build().run("cat", "/opt/app/config");
            assertThat(o.stdoutText()).as("%s %s", o, o.stderrText()).isEqualTo("v2\n");
        }
    }

    @Test
    @Timeout(300)
    void theCommandLineRunsOnAnImage() throws IOException {
        Path stdout = cache.resolveSibling(cache.getFileName() + ".stdout");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        try {
            int status = IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), "run", "--pid", "--mount", "--net",
                    "--uid", "0", "--gid", "0", "--stdout", stdout.toString(), "--image", images.resolve("docker.tar") + ":v3", "--",
                    "sh", "-c", "cat /opt/app/config; echo written > /opt/app/config");
            assertThat(status).as("stderr: %s", err).isZero();
            assertThat(stdout).hasContent("v2");
            status = IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), "run", "--pid", "--mount",
                    "--stdout", stdout.toString(), "--image", images.resolve("oci") + ":v3", "--", "cat", "/opt/app/config");
            assertThat(status).as("stderr: %s", err).isZero();
            assertThat(stdout).as("the first run's write vanished with it").hasContent("v2");
        } finally {
            Files.deleteIfExists(stdout);
        }
        StringWriter bad = new StringWriter();
        assertThat(IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(bad, true), "run", "--pid", "--mount",
                "--image", images.resolve("oci") + ":nope", "--", "true")).isNotZero();
        assertThat(bad.toString()).contains("no manifest tagged \"nope\"");
    }

    @Test
    @Timeout(300)
    void theJudgeJudgesTheSampleProblemInsideTheImage() throws Exception {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPUACCT);
        Path problem = Path.of("sample-problem");
        Judge.Limits limits = Judge.Limits.of(Duration.ofSeconds(1), ByteSize.mb(64), ByteSize.mb(1));
        Optional<OciImage> image = Optional.of(open("oci", "v3"));
        assertThat(Judge.judge(problem.resolve("solutions/ac.c"), problem.resolve("tests"), limits, image).verdict()).isEqualTo(Verdict.AC);
        assertThat(Judge.judge(problem.resolve("solutions/wa.c"), problem.resolve("tests"), limits, image).verdict()).isEqualTo(Verdict.WA);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = IsolationCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), "judge", "--image",
                images.resolve("oci.tar") + ":v3", problem.resolve("solutions/ac.c").toString(), problem.resolve("tests").toString());
        assertThat(status).as("stderr: %s", err).isZero();
        assertThat(out.toString()).endsWith("verdict: AC\n");
    }
}
