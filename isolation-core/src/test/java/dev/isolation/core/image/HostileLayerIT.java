package dev.isolation.core.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.core.image.ImageFixture.Compression;
import dev.isolation.core.image.ImageFixture.Tar;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import dev.isolation.core.KernelTest;

/**
 * Crafted layer tarballs, each of which tries to write outside its layer directory, plant a device
 * node or a setuid program: the unpack refuses the layer (leaving nothing in the cache) or drops
 * the entry, and the host is checked afterwards. Whiteouts become what overlayfs reads.
 */
@KernelTest
@Timeout(300)
class HostileLayerIT {
    private Path work;
    private Path cache;
    /** A host directory the layers aim at; nothing may appear in it. */
    private Path outside;

    @BeforeEach
    void setUp() throws IOException {
        work = Files.createTempDirectory("isolation-image-test");
        cache = work.resolve("cache");
        outside = Files.createDirectories(work.resolve("outside"));
    }

    @AfterEach
    void tearDown() throws IOException {
        LayerUnpacker.remove(work);
    }

    private OciImage open(byte[] layer) throws IOException {
        Path layout = work.resolve("image-" + UUID.randomUUID());
        ImageFixture.layout(layout, "t", List.of(layer), Compression.GZIP, UnaryOperator.identity());
        return OciImage.reader().cache(cache).open(layout, "t");
    }

    private void assertRefused(byte[] layer, String message) throws IOException {
        assertThatThrownBy(() -> open(layer)).isInstanceOfSatisfying(ImageException.class,
                e -> assertThat(e.reason()).isEqualTo(ImageException.Reason.HOSTILE_LAYER)).hasMessageContaining(message);
        assertNothingOutside();
        try (Stream<Path> layers = Files.list(cache.resolve("layers")); Stream<Path> tmp = Files.list(cache.resolve("tmp"))) {
            assertThat(layers).as("no layer cached").isEmpty();
            assertThat(tmp).as("no unpack left behind").isEmpty();
        }
    }

    private void assertNothingOutside() throws IOException {
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s).as("nothing written to the host directory the layer aimed at").isEmpty();
        }
        try (Stream<Path> s = Files.list(work)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("image-")))
                    .as("nothing beside the cache").containsExactlyInAnyOrder("cache", "outside");
        }
    }

    @Test
    void dotDotNamesAreRefused() throws IOException {
        assertRefused(new Tar().file("../../outside/escaped", 0644, "x").bytes(), "\"..\"");
        assertRefused(new Tar().dir("a", 0755).file("a/../../../outside/escaped", 0644, "x").bytes(), "\"..\"");
    }

    @Test
    void writingThroughASymlinkIsRefused() throws IOException {
        // absolute and relative symlinks out of the layer, then a file "inside" them
        assertRefused(new Tar().symlink("abs", outside.toString()).file("abs/escaped", 0644, "x").bytes(), "is a symlink");
        assertRefused(new Tar().symlink("rel", "../../../../../../../../" + outside).dir("rel/sub", 0755).bytes(), "is a symlink");
        // a directory replaced by a symlink later in the same layer
        assertRefused(new Tar().dir("d", 0755).symlink("d", outside.toString()).file("d/escaped", 0644, "x").bytes(), "is a symlink");
    }

    @Test
    void aDirectoryReplacedByASymlinkTakesNoAttributesThroughIt() throws IOException {
        // "d/x/" is made, then "d" becomes a symlink to a host directory that has an "x": the mode, owner and time meant
        // for the layer's d/x (set once everything is in) must not land on the host's x
        Path host = Files.createDirectories(work.resolve("image-host"));
        Path x = Files.createDirectory(host.resolve("x"));
        Files.setAttribute(x, "unix:mode", 0700);
        Files.setLastModifiedTime(x, java.nio.file.attribute.FileTime.fromMillis(0));
        OciImage image = null;
        IOException refused = null;
        try {
            image = open(new Tar().dir("d", 0755).dir("d/x", 0777).symlink("d", host.toString()).bytes());
        } catch (IOException e) {
            refused = e;
        }
        assertThat(mode(x)).as("the host directory's mode").isEqualTo(0700);
        assertThat(Files.getLastModifiedTime(x).toMillis()).as("the host directory's time").isZero();
        assertNothingOutside();
        assertThat(refused).as("an ordinary layer: the symlink replaces the directory").isNull();
        assertThat(Files.readSymbolicLink(image.layerDirectories().get(0).resolve("d"))).isEqualTo(host);
    }

    @Test
    void hardLinksOutOfTheLayerAreRefused() throws IOException {
        Path secret = Files.writeString(Files.createDirectories(work.resolve("image-host")).resolve("secret"), "host secret");
        assertRefused(new Tar().hardlink("stolen", secret.toString()).bytes(), "hard link");
        assertRefused(new Tar().hardlink("stolen", "../../../image-host/secret").bytes(), "\"..\"");
        assertRefused(new Tar().symlink("s", secret.toString()).hardlink("stolen", "s").bytes(), "hard link");
        assertThat(Files.readString(secret)).isEqualTo("host secret");
        assertThat((Integer) Files.getAttribute(secret, "unix:nlink")).as("no link to the host file was made").isEqualTo(1);
    }

    @Test
    void aFileOverASymlinkReplacesTheLinkNotItsTarget() throws IOException {
        Path target = Files.writeString(outside.resolve("victim"), "host");
        OciImage image = open(new Tar().symlink("f", target.toString()).file("f", 0644, "layer").bytes());
        Path f = image.layerDirectories().get(0).resolve("f");
        assertThat(Files.isSymbolicLink(f)).isFalse();
        assertThat(Files.readString(f)).isEqualTo("layer");
        assertThat(Files.readString(target)).isEqualTo("host");
        Files.delete(target);
        assertNothingOutside();
    }

    @Test
    void absoluteNamesLandInsideTheLayer() throws IOException {
        OciImage image = open(new Tar().file(outside + "/escaped", 0644, "x").bytes());
        assertNothingOutside();
        assertThat(image.layerDirectories().get(0).resolve(outside.toString().substring(1)).resolve("escaped")).hasContent("x");
    }

    @Test
    void symlinksAreStoredNotFollowed() throws IOException {
        OciImage image = open(new Tar().symlink("etc-link", "/etc").symlink("up", "../../..").bytes());
        Path layer = image.layerDirectories().get(0);
        assertThat(Files.readSymbolicLink(layer.resolve("etc-link"))).isEqualTo(Path.of("/etc"));
        assertThat(Files.readSymbolicLink(layer.resolve("up"))).isEqualTo(Path.of("../../.."));
        assertNothingOutside();
    }

    @Test
    void deviceNodesAndFifosAreDropped() throws IOException {
        OciImage image = open(new Tar().device("mem", false, 1, 1).device("vda", true, 254, 0).device("fake-whiteout", false, 0, 0)
                .fifo("pipe").file("kept", 0644, "x").bytes());
        Path layer = image.layerDirectories().get(0);
        try (Stream<Path> s = Files.list(layer)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("kept");
        }
    }

    @Test
    void setuidAndSetgidBitsAreDroppedUnlessAsked() throws IOException {
        byte[] tar = new Tar().file("su", 06755, "#!/bin/sh\n").dir("tmp", 01777).bytes();
        Path layer = open(tar).layerDirectories().get(0);
        assertThat(mode(layer.resolve("su"))).isEqualTo(0755);
        assertThat(mode(layer.resolve("tmp"))).as("the sticky bit stays").isEqualTo(01777);
        Path layout = work.resolve("image-setuid");
        ImageFixture.layout(layout, "t", List.of(tar), Compression.NONE, UnaryOperator.identity());
        OciImage kept = OciImage.reader().cache(cache).keepSetuid().open(layout, "t");
        assertThat(kept.keepsSetuid()).isTrue();
        assertThat(mode(kept.layerDirectories().get(0).resolve("su"))).isEqualTo(06755);
        assertThat(kept.layerDirectories().get(0)).isNotEqualTo(layer);
    }

    @Test
    void whiteoutsBecomeOverlayfsWhiteoutsAndOpaqueDirectories() throws Exception {
        OciImage image = open(new Tar().dir("etc", 0755).file("etc/.wh.motd", 0644, "").dir("opt/app", 0755)
                .file("opt/app/.wh..wh..opq", 0644, "").file("opt/app/new", 0644, "n").bytes());
        Path layer = image.layerDirectories().get(0);
        Path whiteout = layer.resolve("etc/motd");
        int mode = (Integer) Files.getAttribute(whiteout, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        assertThat(mode & 0170000).as("a character device").isEqualTo(0020000);
        assertThat((Long) Files.getAttribute(whiteout, "unix:rdev", LinkOption.NOFOLLOW_LINKS)).as("0:0").isZero();
        assertThat(layer.resolve("etc/.wh.motd")).doesNotExist();
        assertThat(layer.resolve("opt/app/.wh..wh..opq")).doesNotExist();
        assertThat(layer.resolve("opt/app/new")).hasContent("n");
        UserDefinedFileAttributeView view = Files.getFileAttributeView(layer.resolve("opt/app"), UserDefinedFileAttributeView.class);
        ByteBuffer b = ByteBuffer.allocate(8);
        view.read("overlay.opaque", b);
        assertThat(new String(b.array(), 0, b.position())).isEqualTo("y");
        if (System.getProperty("user.name").equals("root")) {
            Process p = new ProcessBuilder("getfattr", "--only-values", "-n", "trusted.overlay.opaque", layer.resolve("opt/app").toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(new String(p.getInputStream().readAllBytes())).isEqualTo("y");
        }
    }

    @Test
    void aDirectoryDeletedAndMadeAgainInOneLayerIsOpaqueWhicheverComesFirst() throws Exception {
        for (Tar tar : List.of(new Tar().file("opt/.wh.app", 0644, "").dir("opt/app", 0755).file("opt/app/new", 0644, "n"),
                new Tar().dir("opt/app", 0755).file("opt/app/new", 0644, "n").file("opt/.wh.app", 0644, ""))) {
            Path layer = open(tar.bytes()).layerDirectories().get(0);
            assertThat(layer.resolve("opt/app/new")).hasContent("n");
            UserDefinedFileAttributeView view = Files.getFileAttributeView(layer.resolve("opt/app"), UserDefinedFileAttributeView.class);
            assertThat(view.list()).contains("overlay.opaque");
            LayerUnpacker.remove(cache);
        }
    }

    @Test
    void aLayerIsUnpackedOnceAndSharedByItsDiffDigest() throws IOException {
        byte[] tar = new Tar().file("a", 0644, "a").bytes();
        Path first = open(tar).layerDirectories().get(0);
        Files.setLastModifiedTime(first, java.nio.file.attribute.FileTime.fromMillis(0));
        Path layout = work.resolve("image-zstd");
        ImageFixture.layout(layout, "t", List.of(tar), Compression.ZSTD, UnaryOperator.identity());
        Path second = OciImage.reader().cache(cache).open(layout, "t").layerDirectories().get(0);
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second).toMillis()).as("not unpacked again").isZero();
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }
}
