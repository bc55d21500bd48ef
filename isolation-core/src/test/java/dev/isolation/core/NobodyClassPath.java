package dev.isolation.core;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** A copy of this JVM's class path that {@code nobody} can read, for the tests that run a JVM as nobody. */
public final class NobodyClassPath {
    private NobodyClassPath() {}

    /** Copies every class path entry into {@code dir} (made world-readable, as everything in it); the copies' paths. */
    public static List<String> copyInto(Path dir) throws IOException {
        List<String> classpath = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(entry);
            Path copy = dir.resolve(i++ + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (Stream<Path> all = Files.walk(src)) {
                    for (Path f : (Iterable<Path>) all::iterator) {
                        Path target = copy.resolve(src.relativize(f).toString());
                        if (Files.isDirectory(f)) {
                            Files.createDirectories(target);
                        } else {
                            Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                        }
                    }
                }
            } else if (Files.exists(src)) {
                Files.copy(src, copy);
            }
            classpath.add(copy.toString());
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return classpath;
    }
}
