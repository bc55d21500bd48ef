package dev.isolation.core.image;

import static dev.isolation.core.image.ImageException.Reason.HOSTILE_LAYER;
import static dev.isolation.core.image.ImageException.Reason.MALFORMED;

import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Extracts one layer's tar into an empty private directory, treating it as hostile: a name with a
 * {@code ..} component, a path through a symlink, or a hard link to anything but a regular file
 * already extracted from this layer is refused (the layer fails); a leading {@code /} is removed
 * (as GNU tar does); device nodes and FIFOs are dropped; setuid and setgid bits are dropped unless
 * {@code keepSetuid}. Nothing is ever followed: every parent is checked to be a real directory
 * made by this extraction. Tar xattrs are not applied (a layer cannot plant overlayfs xattrs).
 *
 * <p>Whiteouts become what overlayfs reads: {@code .wh.NAME} a 0:0 character device NAME (Linux
 * 5.8+ lets an unprivileged user make one), {@code .wh..wh..opq} the {@code user.overlay.opaque}
 * xattr on its directory, and {@code trusted.overlay.opaque} too when running as root.
 */
final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private final Path dir;
    private final boolean root;
    private final boolean keepSetuid;
    /** Directories extracted, with the mode and time they get once everything is in (they stay writable until then). */
    private final Map<Path, TarArchiveEntry> dirs = new LinkedHashMap<>();
    /** What this layer made, and the whiteouts it made: a whiteout applies to lower layers only. */
    private final Set<Path> made = new HashSet<>();
    private final Set<Path> whiteouts = new HashSet<>();
    /**
     * Directories this extraction made or found to be real directories, not checked again; emptied
     * whenever it removes anything (what was removed may have held them).
     */
    private final Set<Path> verified = new HashSet<>();
    private final byte[] buffer = new byte[1 << 20];

    LayerUnpacker(Path dir, boolean root, boolean keepSetuid) {
        this.dir = dir;
        this.root = root;
        this.keepSetuid = keepSetuid;
    }

    /** Extracts {@code tar} (uncompressed) into the directory and returns how many entries were dropped (devices, FIFOs). */
    int unpack(InputStream tar) throws IOException {
        int dropped = 0;
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        TarArchiveEntry e;
        while (true) {
            try {
                e = in.getNextEntry();
            } catch (IOException | IllegalArgumentException x) {
                throw new ImageException(MALFORMED, "not a valid tar: " + x.getMessage(), x);
            }
            if (e == null) {
                break;
            }
            dropped += entry(e, in) ? 0 : 1;
        }
        List<Path> order = new ArrayList<>(dirs.keySet());
        order.sort((a, b) -> b.getNameCount() - a.getNameCount()); // deepest first: a parent's mtime is set last
        for (Path d : order) {
            attributes(d, dirs.get(d), true);
        }
        if (!dirs.containsKey(dir)) {
            Files.setAttribute(dir, "unix:mode", 0755);
        }
        return dropped;
    }

    private boolean entry(TarArchiveEntry e, InputStream data) throws IOException {
        String raw = e.getName();
        List<String> parts = components(raw);
        if (parts.isEmpty()) {
            if (e.isDirectory()) {
                dirs.put(dir, e);
            }
            return true;
        }
        Path parent = parents(parts.subList(0, parts.size() - 1), raw);
        String base = parts.get(parts.size() - 1);
        if (base.startsWith(WHITEOUT)) {
            if (base.equals(OPAQUE)) {
                opaque(parent);
            } else if (!base.startsWith(WHITEOUT + WHITEOUT)) { // other .wh..wh. names are aufs bookkeeping
                String name = base.substring(WHITEOUT.length());
                if (name.equals(".") || name.equals("..") || name.isEmpty()) {
                    throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": a whiteout of \"" + name + "\": refused");
                }
                Path target = parent.resolve(name);
                if (made.contains(target)) {
                    // this layer made it (listed before its whiteout): it replaces what is below
                    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                        opaque(target);
                    }
                } else {
                    replace(target);
                    try {
                        Kernel.get().mknodWhiteout(target.toString());
                    } catch (NativeCallException x) {
                        throw new ImageException(ImageException.Reason.CACHE, "the image cache cannot hold a whiteout (\"" + raw + "\"): "
                                + x.getMessage() + "; an ordinary user may make one since Linux 5.8 (this is " + System.getProperty("os.version")
                                + "), on a file system that allows it (ext4, xfs, btrfs, tmpfs)", x);
                    }
                    whiteouts.add(target);
                }
            }
            return true;
        }
        Path target = parent.resolve(base);
        made.add(target);
        boolean file = !e.isDirectory() && !e.isSymbolicLink() && !e.isLink() && !e.isCharacterDevice() && !e.isBlockDevice()
                && !e.isFIFO() && e.isFile();
        BasicFileAttributes existing = file ? null : lstat(target); // a file is created exclusively, which finds what is there
        if (existing != null && !(existing.isDirectory() && e.isDirectory())) {
            replace(target);
        }
        if (e.isDirectory()) {
            if (existing == null || !existing.isDirectory()) {
                Files.createDirectory(target);
            }
            if (whiteouts.remove(target)) {
                opaque(target); // deleted and made again in this layer: nothing of the lower layers shows through
            }
            dirs.put(target, e);
            verified.add(target);
        } else if (e.isSymbolicLink()) {
            Files.createSymbolicLink(target, Path.of(e.getLinkName()));
            attributes(target, e, false);
        } else if (e.isLink()) {
            List<String> to = components(e.getLinkName());
            Path source = to.isEmpty() ? dir : parents(to.subList(0, to.size() - 1), e.getLinkName()).resolve(to.get(to.size() - 1));
            BasicFileAttributes a = lstat(source);
            if (to.isEmpty() || a == null || !a.isRegularFile()) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": a hard link to \"" + e.getLinkName()
                        + "\", which is not a regular file extracted earlier from this layer: refused");
            }
            Files.createLink(target, source);
        } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            return false; // never made: a device node could open the host's devices; a FIFO is not worth the risk
        } else if (file) {
            FileChannel created;
            try {
                created = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            } catch (FileAlreadyExistsException x) {
                replace(target); // an earlier entry of this layer: the later one wins
                created = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            }
            try (FileChannel out = created) {
                for (int n; (n = data.read(buffer)) > 0;) {
                    ByteBuffer b = ByteBuffer.wrap(buffer, 0, n);
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                }
            }
            attributes(target, e, false);
        } else {
            return false; // a device node, a FIFO: never made
        }
        return true;
    }

    /** The components of a tar name: a leading "/" or "./" removed; "..", "." or empty components are refused. */
    private static List<String> components(String raw) throws ImageException {
        String n = raw;
        while (n.startsWith("/")) {
            n = n.substring(1);
        }
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        List<String> out = new ArrayList<>();
        if (n.isEmpty()) {
            return out;
        }
        String[] parts = n.split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (p.equals(".") && i == 0 && out.isEmpty()) {
                continue;
            }
            if (p.isEmpty() || p.equals(".") || p.equals("..") || p.indexOf('\0') >= 0) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": the component \"" + p
                        + "\" could lead out of the layer: refused (the layer is not unpacked)");
            }
            out.add(p);
        }
        return out;
    }

    /** The directory of {@code names} below the layer's, made where missing; a symlink or file on the way is refused. */
    private Path parents(List<String> names, String raw) throws IOException {
        Path p = dir;
        for (String name : names) {
            p = p.resolve(name);
            if (verified.contains(p)) {
                continue;
            }
            BasicFileAttributes a = lstat(p);
            if (a == null) {
                Files.createDirectory(p);
                dirs.putIfAbsent(p, null);
                made.add(p);
            } else if (!a.isDirectory()) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": \"" + dir.relativize(p) + "\" on its path is "
                        + (a.isSymbolicLink() ? "a symlink" : "not a directory") + ": refused (nothing is written through a symlink)");
            }
            verified.add(p);
        }
        return p;
    }

    private void opaque(Path d) throws IOException {
        byte[] y = "y".getBytes(StandardCharsets.US_ASCII);
        Kernel k = Kernel.get();
        try {
            k.setXattr(d.toString(), "user.overlay.opaque", y);
            if (root) {
                k.setXattr(d.toString(), "trusted.overlay.opaque", y);
            }
        } catch (NativeCallException x) {
            throw new ImageException(ImageException.Reason.CACHE, "the image cache cannot hold an opaque directory: " + x.getMessage()
                    + "; put the cache (isolation.imageCache) on a file system with extended attributes (ext4, xfs, btrfs, tmpfs 6.6+)", x);
        }
    }

    /** Owner (as root), mode and modification time of an extracted entry; never through a symlink. */
    private void attributes(Path p, TarArchiveEntry e, boolean directory) throws IOException {
        if (e == null) {
            Files.setAttribute(p, "unix:mode", 0755, LinkOption.NOFOLLOW_LINKS);
            return;
        }
        if (root) {
            Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
        }
        if (!e.isSymbolicLink()) {
            int mode = e.getMode() & (keepSetuid ? 07777 : 01777);
            Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
        }
        FileTime t = FileTime.from(e.getLastModifiedDate().toInstant());
        // the access time too: with only one of them the JDK reads the other first (one stat more per entry)
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(t, t, null);
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Removes what an entry replaces, and forgets which directories were checked. */
    private void replace(Path p) throws IOException {
        verified.clear();
        remove(p);
    }

    /** Removes {@code p} and all below it, never following a symlink; nothing if it is not there. */
    static void remove(Path p) throws IOException {
        if (lstat(p) == null) {
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                Files.setAttribute(d, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS); // a read-only directory of a rootless unpack
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
