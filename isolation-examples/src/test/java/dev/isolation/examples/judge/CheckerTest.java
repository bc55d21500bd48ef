package dev.isolation.examples.judge;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CheckerTest {
    private static byte[] text(String escaped) {
        return escaped.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t").getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "\"{0}\" vs \"{1}\": {2}")
    @CsvSource(delimiter = '|', textBlock = """
            3\\n          | 3\\n        | true
            3             | 3\\n        | true
            3\\r\\n       | 3\\n        | true
            '3  \\t'      | 3\\n        | true
            3\\n\\n\\n    | 3\\n        | true
            1\\n2\\n      | '1 \\n2'    | true
            ''            | \\n         | true
            4\\n          | 3\\n        | false
            ' 3'          | 3           | false
            1\\n\\n2      | 1\\n2       | false
            1 2           | 1  2        | false
            03            | 3           | false
            """)
    void whitespaceAtLineEndsAndEmptyLinesAtTheEndDoNotCount(String actual, String expected, boolean matches) {
        assertThat(Checker.matches(text(actual), text(expected))).isEqualTo(matches);
    }
}
