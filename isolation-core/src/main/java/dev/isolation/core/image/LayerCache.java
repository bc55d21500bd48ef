package dev.isolation.core.image;

import static dev.isolation.core.image.ImageException.Reason.CACHE;

import dev.isolation.core.internal.linux.Kernel;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Unpacked layers, one directory per diff digest ({@code layers/<hex>/root}, {@code layers/<hex>-setuid/root}
 * when setuid bits were kept), in a directory private to this user. A layer is unpacked into
 * {@code tmp/} and renamed into place atomically while holding {@code locks/<hex>.lock} (a POSIX
 * record lock, so two JVMs never unpack one layer twice at once; a JVM's threads queue on an
 * in-process lock first). A directory in {@code layers/} is complete by construction; one left in
 * {@code tmp/} by a JVM that died is removed by the next unpack of that layer.
 */
final class LayerCache {
    private static final Map<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

    /** Unpacks a layer into an empty directory. */
    interface Unpack {
        void into(Path dir) throws IOException;
    }

    private final Path root;

    LayerCache(Path root) throws ImageException {
        this.root = root.toAbsolutePath().normalize();
        try {
            for (Path d : new Path[] {this.root, this.root.resolve("layers"), this.root.resolve("tmp"), this.root.resolve("locks")}) {
                try {
                    Files.createDirectories(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException e) {
                    // a symlink or file: checked below
                }
                check(d);
            }
        } catch (IOException e) {
            throw new ImageException(CACHE, "image cache \"" + this.root + "\": " + e.getMessage()
                    + "; choose a directory of your own with -Disolation.imageCache=DIR or OciImage.reader().cache(DIR)", e);
        }
    }

    /** The default cache: {@code -Disolation.imageCache}, else /var/cache/isolation-images for root, else ~/.cache/isolation-images. */
    static Path defaultRoot() {
        String configured = System.getProperty("isolation.imageCache");
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured);
        }
        int uid = Kernel.get().getuid();
        if (uid == 0) {
            return Path.of("/var/cache/isolation-images");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && xdg.startsWith("/")) {
            return Path.of(xdg, "isolation-images");
        }
        Path home = Path.of(System.getProperty("user.home", "/nonexistent"));
        if (Files.isDirectory(home) && Files.isWritable(home)) {
            return home.resolve(".cache").resolve("isolation-images");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "isolation-images-" + uid);
    }

    private static void check(Path d) throws IOException {
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("\"" + d + "\" is not a directory (or is a symlink)");
        }
        int owner = (Integer) Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(d, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (owner != Kernel.get().getuid()) {
            throw new IOException("\"" + d + "\" belongs to uid " + owner + ", not to this user");
        }
        if ((mode & 022) != 0) {
            throw new IOException("\"" + d + "\" is writable by others (mode " + Integer.toOctalString(mode & 07777) + ")");
        }
    }

    Path root() {
        return root;
    }

    /** The directory of layer {@code diffId} ("sha256:..."), unpacked by {@code unpack} unless it is cached. */
    Path layer(String diffId, boolean keepSetuid, Unpack unpack) throws IOException {
        String hex = diffId.substring("sha256:".length());
        String key = hex + (keepSetuid ? "-setuid" : "");
        Path done = root.resolve("layers").resolve(key);
        if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
            return done.resolve("root");
        }
        Object jvmLock = IN_PROCESS.computeIfAbsent(done, p -> new Object());
        synchronized (jvmLock) {
            try (FileChannel ch = FileChannel.open(root.resolve("locks").resolve(key + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                    FileLock lock = ch.lock()) {
                if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
                    return done.resolve("root"); // another JVM made it while we waited
                }
                try (DirectoryStream<Path> stale = Files.newDirectoryStream(root.resolve("tmp"), key + ".*")) {
                    for (Path s : stale) {
                        LayerUnpacker.remove(s); // left by a JVM that died while unpacking
                    }
                }
                Path tmp = Files.createTempDirectory(root.resolve("tmp"), key + ".");
                try {
                    Path layerRoot = Files.createDirectory(tmp.resolve("root"));
                    unpack.into(layerRoot);
                    // the wrapper (ours, 0700) moves, not the layer's root: a read-only directory cannot be renamed by its owner
                    Files.move(tmp, done, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException | RuntimeException e) {
                    try {
                        LayerUnpacker.remove(tmp);
                    } catch (IOException x) {
                        e.addSuppressed(x);
                    }
                    throw e;
                }
                return done.resolve("root");
            }
        }
    }
}
