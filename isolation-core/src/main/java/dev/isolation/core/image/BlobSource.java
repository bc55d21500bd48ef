package dev.isolation.core.image;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * The files of an image, by their relative names: a directory (an OCI layout) or a tar archive
 * (an OCI archive or a docker-archive, read in place, never extracted whole). Names are matched
 * exactly after removing a leading {@code ./}; a name with a {@code ..} component is never looked up.
 */
abstract class BlobSource implements Closeable {
    /** The size of {@code name}, empty if there is no regular file of that name. */
    abstract Optional<Long> size(String name) throws IOException;

    /** Opens {@code name}, which {@link #size} found. */
    abstract InputStream open(String name) throws IOException;

    /** Opens {@code name} as a channel: a file of its own is read with no copy through a stream. */
    ReadableByteChannel channel(String name) throws IOException {
        return java.nio.channels.Channels.newChannel(open(name));
    }

    /** How error messages name the image. */
    abstract String describe();

    static BlobSource open(Path path) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.MALFORMED, "image \"" + path + "\": no such file or directory");
        }
        return a.isDirectory() ? new Directory(path.toRealPath()) : new Archive(path.toRealPath());
    }

    static String clean(String name) {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        return n;
    }

    static boolean safe(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /** An OCI layout directory: files are opened without following symlinks. */
    static final class Directory extends BlobSource {
        private final Path root;

        Directory(Path root) {
            this.root = root;
        }

        @Override
        Optional<Long> size(String name) throws IOException {
            String n = clean(name);
            if (!safe(n)) {
                return Optional.empty();
            }
            try {
                BasicFileAttributes a = Files.readAttributes(root.resolve(n), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                return a.isRegularFile() ? Optional.of(a.size()) : Optional.empty();
            } catch (java.nio.file.NoSuchFileException e) {
                return Optional.empty();
            }
        }

        @Override
        InputStream open(String name) throws IOException {
            return java.nio.channels.Channels.newInputStream(channel(name));
        }

        @Override
        FileChannel channel(String name) throws IOException {
            return FileChannel.open(root.resolve(clean(name)), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        String describe() {
            return root.toString();
        }

        @Override
        public void close() {}
    }

    /** A tar archive ({@code docker save}, {@code skopeo copy ... docker-archive:} or {@code oci-archive:}). */
    static final class Archive extends BlobSource {
        private final Path path;
        private final TarFile tar;
        private final Map<String, TarArchiveEntry> entries = new HashMap<>();

        Archive(Path path) throws IOException {
            this.path = path;
            try {
                this.tar = new TarFile(path);
            } catch (IOException | RuntimeException e) {
                throw new ImageException(ImageException.Reason.MALFORMED,
                        "image \"" + path + "\" is neither a directory nor a readable tar archive: " + e.getMessage(), e);
            }
            for (TarArchiveEntry e : tar.getEntries()) {
                if (e.isFile()) {
                    entries.put(clean(e.getName()), e);
                }
            }
        }

        @Override
        Optional<Long> size(String name) {
            return Optional.ofNullable(entries.get(clean(name))).map(TarArchiveEntry::getSize);
        }

        @Override
        InputStream open(String name) throws IOException {
            return tar.getInputStream(entries.get(clean(name)));
        }

        @Override
        String describe() {
            return path.toString();
        }

        @Override
        public void close() throws IOException {
            tar.close();
        }
    }
}
