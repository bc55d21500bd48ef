package dev.isolation.core.image;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/** Crafted layers and OCI layouts for the tests: what a hostile or careless image tool could write. */
public final class ImageFixture {
    private ImageFixture() {}

    /** A layer's tar, entry by entry, exactly as written (no name cleaning). */
    public static final class Tar {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream out;

        public Tar() {
            out = new TarArchiveOutputStream(bytes);
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        private Tar put(TarArchiveEntry e, byte[] data) {
            try {
                e.setSize(data.length);
                out.putArchiveEntry(e);
                out.write(data);
                out.closeArchiveEntry();
            } catch (IOException x) {
                throw new IllegalStateException(x);
            }
            return this;
        }

        private static TarArchiveEntry entry(String name, byte type, int mode) {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true); // preserve the name as given: "../x", "/x"
            e.setMode(mode);
            e.setModTime(1_700_000_000_000L);
            return e;
        }

        public Tar dir(String name, int mode) {
            return put(entry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, 040000 | mode), new byte[0]);
        }

        public Tar file(String name, int mode, String content) {
            return put(entry(name, TarConstants.LF_NORMAL, 0100000 | mode), content.getBytes(StandardCharsets.UTF_8));
        }

        public Tar file(String name, int mode, byte[] content) {
            return put(entry(name, TarConstants.LF_NORMAL, 0100000 | mode), content);
        }

        public Tar symlink(String name, String target) {
            TarArchiveEntry e = entry(name, TarConstants.LF_SYMLINK, 0120777);
            e.setLinkName(target);
            return put(e, new byte[0]);
        }

        public Tar hardlink(String name, String target) {
            TarArchiveEntry e = entry(name, TarConstants.LF_LINK, 0100644);
            e.setLinkName(target);
            return put(e, new byte[0]);
        }

        public Tar device(String name, boolean block, int major, int minor) {
            TarArchiveEntry e = entry(name, block ? TarConstants.LF_BLK : TarConstants.LF_CHR, (block ? 060000 : 020000) | 0666);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            return put(e, new byte[0]);
        }

        public Tar fifo(String name) {
            return put(entry(name, TarConstants.LF_FIFO, 010000 | 0666), new byte[0]);
        }

        public byte[] bytes() {
            try {
                out.finish();
                out.close();
            } catch (IOException x) {
                throw new IllegalStateException(x);
            }
            return bytes.toByteArray();
        }
    }

    public enum Compression { NONE, GZIP, ZSTD }

    public static byte[] compress(byte[] tar, Compression c) throws IOException {
        if (c == Compression.NONE) {
            return tar;
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (OutputStream o = c == Compression.GZIP ? new GzipCompressorOutputStream(b) : new ZstdCompressorOutputStream(b)) {
            o.write(tar);
        }
        return b.toByteArray();
    }

    public static String digest(byte[] b) {
        return "sha256:" + HexFormat.of().formatHex(Manifests.sha256().digest(b));
    }

    public static String mediaType(Compression c) {
        return switch (c) {
            case NONE -> "application/vnd.oci.image.layer.v1.tar";
            case GZIP -> "application/vnd.oci.image.layer.v1.tar+gzip";
            case ZSTD -> "application/vnd.oci.image.layer.v1.tar+zstd";
        };
    }

    /** What {@link #layout} wrote: the digests of its blobs. */
    public record Written(String manifest, String config, List<String> layers) {}

    /** An OCI layout at {@code dir} with {@code tag} naming an image of these layer tars; {@code config} may add to the config. */
    public static Written layout(Path dir, String tag, List<byte[]> tars, Compression c, UnaryOperator<JsonObject> config) throws IOException {
        return layout(dir, tag, tars, c, config, UnaryOperator.identity());
    }

    public static Written layout(Path dir, String tag, List<byte[]> tars, Compression c, UnaryOperator<JsonObject> config,
            UnaryOperator<JsonObject> manifestEdit) throws IOException {
        Path blobs = Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        JsonArray diffIds = new JsonArray();
        JsonArray layers = new JsonArray();
        List<String> layerDigests = new ArrayList<>();
        for (byte[] tar : tars) {
            diffIds.add(digest(tar));
            byte[] blob = compress(tar, c);
            String d = blob(blobs, blob);
            layerDigests.add(d);
            JsonObject l = new JsonObject();
            l.addProperty("mediaType", mediaType(c));
            l.addProperty("digest", d);
            l.addProperty("size", blob.length);
            layers.add(l);
        }
        JsonObject cfg = new JsonObject();
        cfg.addProperty("architecture", "amd64");
        cfg.addProperty("os", "linux");
        JsonObject rootfs = new JsonObject();
        rootfs.addProperty("type", "layers");
        rootfs.add("diff_ids", diffIds);
        cfg.add("rootfs", rootfs);
        cfg.add("config", new JsonObject());
        cfg = config.apply(cfg);
        byte[] cfgBytes = cfg.toString().getBytes(StandardCharsets.UTF_8);
        String cfgDigest = blob(blobs, cfgBytes);
        JsonObject manifest = new JsonObject();
        manifest.addProperty("schemaVersion", 2);
        manifest.addProperty("mediaType", Manifests.OCI_MANIFEST);
        JsonObject cd = new JsonObject();
        cd.addProperty("mediaType", "application/vnd.oci.image.config.v1+json");
        cd.addProperty("digest", cfgDigest);
        cd.addProperty("size", cfgBytes.length);
        manifest.add("config", cd);
        manifest.add("layers", layers);
        manifest = manifestEdit.apply(manifest);
        byte[] mBytes = manifest.toString().getBytes(StandardCharsets.UTF_8);
        String mDigest = blob(blobs, mBytes);
        JsonObject md = new JsonObject();
        md.addProperty("mediaType", Manifests.OCI_MANIFEST);
        md.addProperty("digest", mDigest);
        md.addProperty("size", mBytes.length);
        JsonObject ann = new JsonObject();
        ann.addProperty("org.opencontainers.image.ref.name", tag);
        md.add("annotations", ann);
        JsonObject index = new JsonObject();
        index.addProperty("schemaVersion", 2);
        JsonArray ms = new JsonArray();
        ms.add(md);
        index.add("manifests", ms);
        Files.writeString(dir.resolve("index.json"), index.toString());
        return new Written(mDigest, cfgDigest, layerDigests);
    }

    public static String blob(Path blobs, byte[] content) throws IOException {
        String d = digest(content);
        Files.write(blobs.resolve(d.substring(7)), content);
        return d;
    }

    public static Path blobPath(Path layout, String digest) {
        return layout.resolve("blobs/sha256").resolve(digest.substring(7));
    }
}
