package dev.isolation.core;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM of this test JVM's Java, with the README's flags for the library
 * on Java 22+ (no native-access or sun.misc.Unsafe warnings mixed into what the test reads).
 */
public final class JavaCommand {
    private JavaCommand() {}

    /** {@code java [flags] args...}. */
    public static String[] of(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(flags());
        cmd.addAll(List.of(args));
        return cmd.toArray(new String[0]);
    }

    /** {@code before... java [flags] args...}: a child JVM started through another program (setpriv, strace). */
    public static String[] after(List<String> before, String... args) {
        List<String> cmd = new ArrayList<>(before);
        cmd.addAll(List.of(of(args)));
        return cmd.toArray(new String[0]);
    }

    /** The flags as words for a shell command line (none has a character the shell would read). */
    public static String shellFlags() {
        return String.join(" ", flags());
    }

    /** The README's flags for a library on the class path, for this runtime's version: none before 22. */
    public static List<String> flags() {
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
