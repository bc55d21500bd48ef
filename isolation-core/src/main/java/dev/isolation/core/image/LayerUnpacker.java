package dev.isolation.core.image;

import static dev.isolation.core.image.ImageException.Reason.HOSTILE_LAYER;
import static dev.isolation.core.image.ImageException.Reason.MALFORMED;

import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
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
 * <p>Every entry is made relative to an open descriptor of its directory ({@code openat},
 * {@code mkdirat}, {@code symlinkat}, {@code linkat}), each directory opened from its parent with
 * {@code O_NOFOLLOW} (a symlink or file on the way fails there), and a file's owner, mode and
 * time are set on its open descriptor: a path is resolved once, component by component, never
 * again per call. The descriptors of the directories used last are kept open. A regular file's
 * bytes are written straight from the hashed chunks of the {@link HashingInputStream}.
 *
 * <p>Whiteouts become what overlayfs reads: {@code .wh.NAME} a 0:0 character device NAME (Linux
 * 5.8+ lets an unprivileged user make one), {@code .wh..wh..opq} the {@code user.overlay.opaque}
 * xattr on its directory, and {@code trusted.overlay.opaque} too when running as root.
 */
final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    private static final int ENOENT = 2, EEXIST = 17, ENOTDIR = 20, ELOOP = 40;
    private static final int S_IFMT = 0170000, S_IFLNK = 0120000;
    private static final int DIR_FLAGS = Kernel.O_RDONLY | Kernel.O_DIRECTORY | Kernel.O_NOFOLLOW;
    /** Directory descriptors kept open between entries (most tars list a directory's entries together). */
    private static final int OPEN_DIRECTORIES = 64;

    private final Path dir;
    private final boolean root;
    private final boolean keepSetuid;
    private final Kernel kernel = Kernel.get();
    /**
     * Directories extracted (by their names below the layer's, "" the layer's own), with the mode and
     * time they get once everything is in (they stay writable until then); null: made as a parent.
     */
    private final TreeMap<String, TarArchiveEntry> dirs = new TreeMap<>();
    /** What this layer made, and the whiteouts it made: a whiteout applies to lower layers only. */
    private final TreeSet<String> made = new TreeSet<>();
    private final TreeSet<String> whiteouts = new TreeSet<>();
    /**
     * Open descriptors of directories this extraction made or found to be real directories, least
     * recently used first. Closed only between entries, or when what they name is removed.
     */
    private final LinkedHashMap<String, Integer> fds = new LinkedHashMap<>(OPEN_DIRECTORIES * 2, 0.75f, true);
    private int rootFd = -1;
    /** For the rare entry not written straight from the chunks (a sparse file). */
    private final byte[] buffer = new byte[1 << 16];
    private ByteBuffer direct;

    LayerUnpacker(Path dir, boolean root, boolean keepSetuid) {
        this.dir = dir;
        this.root = root;
        this.keepSetuid = keepSetuid;
    }

    /** Extracts {@code tar} (uncompressed) into the directory and returns how many entries were dropped (devices, FIFOs). */
    int unpack(HashingInputStream tar) throws IOException {
        int dropped = 0;
        TarStream in = new TarStream(tar);
        try {
            rootFd = kernel.open(dir.toString(), DIR_FLAGS, 0);
            while (true) {
                TarArchiveEntry e;
                try {
                    e = in.getNextEntry();
                } catch (IOException | IllegalArgumentException x) {
                    throw new ImageException(MALFORMED, "not a valid tar: " + x.getMessage(), x);
                }
                if (e == null) {
                    break;
                }
                trimDescriptors();
                dropped += entry(e, in) ? 0 : 1;
            }
            finish();
            return dropped;
        } catch (NativeCallException x) {
            FileSystemException f = new FileSystemException(dir.toString(), null, x.getMessage());
            f.initCause(x);
            throw f;
        } finally {
            for (int fd : fds.values()) {
                kernel.close(fd);
            }
            fds.clear();
            if (rootFd >= 0) {
                kernel.close(rootFd);
            }
        }
    }

    /** Each directory's owner, mode and time, deepest first: a parent's time is set after its children's (and stays). */
    private void finish() throws IOException {
        List<String> order = new ArrayList<>(dirs.keySet());
        order.remove("");
        order.sort((a, b) -> depth(b) - depth(a));
        for (String d : order) {
            trimDescriptors();
            List<String> parts = List.of(d.split("/"));
            attributes(directory(parts, parts.size(), d, false), dirs.get(d));
        }
        attributes(rootFd, dirs.get(""));
    }

    private static int depth(String name) {
        int n = 1;
        for (int i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
            n++;
        }
        return n;
    }

    private boolean entry(TarArchiveEntry e, TarStream in) throws IOException {
        String raw = e.getName();
        List<String> parts = components(raw);
        if (parts.isEmpty()) {
            if (e.isDirectory()) {
                dirs.put("", e);
            }
            return true;
        }
        int parent = directory(parts, parts.size() - 1, raw, true);
        String prefix = parts.size() == 1 ? "" : String.join("/", parts.subList(0, parts.size() - 1)) + "/";
        String base = parts.get(parts.size() - 1);
        if (base.startsWith(WHITEOUT)) {
            if (base.equals(OPAQUE)) {
                opaque(parent);
            } else if (!base.startsWith(WHITEOUT + WHITEOUT)) { // other .wh..wh. names are aufs bookkeeping
                String name = base.substring(WHITEOUT.length());
                if (name.equals(".") || name.equals("..") || name.isEmpty()) {
                    throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": a whiteout of \"" + name + "\": refused");
                }
                String target = prefix + name;
                if (made.contains(target)) {
                    // this layer made it (listed before its whiteout): it replaces what is below
                    int fd = openDirectory(parent, name);
                    if (fd >= 0) {
                        try {
                            opaque(fd);
                        } finally {
                            kernel.close(fd);
                        }
                    }
                } else {
                    replace(parent, name, target);
                    try {
                        kernel.mknodWhiteoutAt(parent, name);
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
        String target = prefix + base;
        made.add(target);
        boolean file = !e.isDirectory() && !e.isSymbolicLink() && !e.isLink() && !e.isCharacterDevice() && !e.isBlockDevice()
                && !e.isFIFO() && e.isFile();
        if (e.isDirectory()) {
            Integer open = fds.get(target);
            int fd = open == null ? -1 : open;
            if (fd < 0) {
                try {
                    kernel.mkdirat(parent, base, 0700);
                } catch (NativeCallException x) {
                    if (x.errno() != EEXIST) {
                        throw x;
                    }
                    fd = openDirectory(parent, base); // a directory again: kept, with what is in it
                    if (fd < 0) {
                        replace(parent, base, target);
                        kernel.mkdirat(parent, base, 0700);
                    }
                }
                if (fd < 0) {
                    fd = kernel.openat(parent, base, DIR_FLAGS, 0);
                }
                fds.put(target, fd); // its entries are likely next
            }
            if (whiteouts.remove(target)) {
                opaque(fd); // deleted and made again in this layer: nothing of the lower layers shows through
            }
            dirs.put(target, e);
        } else if (e.isSymbolicLink()) {
            try {
                kernel.symlinkat(e.getLinkName(), parent, base);
            } catch (NativeCallException x) {
                if (x.errno() != EEXIST) {
                    throw x;
                }
                replace(parent, base, target);
                kernel.symlinkat(e.getLinkName(), parent, base);
            }
            if (root) {
                kernel.fchownatNoFollow(parent, base, (int) e.getLongUserId(), (int) e.getLongGroupId());
            }
            kernel.utimensatNoFollow(parent, base, time(e));
        } else if (e.isLink()) {
            List<String> to = components(e.getLinkName());
            String source = String.join("/", to);
            int from = to.isEmpty() ? -1 : directory(to, to.size() - 1, e.getLinkName(), true);
            if (to.isEmpty() || !regularFile(from, to.get(to.size() - 1))) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": a hard link to \"" + e.getLinkName()
                        + "\", which is not a regular file extracted earlier from this layer: refused");
            }
            if (source.equals(target) || source.startsWith(target + "/")) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": a hard link to \"" + e.getLinkName()
                        + "\", which it would replace: refused");
            }
            try {
                kernel.linkat(from, to.get(to.size() - 1), parent, base);
            } catch (NativeCallException x) {
                if (x.errno() != EEXIST) {
                    throw x;
                }
                replace(parent, base, target); // never the source's directory: checked above
                kernel.linkat(from, to.get(to.size() - 1), parent, base);
            }
        } else if (file) {
            int fd;
            try {
                fd = kernel.openat(parent, base, Kernel.O_WRONLY | Kernel.O_CREAT | Kernel.O_EXCL | Kernel.O_NOFOLLOW, 0600);
            } catch (NativeCallException x) {
                if (x.errno() != EEXIST) {
                    throw x;
                }
                replace(parent, base, target); // an earlier entry of this layer: the later one wins
                fd = kernel.openat(parent, base, Kernel.O_WRONLY | Kernel.O_CREAT | Kernel.O_EXCL | Kernel.O_NOFOLLOW, 0600);
            }
            try {
                if (e.isSparse()) {
                    copy(in, fd);
                } else if (in.writeTo(kernel, fd, e.getSize()) != e.getSize()) {
                    throw new ImageException(MALFORMED, "not a valid tar: the data of entry \"" + raw + "\" is cut short");
                }
                attributes(fd, e);
            } finally {
                kernel.close(fd);
            }
        } else {
            // a device node or a FIFO is never made (it could open the host's devices; a FIFO is not worth the
            // risk), but it still replaces what was there, as it would in tar
            if (exists(parent, base)) {
                replace(parent, base, target);
            }
            return false;
        }
        return true;
    }

    /** Writes the rest of the current entry (a sparse file: holes and all) to {@code fd}. */
    private void copy(TarStream in, int fd) throws IOException {
        if (direct == null) {
            direct = ByteBuffer.allocateDirect(buffer.length);
        }
        for (int n; (n = in.read(buffer)) > 0;) {
            direct.clear();
            direct.put(buffer, 0, n).flip();
            kernel.write(fd, direct);
        }
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

    /**
     * An open descriptor of the directory of the first {@code n} of {@code names} below the layer's,
     * each component opened from its parent with O_NOFOLLOW and made where missing ({@code create});
     * a symlink or file on the way is refused. Valid until the next entry (or a removal of it).
     */
    private int directory(List<String> names, int n, String raw, boolean create) throws IOException {
        if (n == 0) {
            return rootFd;
        }
        String key = n == 1 ? names.get(0) : String.join("/", names.subList(0, n));
        Integer cached = fds.get(key);
        if (cached != null) {
            return cached;
        }
        int parent = directory(names, n - 1, raw, create);
        String name = names.get(n - 1);
        int fd;
        try {
            fd = kernel.openat(parent, name, DIR_FLAGS, 0);
        } catch (NativeCallException x) {
            if (x.errno() == ENOENT && create) {
                kernel.mkdirat(parent, name, 0700);
                dirs.putIfAbsent(key, null);
                made.add(key);
                fd = kernel.openat(parent, name, DIR_FLAGS, 0);
            } else if (x.errno() == ENOTDIR || x.errno() == ELOOP) {
                throw new ImageException(HOSTILE_LAYER, "tar entry \"" + raw + "\": \"" + key + "\" on its path is "
                        + (symlink(parent, name) ? "a symlink" : "not a directory") + ": refused (nothing is written through a symlink)");
            } else {
                throw x;
            }
        }
        fds.put(key, fd);
        return fd;
    }

    /** Closes the directory descriptors used least recently; only between entries, when none is in use. */
    private void trimDescriptors() {
        for (Iterator<Integer> i = fds.values().iterator(); fds.size() > OPEN_DIRECTORIES && i.hasNext();) {
            kernel.close(i.next());
            i.remove();
        }
    }

    /** {@code name} in {@code parent} opened as a directory, never through a symlink; -1 if it is not one. */
    private int openDirectory(int parent, String name) {
        try {
            return kernel.openat(parent, name, DIR_FLAGS, 0);
        } catch (NativeCallException x) {
            if (x.errno() == ENOTDIR || x.errno() == ELOOP || x.errno() == ENOENT) {
                return -1;
            }
            throw x;
        }
    }

    /** What lstat would say of {@code name} in {@code parent}: its mode, or -1 if there is nothing. */
    private int lstatMode(int parent, String name) {
        int fd;
        try {
            fd = kernel.openat(parent, name, Kernel.O_PATH | Kernel.O_NOFOLLOW, 0);
        } catch (NativeCallException x) {
            if (x.errno() == ENOENT) {
                return -1;
            }
            throw x;
        }
        try {
            return kernel.fstat(fd).mode();
        } finally {
            kernel.close(fd);
        }
    }

    private boolean exists(int parent, String name) {
        return lstatMode(parent, name) >= 0;
    }

    private boolean symlink(int parent, String name) {
        return (lstatMode(parent, name) & S_IFMT) == S_IFLNK;
    }

    private boolean regularFile(int parent, String name) {
        int mode = lstatMode(parent, name);
        return mode >= 0 && (mode & S_IFMT) == 0100000;
    }

    private void opaque(int fd) throws IOException {
        byte[] y = "y".getBytes(StandardCharsets.US_ASCII);
        try {
            kernel.setXattr(fd, "user.overlay.opaque", y);
            if (root) {
                kernel.setXattr(fd, "trusted.overlay.opaque", y);
            }
        } catch (NativeCallException x) {
            throw new ImageException(ImageException.Reason.CACHE, "the image cache cannot hold an opaque directory: " + x.getMessage()
                    + "; put the cache (isolation.imageCache) on a file system with extended attributes (ext4, xfs, btrfs, tmpfs 6.6+)", x);
        }
    }

    /** Owner (as root), mode and modification time of an extracted file or directory, on its open descriptor. */
    private void attributes(int fd, TarArchiveEntry e) {
        if (e == null) {
            kernel.fchmod(fd, 0755);
            return;
        }
        if (root) {
            kernel.fchown(fd, (int) e.getLongUserId(), (int) e.getLongGroupId()); // before the mode: chown clears setuid bits
        }
        kernel.fchmod(fd, e.getMode() & (keepSetuid ? 07777 : 01777));
        kernel.futimens(fd, time(e)); // after the last write, which would move it
    }

    /** The entry's modification time, which is also given as its access time. */
    private static Instant time(TarArchiveEntry e) {
        return e.getLastModifiedDate().toInstant();
    }

    /**
     * Removes what an entry replaces ({@code name} in {@code parent}, known as {@code target}), and
     * forgets what was below it: its open directories, and the directories whose attributes were due.
     */
    private void replace(int parent, String name, String target) throws IOException {
        String below = target + "/";
        for (Iterator<Map.Entry<String, Integer>> i = fds.entrySet().iterator(); i.hasNext();) {
            Map.Entry<String, Integer> d = i.next();
            if (d.getKey().equals(target) || d.getKey().startsWith(below)) {
                kernel.close(d.getValue());
                i.remove();
            }
        }
        dirs.remove(target);
        dirs.subMap(below, target + "0").clear(); // '0' follows '/': every name below
        made.subSet(below, target + "0").clear();
        whiteouts.subSet(below, target + "0").clear();
        remove(dir.resolve(target));
    }

    /** The layer's tar: a regular file's data may be written straight from the hashed chunks ({@link #writeTo}). */
    private static final class TarStream extends TarArchiveInputStream {
        private final HashingInputStream source;
        /** The current entry's data was written by {@link #writeTo}: reading or skipping it finds its end. */
        private boolean drained;

        TarStream(HashingInputStream source) {
            super(source);
            this.source = source;
        }

        /** Writes the current entry's {@code size} bytes of data to {@code fd}; fewer only if the tar is cut short. */
        long writeTo(Kernel kernel, int fd, long size) throws IOException {
            long n = source.writeTo(kernel, fd, size);
            count(n);
            drained = true;
            return n;
        }

        @Override
        protected byte[] readRecord() throws IOException {
            drained = false; // the next header: a new entry (its padding was skipped after the drained data)
            return super.readRecord();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return drained ? -1 : super.read(b, off, len);
        }

        @Override
        public long skip(long n) throws IOException {
            return drained ? 0 : super.skip(n);
        }

        @Override
        public int available() throws IOException {
            return drained ? 0 : super.available();
        }
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
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
