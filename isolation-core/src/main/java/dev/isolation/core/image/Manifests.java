package dev.isolation.core.image;

import static dev.isolation.core.image.ImageException.Reason.BAD_DIGEST;
import static dev.isolation.core.image.ImageException.Reason.MALFORMED;
import static dev.isolation.core.image.ImageException.Reason.MISSING_BLOB;
import static dev.isolation.core.image.ImageException.Reason.NO_SUCH_TAG;
import static dev.isolation.core.image.ImageException.Reason.UNSUPPORTED_MEDIA_TYPE;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds an image's config and layers: in an OCI layout ({@code oci-layout}, {@code index.json},
 * {@code blobs/sha256/...}), directory or archive, or in a docker-archive ({@code manifest.json}).
 * Every JSON blob read is checked against its digest before it is parsed.
 */
final class Manifests {
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final Set<String> CONFIGS = Set.of("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json");
    static final Set<String> LAYERS = Set.of("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");
    /** A manifest or config bigger than this is refused (they are kilobytes). */
    private static final long MAX_JSON = 4 << 20;

    /** A layer: where its (maybe compressed) blob is, its digest when the format gives one, and its diff id. */
    record Layer(String blob, Optional<String> blobDigest, long size, String diffId) {}

    /** What an image is made of. */
    record Spec(JsonObject config, List<Layer> layers) {}

    private Manifests() {}

    static Spec read(BlobSource src, String tag) throws IOException {
        try {
            if (src.size("index.json").isPresent()) {
                return readOci(src, tag);
            }
            if (src.size("manifest.json").isPresent()) {
                return readDocker(src, tag);
            }
        } catch (ClassCastException | IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            // gson's answer to a field of the wrong JSON type
            throw new ImageException(MALFORMED, src.describe() + ": a manifest, index or config has a field of the wrong type: " + e.getMessage(), e);
        }
        throw new ImageException(MALFORMED, "image \"" + src.describe()
                + "\" is neither an OCI image layout (no index.json) nor a docker-archive (no manifest.json)");
    }

    private static Spec readOci(BlobSource src, String tag) throws IOException {
        JsonObject layout = object(src, "oci-layout", Optional.empty());
        if (!layout.has("imageLayoutVersion")) {
            throw new ImageException(MALFORMED, src.describe() + ": oci-layout has no imageLayoutVersion");
        }
        JsonObject index = object(src, "index.json", Optional.empty());
        JsonObject desc = byTag(src, index, tag);
        String mediaType = string(desc, "mediaType", "index.json manifest");
        if (mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_LIST)) {
            desc = forPlatform(src, object(src, blobName(src, desc), digest(src, desc)), src.describe() + ": " + digest(src, desc).get());
            mediaType = string(desc, "mediaType", "index manifest");
        }
        if (!mediaType.equals(OCI_MANIFEST) && !mediaType.equals(DOCKER_MANIFEST)) {
            throw new ImageException(UNSUPPORTED_MEDIA_TYPE, src.describe() + ": manifest " + digest(src, desc).get() + " has media type \""
                    + mediaType + "\"; supported: " + OCI_MANIFEST + ", " + DOCKER_MANIFEST);
        }
        JsonObject manifest = object(src, blobName(src, desc), digest(src, desc));
        JsonObject configDesc = manifest.getAsJsonObject("config");
        if (configDesc == null) {
            throw new ImageException(MALFORMED, src.describe() + ": manifest " + digest(src, desc).get() + " has no config");
        }
        String configType = string(configDesc, "mediaType", "config");
        if (!CONFIGS.contains(configType)) {
            throw new ImageException(UNSUPPORTED_MEDIA_TYPE, src.describe() + ": config " + digest(src, configDesc).get()
                    + " has media type \"" + configType + "\"; supported: " + CONFIGS);
        }
        JsonObject config = object(src, blobName(src, configDesc), digest(src, configDesc));
        List<String> diffIds = diffIds(src, config);
        JsonArray layers = manifest.getAsJsonArray("layers");
        if (layers == null || layers.size() != diffIds.size()) {
            throw new ImageException(MALFORMED, src.describe() + ": the manifest lists " + (layers == null ? 0 : layers.size())
                    + " layers, the config's rootfs.diff_ids " + diffIds.size());
        }
        List<Layer> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            JsonObject l = layers.get(i).getAsJsonObject();
            String type = string(l, "mediaType", "layer");
            if (!LAYERS.contains(type)) {
                throw new ImageException(UNSUPPORTED_MEDIA_TYPE, src.describe() + ": layer " + digest(src, l).get() + " has media type \""
                        + type + "\"; supported: tar, tar+gzip, tar+zstd layers (OCI and Docker)");
            }
            String name = blobName(src, l);
            long size = src.size(name).get();
            if (l.has("size") && l.get("size").getAsLong() != size) {
                throw new ImageException(BAD_DIGEST, src.describe() + ": blob " + digest(src, l).get() + " is " + size
                        + " bytes, its descriptor says " + l.get("size").getAsLong() + ": the image is corrupt or truncated");
            }
            out.add(new Layer(name, digest(src, l), size, diffIds.get(i)));
        }
        return new Spec(config, out);
    }

    /** The manifest descriptor of {@code tag} in an OCI index. */
    private static JsonObject byTag(BlobSource src, JsonObject index, String tag) throws ImageException {
        JsonArray manifests = index.getAsJsonArray("manifests");
        if (manifests == null) {
            throw new ImageException(MALFORMED, src.describe() + ": index.json has no manifests");
        }
        List<String> tags = new ArrayList<>();
        for (JsonElement e : manifests) {
            JsonObject d = e.getAsJsonObject();
            JsonObject ann = d.getAsJsonObject("annotations");
            if (ann == null) {
                continue;
            }
            for (String key : List.of("org.opencontainers.image.ref.name", "io.containerd.image.name")) {
                if (ann.has(key)) {
                    String ref = ann.get(key).getAsString();
                    tags.add(ref);
                    if (ref.equals(tag) || ref.endsWith(":" + tag) && !ref.substring(0, ref.length() - tag.length() - 1).contains("@")) {
                        return d;
                    }
                }
            }
        }
        throw new ImageException(NO_SUCH_TAG, src.describe() + ": no manifest tagged \"" + tag + "\"; tags there: "
                + (tags.isEmpty() ? "none" : String.join(", ", tags)));
    }

    /** The manifest for this machine (linux and its architecture) in an image index. */
    private static JsonObject forPlatform(BlobSource src, JsonObject index, String what) throws ImageException {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> System.getProperty("os.arch");
        };
        JsonArray manifests = index.getAsJsonArray("manifests");
        if (manifests != null) {
            for (JsonElement e : manifests) {
                JsonObject d = e.getAsJsonObject();
                JsonObject p = d.getAsJsonObject("platform");
                if (p != null && "linux".equals(str(p, "os")) && arch.equals(str(p, "architecture"))) {
                    return d;
                }
            }
        }
        throw new ImageException(NO_SUCH_TAG, what + ": the image index has no manifest for linux/" + arch);
    }

    private static Spec readDocker(BlobSource src, String tag) throws IOException {
        JsonElement top = parse(src, "manifest.json", Optional.empty());
        if (!top.isJsonArray()) {
            throw new ImageException(MALFORMED, src.describe() + ": manifest.json is not a JSON array");
        }
        List<String> tags = new ArrayList<>();
        for (JsonElement e : top.getAsJsonArray()) {
            JsonObject m = e.getAsJsonObject();
            JsonArray repoTags = m.getAsJsonArray("RepoTags");
            boolean match = false;
            if (repoTags != null) {
                for (JsonElement t : repoTags) {
                    String ref = t.getAsString();
                    tags.add(ref);
                    match |= ref.equals(tag) || ref.endsWith(":" + tag);
                }
            }
            if (!match) {
                continue;
            }
            String configName = string(m, "Config", "manifest.json");
            // docker names the config after its digest: "<hex>.json" or "blobs/sha256/<hex>"
            String hex = configName.replaceFirst("^blobs/sha256/", "").replaceFirst("\\.json$", "");
            Optional<String> configDigest = hex.matches("[0-9a-f]{64}") ? Optional.of("sha256:" + hex) : Optional.empty();
            if (src.size(configName).isEmpty()) {
                throw new ImageException(MISSING_BLOB, src.describe() + ": the config " + configName + " is missing");
            }
            JsonObject config = object(src, configName, configDigest);
            List<String> diffIds = diffIds(src, config);
            JsonArray layers = m.getAsJsonArray("Layers");
            if (layers == null || layers.size() != diffIds.size()) {
                throw new ImageException(MALFORMED, src.describe() + ": manifest.json lists " + (layers == null ? 0 : layers.size())
                        + " layers, the config's rootfs.diff_ids " + diffIds.size());
            }
            List<Layer> out = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                String name = layers.get(i).getAsString();
                Optional<Long> size = src.size(name);
                if (size.isEmpty()) {
                    throw new ImageException(MISSING_BLOB, src.describe() + ": the layer " + name + " (" + diffIds.get(i) + ") is missing");
                }
                String lhex = name.replaceFirst("^blobs/sha256/", "").replaceFirst("\\.tar$", "");
                out.add(new Layer(name, lhex.matches("[0-9a-f]{64}") && !name.endsWith("/layer.tar") ? Optional.of("sha256:" + lhex) : Optional.empty(),
                        size.get(), diffIds.get(i)));
            }
            return new Spec(config, out);
        }
        throw new ImageException(NO_SUCH_TAG, src.describe() + ": no image tagged \"" + tag + "\" in manifest.json; tags there: "
                + (tags.isEmpty() ? "none" : String.join(", ", tags)));
    }

    private static List<String> diffIds(BlobSource src, JsonObject config) throws ImageException {
        JsonObject rootfs = config.getAsJsonObject("rootfs");
        JsonArray ids = rootfs == null ? null : rootfs.getAsJsonArray("diff_ids");
        if (ids == null) {
            throw new ImageException(MALFORMED, src.describe() + ": the image config has no rootfs.diff_ids");
        }
        List<String> out = new ArrayList<>();
        for (JsonElement e : ids) {
            String id = e.getAsString();
            if (!SHA256.matcher(id).matches()) {
                throw new ImageException(UNSUPPORTED_MEDIA_TYPE, src.describe() + ": diff id \"" + id + "\" is not a sha256 digest");
            }
            out.add(id);
        }
        return out;
    }

    private static Optional<String> digest(BlobSource src, JsonObject desc) throws ImageException {
        String d = string(desc, "digest", "descriptor");
        if (!SHA256.matcher(d).matches()) {
            throw new ImageException(UNSUPPORTED_MEDIA_TYPE, src.describe() + ": digest \"" + d + "\" is not a sha256 digest (sha256:<64 hex>)");
        }
        return Optional.of(d);
    }

    /** {@code blobs/sha256/<hex>} of a descriptor, which must be there. */
    private static String blobName(BlobSource src, JsonObject desc) throws IOException {
        String d = digest(src, desc).get();
        String name = "blobs/sha256/" + d.substring("sha256:".length());
        if (src.size(name).isEmpty()) {
            throw new ImageException(MISSING_BLOB, src.describe() + ": blob " + d + " (" + str(desc, "mediaType") + ") is missing: expected "
                    + name);
        }
        return name;
    }

    private static JsonObject object(BlobSource src, String name, Optional<String> digest) throws IOException {
        JsonElement e = parse(src, name, digest);
        if (!e.isJsonObject()) {
            throw new ImageException(MALFORMED, src.describe() + ": " + name + " is not a JSON object");
        }
        return e.getAsJsonObject();
    }

    /** Reads {@code name}, checks its digest when one is given, and parses it. */
    private static JsonElement parse(BlobSource src, String name, Optional<String> digest) throws IOException {
        Optional<Long> size = src.size(name);
        if (size.isEmpty()) {
            throw new ImageException(name.startsWith("blobs/") ? MISSING_BLOB : MALFORMED, src.describe() + ": " + name + " is missing");
        }
        if (size.get() > MAX_JSON) {
            throw new ImageException(MALFORMED, src.describe() + ": " + name + " is " + size.get() + " bytes, too big for a manifest or config");
        }
        byte[] bytes;
        try (InputStream in = src.open(name)) {
            bytes = in.readNBytes((int) MAX_JSON + 1);
        }
        if (digest.isPresent()) {
            String actual = "sha256:" + HexFormat.of().formatHex(sha256().digest(bytes));
            if (!actual.equals(digest.get())) {
                throw new ImageException(BAD_DIGEST, src.describe() + ": " + name + " has digest " + actual + ", expected " + digest.get()
                        + ": the image is corrupt or was altered");
            }
        }
        try {
            return JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
        } catch (JsonParseException e) {
            throw new ImageException(MALFORMED, src.describe() + ": " + name + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    static String string(JsonObject o, String key, String what) throws ImageException {
        String v = str(o, key);
        if (v == null) {
            throw new ImageException(MALFORMED, what + " has no \"" + key + "\"");
        }
        return v;
    }

    static String str(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || !e.isJsonPrimitive() ? null : e.getAsString();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
