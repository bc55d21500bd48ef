package dev.isolation.examples.judge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Compares a program's output with the expected answer line by line, ignoring whitespace at the
 * end of each line and empty lines at the end (so {@code \r\n} and a missing final newline do not
 * matter); everything else must be equal, byte for byte.
 */
final class Checker {
    private static final Pattern TRAILING_BLANKS = Pattern.compile("[ \t\r\f]+$");

    private Checker() {}

    static boolean matches(byte[] actual, byte[] expected) {
        return lines(actual).equals(lines(expected));
    }

    static List<String> lines(byte[] text) {
        // ISO-8859-1 maps every byte to one char: invalid UTF-8 compares as the bytes it is
        List<String> lines = new ArrayList<>();
        for (String line : new String(text, StandardCharsets.ISO_8859_1).split("\n", -1)) {
            lines.add(TRAILING_BLANKS.matcher(line).replaceFirst(""));
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }
}
