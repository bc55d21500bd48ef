package dev.isolation.core.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.isolation.core.image.ImageException.Reason;
import dev.isolation.core.image.ImageFixture.Compression;
import dev.isolation.core.image.ImageFixture.Tar;
import dev.isolation.core.JavaCommand;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import dev.isolation.core.KernelTest;

/**
 * Reading images: OCI layouts, OCI archives and docker-archives, every compression; every blob
 * checked against its digest; a bad digest, a missing blob, an unsupported media type or an
 * unknown tag is an {@link ImageException} that names it and caches nothing; two JVMs unpacking
 * one image at once both get the one complete copy.
 */
@KernelTest
@Timeout(300)
class ImageReadIT {
    private Path work;
    private Path cache;

    @BeforeEach
    void setUp() throws IOException {
        work = Files.createTempDirectory("isolation-image-test");
        cache = work.resolve("cache");
    }

    @AfterEach
    void tearDown() throws IOException {
        LayerUnpacker.remove(work);
    }

    private static byte[] base() {
        return new Tar().dir("bin", 0755).file("bin/hello", 0755, "#!/bin/sh\necho hello\n").dir("etc", 0755).file("etc/motd", 0644, "m")
                .bytes();
    }

    private static byte[] second() {
        return new Tar().dir("etc", 0755).file("etc/.wh.motd", 0644, "").file("etc/added", 0644, "a").bytes();
    }

    private static UnaryOperator<JsonObject> defaults() {
        return c -> {
            JsonObject cfg = new JsonObject();
            JsonArray env = new JsonArray();
            env.add("PATH=/bin");
            env.add("LANG=C.UTF-8");
            cfg.add("Env", env);
            cfg.addProperty("WorkingDir", "/work");
            cfg.addProperty("User", "1000:1000");
            JsonArray ep = new JsonArray();
            ep.add("/bin/sh");
            cfg.add("Entrypoint", ep);
            JsonArray cmd = new JsonArray();
            cmd.add("-c");
            cmd.add("echo hi");
            cfg.add("Cmd", cmd);
            c.add("config", cfg);
            return c;
        };
    }

    private OciImage open(Path image, String tag) throws IOException {
        return OciImage.reader().cache(cache).open(image, tag);
    }

    @Test
    void readsLayoutsOfEveryCompressionWithTheConfigsDefaults() throws IOException {
        for (Compression c : Compression.values()) {
            Path layout = work.resolve("layout-" + c);
            ImageFixture.layout(layout, "v1", List.of(base(), second()), c, defaults());
            OciImage image = open(layout, "v1");
            assertThat(image.layerDirectories()).hasSize(2);
            assertThat(image.layerDirectories().get(0).resolve("bin/hello")).hasContent("#!/bin/sh\necho hello");
            assertThat(image.layerDirectories().get(1).resolve("etc/added")).hasContent("a");
            assertThat(image.env()).containsExactly("PATH=/bin", "LANG=C.UTF-8");
            assertThat(image.workingDir()).contains("/work");
            assertThat(image.user()).contains("1000:1000");
            assertThat(image.entrypoint()).containsExactly("/bin/sh");
            assertThat(image.cmd()).containsExactly("-c", "echo hi");
            assertThat(image.diffIds()).containsExactly(ImageFixture.digest(base()), ImageFixture.digest(second()));
        }
    }

    @Test
    void filesOfEverySizeAndLongNamesOfBothFormatsKeepTheirBytesAndAttributes() throws IOException {
        // sizes around tar's 512-byte records and the 256 KiB chunks a file is written from; GNU and PAX long names and links
        int[] sizes = {0, 1, 511, 512, 513, (256 << 10) - 1, 256 << 10, (256 << 10) + 1, (1 << 20) + 3};
        java.util.Random random = new java.util.Random(7);
        String deep = "d".repeat(120) + "/" + "e".repeat(130);
        for (int mode : new int[] {TarArchiveOutputStream.LONGFILE_GNU, TarArchiveOutputStream.LONGFILE_POSIX}) {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            List<byte[]> contents = new ArrayList<>();
            try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
                out.setLongFileMode(mode);
                for (int i = 0; i < sizes.length; i++) {
                    byte[] b = new byte[sizes[i]];
                    random.nextBytes(b);
                    contents.add(b);
                    TarArchiveEntry e = new TarArchiveEntry(deep + "/" + "f".repeat(110) + i);
                    e.setMode(0100000 | (i % 2 == 0 ? 0640 : 0755));
                    e.setModTime(1_600_000_000_000L + i * 1000L);
                    e.setSize(b.length);
                    out.putArchiveEntry(e);
                    out.write(b);
                    out.closeArchiveEntry();
                }
                TarArchiveEntry link = new TarArchiveEntry("l".repeat(150), org.apache.commons.compress.archivers.tar.TarConstants.LF_SYMLINK);
                link.setLinkName(deep + "/" + "f".repeat(110) + "3");
                out.putArchiveEntry(link);
                out.closeArchiveEntry();
                TarArchiveEntry hard = new TarArchiveEntry("h", org.apache.commons.compress.archivers.tar.TarConstants.LF_LINK);
                hard.setLinkName(deep + "/" + "f".repeat(110) + "8");
                out.putArchiveEntry(hard);
                out.closeArchiveEntry();
            }
            Path layout = work.resolve("layout-long-" + mode);
            ImageFixture.layout(layout, "v1", List.of(bytes.toByteArray()), Compression.NONE, UnaryOperator.identity());
            Path layer = open(layout, "v1").layerDirectories().get(0);
            for (int i = 0; i < sizes.length; i++) {
                Path f = layer.resolve(deep).resolve("f".repeat(110) + i);
                assertThat(Files.readAllBytes(f)).as("file of %d bytes", sizes[i]).isEqualTo(contents.get(i));
                assertThat((Integer) Files.getAttribute(f, "unix:mode") & 07777).isEqualTo(i % 2 == 0 ? 0640 : 0755);
                assertThat(Files.getLastModifiedTime(f).toMillis()).isEqualTo(1_600_000_000_000L + i * 1000L);
            }
            assertThat(Files.readSymbolicLink(layer.resolve("l".repeat(150)))).isEqualTo(Path.of(deep + "/" + "f".repeat(110) + "3"));
            assertThat(Files.readAllBytes(layer.resolve("h"))).isEqualTo(contents.get(8));
            assertThat((Integer) Files.getAttribute(layer.resolve("h"), "unix:nlink")).isEqualTo(2);
        }
    }

    @Test
    void readsAnOciArchiveAndADockerArchive() throws IOException {
        Path layout = work.resolve("layout");
        ImageFixture.layout(layout, "v1", List.of(base(), second()), Compression.GZIP, defaults());
        Path ociArchive = work.resolve("image.oci.tar");
        tarOf(layout, ociArchive);
        assertThat(open(ociArchive, "v1").layerDirectories()).hasSize(2);

        // a docker-archive as `docker save` writes it: <hex>.json config, <dir>/layer.tar layers, manifest.json
        Path docker = Files.createDirectories(work.resolve("docker"));
        JsonObject config = JsonParser.parseString(Files.readString(Files.list(layout.resolve("blobs/sha256")).filter(p -> {
            try {
                return Files.readString(p, StandardCharsets.ISO_8859_1).contains("diff_ids");
            } catch (IOException e) {
                return false;
            }
        }).findFirst().orElseThrow())).getAsJsonObject();
        byte[] configBytes = config.toString().getBytes(StandardCharsets.UTF_8);
        String configHex = ImageFixture.digest(configBytes).substring(7);
        Files.write(docker.resolve(configHex + ".json"), configBytes);
        JsonArray layers = new JsonArray();
        int i = 0;
        for (byte[] tar : List.of(base(), second())) {
            Path d = Files.createDirectories(docker.resolve("layer" + i++));
            Files.write(d.resolve("layer.tar"), tar);
            layers.add(d.getFileName() + "/layer.tar");
        }
        JsonObject m = new JsonObject();
        m.addProperty("Config", configHex + ".json");
        JsonArray tags = new JsonArray();
        tags.add("example.org/app:v1");
        m.add("RepoTags", tags);
        m.add("Layers", layers);
        JsonArray manifest = new JsonArray();
        manifest.add(m);
        Files.writeString(docker.resolve("manifest.json"), manifest.toString());
        Path dockerArchive = work.resolve("image.docker.tar");
        tarOf(docker, dockerArchive);
        OciImage image = open(dockerArchive, "v1");
        assertThat(image.layerDirectories()).isEqualTo(open(layout, "v1").layerDirectories());
        assertThat(image.workingDir()).contains("/work");

        // the config altered in the archive: its name is its digest
        Files.write(docker.resolve(configHex + ".json"), config.toString().replace("/work", "/evil").getBytes(StandardCharsets.UTF_8));
        tarOf(docker, dockerArchive);
        assertThatThrownBy(() -> open(dockerArchive, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.BAD_DIGEST)).hasMessageContaining(configHex);
    }

    @Test
    void aTamperedLayerIsABadDigestAndCachesNothing() throws IOException {
        for (Compression c : Compression.values()) {
            Path layout = work.resolve("tampered-" + c);
            ImageFixture.Written w = ImageFixture.layout(layout, "v1", List.of(base()), c, UnaryOperator.identity());
            Path blob = ImageFixture.blobPath(layout, w.layers().get(0));
            byte[] bytes = Files.readAllBytes(blob);
            byte[] evil = ImageFixture.compress(new Tar().dir("bin", 0755).file("bin/hello", 0755, "#!/bin/sh\necho EVIL\n").dir("etc", 0755)
                    .file("etc/motd", 0644, "m").bytes(), c);
            Files.write(blob, evil.length == bytes.length ? evil : flipLastTarByte(bytes, c));
            assertThatThrownBy(() -> open(layout, "v1")).as(c.toString()).isInstanceOfSatisfying(ImageException.class,
                    e -> assertThat(e.reason()).isEqualTo(Reason.BAD_DIGEST)).hasMessageContaining(w.layers().get(0).substring(7, 19));
            assertThat(list(cache.resolve("layers"))).as("nothing cached").isEmpty();
            assertThat(list(cache.resolve("tmp"))).as("no unpack left behind").isEmpty();
        }
    }

    private static byte[] flipLastTarByte(byte[] blob, Compression c) throws IOException {
        byte[] copy = blob.clone();
        if (c == Compression.NONE) {
            copy[600] ^= 1; // inside the first file's data
        } else {
            copy[copy.length / 2] ^= 1;
        }
        return copy;
    }

    @Test
    void aTamperedManifestOrConfigIsABadDigest() throws IOException {
        Path layout = work.resolve("m");
        ImageFixture.Written w = ImageFixture.layout(layout, "v1", List.of(base()), Compression.GZIP, defaults());
        Path config = ImageFixture.blobPath(layout, w.config());
        Files.writeString(config, Files.readString(config).replace("/work", "/evil"));
        assertThatThrownBy(() -> open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.BAD_DIGEST)).hasMessageContaining(w.config());
        Path manifest = ImageFixture.blobPath(layout, w.manifest());
        Files.writeString(manifest, Files.readString(manifest) + " ");
        assertThatThrownBy(() -> open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.BAD_DIGEST)).hasMessageContaining(w.manifest());
    }

    @Test
    void aMissingBlobIsNamed() throws IOException {
        Path layout = work.resolve("missing");
        ImageFixture.Written w = ImageFixture.layout(layout, "v1", List.of(base(), second()), Compression.GZIP, UnaryOperator.identity());
        Files.delete(ImageFixture.blobPath(layout, w.layers().get(1)));
        assertThatThrownBy(() -> open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.MISSING_BLOB)).hasMessageContaining(w.layers().get(1));
    }

    @Test
    void anUnsupportedMediaTypeIsNamed() throws IOException {
        Path layout = work.resolve("type");
        ImageFixture.layout(layout, "v1", List.of(base()), Compression.GZIP, UnaryOperator.identity(), m -> {
            m.getAsJsonArray("layers").get(0).getAsJsonObject().addProperty("mediaType", "application/vnd.example.squashfs");
            return m;
        });
        assertThatThrownBy(() -> open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_MEDIA_TYPE)).hasMessageContaining("application/vnd.example.squashfs");
    }

    @Test
    void aFieldOfTheWrongJsonTypeIsMalformed() throws IOException {
        Path layout = work.resolve("wrong-type");
        ImageFixture.layout(layout, "v1", List.of(base()), Compression.GZIP, UnaryOperator.identity(), m -> {
            m.addProperty("layers", "not an array");
            return m;
        });
        assertThatThrownBy(() -> open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.MALFORMED)).hasMessageContaining("wrong type");
    }

    @Test
    void anUnknownTagListsTheTagsThere() throws IOException {
        Path layout = work.resolve("tag");
        ImageFixture.layout(layout, "v1", List.of(base()), Compression.GZIP, UnaryOperator.identity());
        assertThatThrownBy(() -> open(layout, "v2")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.NO_SUCH_TAG)).hasMessageContaining("\"v2\"").hasMessageContaining("v1");
        assertThatThrownBy(() -> open(work.resolve("nonexistent"), "v1")).isInstanceOf(ImageException.class)
                .hasMessageContaining("nonexistent");
    }

    @Test
    void threadsAndTwoJvmsUnpackingOneImageAtOnceGetOneCompleteCopy() throws Exception {
        Tar big = new Tar();
        for (int i = 0; i < 3000; i++) {
            big.file("d" + (i % 30) + "/f" + i, 0644, "content " + i);
        }
        Path layout = work.resolve("big");
        ImageFixture.layout(layout, "v1", List.of(big.bytes()), Compression.GZIP, UnaryOperator.identity());
        List<Process> jvms = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            jvms.add(new ProcessBuilder(JavaCommand.of("-cp", System.getProperty("java.class.path"), UnpackMain.class.getName(),
                    layout.toString(), cache.toString(), "v1")).redirectErrorStream(true).start());
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<OciImage>> threads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                threads.add(pool.submit(() -> open(layout, "v1")));
            }
            Path dir = threads.get(0).get(120, TimeUnit.SECONDS).layerDirectories().get(0);
            for (Future<OciImage> f : threads) {
                assertThat(f.get(120, TimeUnit.SECONDS).layerDirectories()).containsExactly(dir);
            }
            for (Process p : jvms) {
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.exitValue()).as(out).isZero();
                assertThat(out.strip()).isEqualTo(dir.toString());
            }
            try (Stream<Path> files = Files.walk(dir)) {
                assertThat(files.filter(Files::isRegularFile).count()).isEqualTo(3000);
            }
            assertThat(list(cache.resolve("layers"))).hasSize(1);
            assertThat(list(cache.resolve("tmp"))).isEmpty();
        } finally {
            pool.shutdownNow();
            jvms.forEach(Process::destroyForcibly);
        }
    }

    @Test
    void aCacheOthersCanWriteIsRefused() throws IOException {
        Path shared = Files.createDirectories(work.resolve("shared"));
        Files.setAttribute(shared, "unix:mode", 0777);
        Path layout = work.resolve("l");
        ImageFixture.layout(layout, "v1", List.of(base()), Compression.GZIP, UnaryOperator.identity());
        assertThatThrownBy(() -> OciImage.reader().cache(shared).open(layout, "v1")).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.CACHE)).hasMessageContaining("writable by others");
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    /** A tar of {@code dir}'s files, named relative to it. */
    static void tarOf(Path dir, Path archive) throws IOException {
        try (OutputStream o = Files.newOutputStream(archive); TarArchiveOutputStream t = new TarArchiveOutputStream(o);
                Stream<Path> files = Files.walk(dir)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                TarArchiveEntry e = new TarArchiveEntry(f.toFile(), dir.relativize(f).toString().replace(File.separatorChar, '/'));
                t.putArchiveEntry(e);
                Files.copy(f, t);
                t.closeArchiveEntry();
            }
        }
    }
}
