package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The native helper, made executable once per JVM without an attacker-writable window: a sealed
 * memfd (no path at all; its content can no longer change), or, where memfds cannot be executed,
 * a private 0700 cache directory whose file name is the content's SHA-256 and whose content is
 * checked before use. System property {@code isolation.helper=memfd|cache} forces one.
 */
public final class HelperBinary {
    private static volatile HelperBinary instance;

    private final String path;
    private final String mode;

    private HelperBinary(String path, String mode) {
        this.path = path;
        this.mode = mode;
    }

    public static HelperBinary get() {
        HelperBinary h = instance;
        if (h == null) {
            synchronized (HelperBinary.class) {
                h = instance;
                if (h == null) {
                    instance = h = load();
                }
            }
        }
        return h;
    }

    /** The path the JVM executes: {@code /proc/self/fd/N} for a memfd, or the cache file. */
    public String path() {
        return path;
    }

    /** {@code "sealed memfd"} or {@code "cache directory DIR"}. */
    public String mode() {
        return mode;
    }

    static String architecture() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static HelperBinary load() {
        byte[] bytes = resource();
        String forced = System.getProperty("isolation.helper", "");
        if (!forced.equals("cache")) {
            try {
                int fd = Kernel.get().sealedMemfd("isolation-helper", bytes);
                return new HelperBinary("/proc/self/fd/" + fd, "sealed memfd");
            } catch (NativeCallException e) {
                if (forced.equals("memfd")) {
                    throw e;
                }
            }
        }
        return cached(bytes);
    }

    private static byte[] resource() {
        String name = "native/linux-" + architecture() + "/isolation-helper";
        try (InputStream in = HelperBinary.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new UnsupportedOperationException("no isolation helper for linux-" + architecture()
                        + " in this build of isolation-core (expected resource " + name + ")");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the isolation helper resource " + name, e);
        }
    }

    private static HelperBinary cached(byte[] bytes) {
        try {
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            String base = System.getenv("XDG_CACHE_HOME");
            Path dir = (base != null && !base.isEmpty() ? Path.of(base) : Path.of(System.getProperty("user.home"), ".cache"))
                    .resolve("isolation");
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            if (!Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"))
                    && Kernel.get().getuid() != 0) {
                throw new IOException(dir + " is not owned by " + System.getProperty("user.name"));
            }
            Path file = dir.resolve("isolation-helper-" + hash.substring(0, 32).toLowerCase(Locale.ROOT));
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || !hash.equals(sha256(file))) {
                Path tmp = Files.createTempFile(dir, "isolation-helper", ".tmp");
                try {
                    Files.write(tmp, bytes);
                    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-x------"));
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
            return new HelperBinary(file.toString(), "cache directory " + dir);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot install the isolation helper: " + e.getMessage(), e);
        }
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
