package dev.isolation.core;

import dev.isolation.core.image.OciImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.Optional;

/**
 * An image's {@code User} as numeric ids: {@code uid}, {@code uid:gid}, {@code name} or {@code
 * name:group}, names looked up in the image's own {@code /etc/passwd} and {@code /etc/group} (the
 * topmost layer that has the file, whiteouts and opaque directories honoured; nothing followed).
 * Empty for no user and for uid 0, the library's default identity.
 */
final class ImageUser {
    private static final int MAX_FILE = 1 << 20;

    private ImageUser() {}

    /** @throws IllegalStateException naming a user or group the image does not have */
    static Optional<int[]> resolve(OciImage image) {
        if (image.user().isEmpty()) {
            return Optional.empty();
        }
        String spec = image.user().get();
        String[] parts = spec.split(":", 2);
        int uid;
        Optional<Integer> primaryGid = Optional.empty();
        if (parts[0].matches("\\d{1,9}")) {
            uid = Integer.parseInt(parts[0]);
            primaryGid = find(image, "etc/passwd", 2, parts[0]).map(f -> Integer.parseInt(f[3]));
        } else {
            String[] pw = find(image, "etc/passwd", 0, parts[0]).orElseThrow(() -> new IllegalStateException("image "
                    + image.reference() + ": User \"" + spec + "\" is not in the image's /etc/passwd: use a uid, or runAs(uid, gid)"));
            uid = Integer.parseInt(pw[2]);
            primaryGid = Optional.of(Integer.parseInt(pw[3]));
        }
        int gid;
        if (parts.length == 2) {
            gid = parts[1].matches("\\d{1,9}") ? Integer.parseInt(parts[1])
                    : Integer.parseInt(find(image, "etc/group", 0, parts[1]).orElseThrow(() -> new IllegalStateException("image "
                            + image.reference() + ": the group of User \"" + spec + "\" is not in the image's /etc/group"))[2]);
        } else {
            gid = primaryGid.orElse(uid);
        }
        return uid == 0 ? Optional.empty() : Optional.of(new int[] {uid, gid});
    }

    /** The line of {@code file} whose field {@code field} is {@code value}, split at ':'. */
    private static Optional<String[]> find(OciImage image, String file, int field, String value) {
        Optional<String> content = read(image.layerDirectories(), file);
        if (content.isEmpty()) {
            return Optional.empty();
        }
        for (String line : content.get().split("\n")) {
            String[] f = line.split(":", -1);
            if (f.length >= 4 && f[field].equals(value) && f[2].matches("\\d{1,9}") && f[3].matches("\\d{1,9}")) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** {@code etc/NAME} as the overlay would show it, read without following symlinks; empty if missing or not a regular file. */
    private static Optional<String> read(List<Path> layersBottomFirst, String name) {
        for (int i = layersBottomFirst.size() - 1; i >= 0; i--) {
            Path layer = layersBottomFirst.get(i);
            try {
                BasicFileAttributes etc = lstat(layer.resolve("etc"));
                if (etc != null && !etc.isDirectory()) {
                    return Optional.empty(); // deleted or replaced by a non-directory: nothing below shows
                }
                if (etc != null) {
                    BasicFileAttributes f = lstat(layer.resolve(name));
                    if (f != null && f.isRegularFile() && f.size() <= MAX_FILE) {
                        try (InputStream in = Files.newInputStream(layer.resolve(name), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                            return Optional.of(new String(in.readNBytes(MAX_FILE), StandardCharsets.UTF_8));
                        }
                    }
                    if (f != null || opaque(layer.resolve("etc"))) {
                        return Optional.empty(); // a whiteout, a symlink, or an opaque /etc
                    }
                }
            } catch (IOException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    private static boolean opaque(Path dir) {
        try {
            UserDefinedFileAttributeView v = Files.getFileAttributeView(dir, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            return v.list().contains("overlay.opaque") && v.read("overlay.opaque", ByteBuffer.allocate(8)) > 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }
}
