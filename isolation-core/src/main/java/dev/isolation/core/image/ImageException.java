package dev.isolation.core.image;

import dev.isolation.core.SandboxException;

/**
 * An image cannot be read or unpacked: {@link #reason()} says what kind of defect, the message
 * names the blob, digest, media type or tar entry and what to do. Nothing is left behind: a layer
 * that failed to unpack leaves no directory in the cache.
 *
 * @since 0.1.0
 */
public final class ImageException extends SandboxException {
    private static final long serialVersionUID = 1L;

    /**
     * What was wrong with the image.
     *
     * @since 0.1.0
     */
    public enum Reason {
        /** A blob's content does not have the digest its descriptor (or the config's diff_ids) names. */
        BAD_DIGEST,
        /** A blob the manifest names is not in the image. */
        MISSING_BLOB,
        /** A manifest, config or layer of a media type this library does not read. */
        UNSUPPORTED_MEDIA_TYPE,
        /** No manifest for the requested tag. */
        NO_SUCH_TAG,
        /** A file of the image is not what its format says (bad JSON, missing field, not a tar). */
        MALFORMED,
        /** A layer's tar tries to write outside its directory (a {@code ../} name, a path through a symlink, a hard link out). */
        HOSTILE_LAYER,
        /** The image cache cannot be used (not a directory, not ours, not writable). */
        CACHE
    }

    /** What kind of problem it is. */
    private final Reason reason;

    /**
     * An image problem.
     *
     * @param reason what kind of problem it is
     * @param message what is wrong, naming the file, digest or entry
     */
    public ImageException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    /**
     * An image problem with its cause.
     *
     * @param reason what kind of problem it is
     * @param message what is wrong, naming the file, digest or entry
     * @param cause the underlying error
     */
    public ImageException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** {@return what kind of problem it is} */
    public Reason reason() {
        return reason;
    }
}
