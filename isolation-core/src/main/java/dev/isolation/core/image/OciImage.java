package dev.isolation.core.image;

import static dev.isolation.core.image.ImageException.Reason.BAD_DIGEST;
import static dev.isolation.core.image.ImageException.Reason.MALFORMED;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.isolation.core.internal.linux.Kernel;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * A container image, read and unpacked: its layers as directories of the layer cache (bottom
 * first) and the run defaults of its config. Give it to {@code Sandbox.Builder.image} to run on
 * it: the layers become a read-only overlayfs lower stack, with the writes of each sandbox in a
 * tmpfs of its own that goes with it.
 *
 * <p>Reads an OCI image layout directory (as {@code skopeo copy ... oci:DIR:TAG} or {@code umoci}
 * write it), an OCI archive (a tar of one; {@code docker save} since Docker 25, {@code skopeo copy
 * ... oci-archive:}) and a docker-archive ({@code docker save}, {@code skopeo copy ...
 * docker-archive:}). Every manifest, index and config is checked against its digest before it is
 * read; a layer's compressed blob and its uncompressed tar (the config's {@code rootfs.diff_ids})
 * are checked while it is unpacked, and a layer that fails leaves nothing in the cache. A layer
 * already in the cache (keyed by its diff digest) is not read again; its blob must still be there.
 * Layers may be uncompressed, gzip or zstd (through zstd-jni).
 *
 * <p>Immutable and thread-safe. The cache is private to the user ({@code 0700}, owned by it);
 * {@link Reader#cache} says where it is.
 *
 * @since 0.1.0
 */
public final class OciImage {
    private final String reference;
    private final List<Path> layers;
    private final List<String> diffIds;
    private final List<String> env;
    private final Optional<String> workingDir;
    private final Optional<String> user;
    private final List<String> entrypoint;
    private final List<String> cmd;
    private final boolean keepsSetuid;

    private OciImage(String reference, List<Path> layers, List<String> diffIds, JsonObject config, boolean keepsSetuid) {
        this.reference = reference;
        this.layers = List.copyOf(layers);
        this.diffIds = List.copyOf(diffIds);
        JsonObject c = config.has("config") && config.get("config").isJsonObject() ? config.getAsJsonObject("config") : new JsonObject();
        this.env = strings(c, "Env");
        this.workingDir = Optional.ofNullable(Manifests.str(c, "WorkingDir")).filter(s -> !s.isEmpty());
        this.user = Optional.ofNullable(Manifests.str(c, "User")).filter(s -> !s.isEmpty());
        this.entrypoint = strings(c, "Entrypoint");
        this.cmd = strings(c, "Cmd");
        this.keepsSetuid = keepsSetuid;
    }

    /**
     * Reads image {@code tag} of {@code image} (an OCI layout directory, an OCI archive or a
     * docker-archive) and unpacks its layers into the default cache, setuid and setgid bits dropped.
     *
     * @param image the path of the layout directory or archive
     * @param tag the tag (the {@code org.opencontainers.image.ref.name} annotation, or {@code
     *     repo:tag} of a docker-archive)
     * @return the image, unpacked
     * @throws ImageException naming the bad digest, missing blob, unsupported media type, unknown
     *     tag or hostile tar entry
     * @throws IOException if the image or the cache cannot be read or written
     */
    public static OciImage open(Path image, String tag) throws IOException {
        return reader().open(image, tag);
    }

    /**
     * A reader with the default cache, setuid bits dropped.
     *
     * @return a new reader
     */
    public static Reader reader() {
        return new Reader();
    }

    /**
     * Where layers are unpacked, and how. Not thread-safe; {@link #open} may be called from many threads.
     *
     * @since 0.1.0
     */
    public static final class Reader {
        private Optional<Path> cache = Optional.empty();
        private boolean keepSetuid;

        private Reader() {}

        /**
         * The layer cache directory, made {@code 0700} if missing; it must belong to this user and
         * be writable by no one else. Default: system property {@code isolation.imageCache}, else
         * {@code /var/cache/isolation-images} for root, else {@code $XDG_CACHE_HOME/isolation-images},
         * else {@code ~/.cache/isolation-images}, else {@code $TMPDIR/isolation-images-UID}. It must
         * be on a file system with extended attributes (an opaque directory is an xattr).
         *
         * @param dir the cache directory
         * @return this reader
         */
        public Reader cache(Path dir) {
            cache = Optional.of(Objects.requireNonNull(dir, "cache"));
            return this;
        }

        /**
         * Keeps the setuid and setgid bits of the image's files (dropped by default), and mounts
         * the image without {@code nosuid}: they then work inside a sandbox that keeps the
         * privileges they grant. Cached apart from the same layers unpacked without them.
         *
         * @return this reader
         */
        public Reader keepSetuid() {
            keepSetuid = true;
            return this;
        }

        /**
         * Reads image {@code tag} of {@code image} and unpacks its layers into this reader's cache,
         * as {@link OciImage#open(Path, String)} does with the defaults.
         *
         * @param image the path of the layout directory or archive
         * @param tag the tag, not empty
         * @return the image, unpacked
         * @throws ImageException naming the bad digest, missing blob, unsupported media type, unknown
         *     tag or hostile tar entry
         * @throws IOException if the image or the cache cannot be read or written
         * @throws IllegalArgumentException if {@code tag} is empty
         */
        public OciImage open(Path image, String tag) throws IOException {
            Objects.requireNonNull(image, "image");
            if (Objects.requireNonNull(tag, "tag").isEmpty()) {
                throw new IllegalArgumentException("tag: empty");
            }
            LayerCache layerCache = new LayerCache(cache.orElseGet(LayerCache::defaultRoot));
            boolean root = Kernel.get().getuid() == 0;
            try (BlobSource src = BlobSource.open(image)) {
                Manifests.Spec spec = Manifests.read(src, tag);
                List<Path> dirs = new ArrayList<>();
                List<String> ids = new ArrayList<>();
                for (Manifests.Layer layer : spec.layers()) {
                    dirs.add(layerCache.layer(layer.diffId(), keepSetuid, dir -> unpack(src, layer, dir, root, keepSetuid)));
                    ids.add(layer.diffId());
                }
                return new OciImage(image + ":" + tag, dirs, ids, spec.config(), keepSetuid);
            }
        }
    }

    private static void unpack(BlobSource src, Manifests.Layer layer, Path dir, boolean root, boolean keepSetuid) throws IOException {
        String what = src.describe() + ": layer " + layer.blobDigest().orElse(layer.blob()) + " (diff id " + layer.diffId() + ")";
        // three threads when compressed: the blob is read and hashed ahead, decompressed and hashed
        // ahead again, and extracted; each stage sees only bytes already hashed
        try (HashingInputStream blob = new HashingInputStream(src.channel(layer.blob()), Manifests.sha256())) {
            byte[] magic = blob.peek(4);
            boolean gzip = magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b;
            boolean zstd = magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5 && (magic[2] & 0xff) == 0x2f
                    && (magic[3] & 0xff) == 0xfd;
            // an uncompressed blob is its own diff: one digest serves both
            HashingInputStream tar = blob;
            if (gzip || zstd) {
                InputStream compressed = new FilterInputStream(blob) {
                    @Override
                    public void close() {
                        // the blob is closed by its own try: its digest is still wanted when the decompressor failed
                    }
                };
                tar = new HashingInputStream(gzip ? new GzipCompressorInputStream(compressed, true) : new ZstdCompressorInputStream(compressed),
                        Manifests.sha256());
            }
            try {
                try {
                    new LayerUnpacker(dir, root, keepSetuid).unpack(tar);
                } catch (ImageException e) {
                    if (e.reason() != MALFORMED) {
                        throw e;
                    }
                    throw corrupt(what, layer, blob, tar, e.getMessage(), e);
                } catch (IOException e) {
                    if (e instanceof java.nio.file.FileSystemException) {
                        throw e;
                    }
                    throw corrupt(what, layer, blob, tar, "cannot be decompressed: " + e.getMessage(), e);
                }
                String tarActual = tar.digest(); // reads the tar's end blocks too: they count in its digest
                String blobActual = tar == blob ? tarActual : blob.digest();
                checkDigest(what, "blob", blobActual, layer.blobDigest());
                checkDigest(what, "uncompressed tar", tarActual, Optional.of(layer.diffId()));
            } finally {
                if (tar != blob) {
                    tar.close();
                }
            }
        }
    }

    /**
     * What a layer that is not a valid tar (or compressed stream) is reported as: a bad digest when
     * its blob has one, which says more, else {@code MALFORMED}.
     */
    private static ImageException corrupt(String what, Manifests.Layer layer, HashingInputStream blob, HashingInputStream tar,
            String message, IOException cause) throws IOException {
        if (tar != blob) {
            tar.close(); // its thread stops reading the blob, which this one now reads to the end
        }
        String actual;
        try {
            actual = blob.digest();
        } catch (IOException x) {
            cause.addSuppressed(x);
            return new ImageException(MALFORMED, what + ": " + message, cause);
        }
        checkDigest(what, "blob", actual, layer.blobDigest());
        return new ImageException(MALFORMED, what + ": " + message, cause);
    }

    private static void checkDigest(String what, String part, String actual, Optional<String> expected) throws ImageException {
        if (expected.isEmpty()) {
            return;
        }
        if (!actual.equals(expected.get())) {
            throw new ImageException(BAD_DIGEST, what + ": the " + part + " has digest " + actual + ", expected " + expected.get()
                    + ": the image is corrupt or was altered (nothing of it was cached)");
        }
    }

    private static List<String> strings(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (JsonElement x : (JsonArray) e) {
            out.add(x.getAsString());
        }
        return List.copyOf(out);
    }

    /** {@return {@code PATH:TAG} as it was opened} */
    public String reference() {
        return reference;
    }

    /** {@return the unpacked layers, bottom first: directories of the cache, which nothing may change} */
    public List<Path> layerDirectories() {
        return layers;
    }

    /** {@return the layers' diff digests ({@code sha256:...}), bottom first} */
    public List<String> diffIds() {
        return diffIds;
    }

    /** {@return the config's {@code Env}: {@code NAME=value} strings, the run's default environment} */
    public List<String> env() {
        return env;
    }

    /** {@return the config's {@code WorkingDir}, the run's default working directory} */
    public Optional<String> workingDir() {
        return workingDir;
    }

    /** {@return the config's {@code User} ({@code uid}, {@code uid:gid} or a name), the run's default identity} */
    public Optional<String> user() {
        return user;
    }

    /** {@return the config's {@code Entrypoint}: a run's command is appended to it} */
    public List<String> entrypoint() {
        return entrypoint;
    }

    /** {@return the config's {@code Cmd}: the command when a run gives none} */
    public List<String> cmd() {
        return cmd;
    }

    /** {@return whether setuid and setgid bits were kept ({@link Reader#keepSetuid})} */
    public boolean keepsSetuid() {
        return keepsSetuid;
    }

    @Override
    public String toString() {
        return "OciImage[" + reference + ", " + layers.size() + " layers]";
    }
}
