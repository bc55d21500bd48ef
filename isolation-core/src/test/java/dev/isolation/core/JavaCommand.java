package dev.isolation.core;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM of this test JVM's Java, with the README's flags for the library
 * on Java 22+ (no native-access or sun.misc.Unsafe warnings mixed into what the test reads).
 */
final class JavaCommand {
    private JavaCommand() {}

    /** {@code java [flags] args...}. */
    static String[] of(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(flags());
        cmd.addAll(List.of(args));
        return cmd.toArray(new String[0]);
    }

    /** The README's flags for a library on the class path, for this runtime's version: none before 22. */
    static List<String> flags() {
        int feature = Runtime.version().feature();
        List<String> flags = new ArrayList<>();
        if (feature >= 22) {
            flags.add("--enable-native-access=ALL-UNNAMED");
        }
        if (feature >= 23) {
            flags.add("--sun-misc-unsafe-memory-access=allow");
        }
        return flags;
    }
}
