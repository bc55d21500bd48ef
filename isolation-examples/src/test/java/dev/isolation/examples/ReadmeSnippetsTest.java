package dev.isolation.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} snippet of the README compiles. A snippet right after a link to a {@code
 * .java} file of this repository must be that file's code, line for line (indentation aside): the
 * build compiles the file. Any other snippet is compiled here, against the library, as the body of
 * a method with the imports a user would write ({@link #IMPORTS}); a variable it uses must be
 * declared in it. The README is {@code ../README.md}, or the file named by the system property
 * {@code isolation.readme}.
 */
class ReadmeSnippetsTest {
    static final String IMPORTS = String.join("\n",
            "import dev.isolation.cgroups.*;",
            "import dev.isolation.core.*;",
            "import java.io.*;",
            "import java.nio.charset.StandardCharsets;",
            "import java.nio.file.*;",
            "import java.time.Duration;",
            "import java.util.*;",
            "import static org.assertj.core.api.Assertions.assertThat;",
            "");

    private static final Pattern FENCE = Pattern.compile("(?ms)^```java\\n(.*?)^```");
    private static final Pattern JAVA_LINK = Pattern.compile("\\]\\(([^)\\s]+\\.java)\\)");

    private static final Path README = Path.of(System.getProperty("isolation.readme", "../README.md"));
    /** Where the links of the README point from: the repository, this module's parent. */
    private static final Path REPOSITORY = Path.of("..");

    /** One snippet: its code, its line in the README, and the file the text before it links to, if any. */
    record Snippet(String code, int line, String linkedFile) {}

    static List<Snippet> snippets(String markdown) {
        List<Snippet> result = new ArrayList<>();
        Matcher m = FENCE.matcher(markdown);
        while (m.find()) {
            // the paragraph right before the fence
            int end = Math.max(0, m.start() - 2);
            String before = markdown.substring(Math.max(0, markdown.lastIndexOf("\n\n", end - 1)), end);
            Matcher link = JAVA_LINK.matcher(before);
            String linked = null;
            while (link.find()) {
                linked = link.group(1); // the last link before the snippet
            }
            int line = (int) markdown.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
            result.add(new Snippet(m.group(1), line, linked));
        }
        return result;
    }

    @TempDir
    Path out;

    @TestFactory
    Stream<DynamicTest> everyJavaSnippetOfTheReadmeCompiles() throws IOException {
        List<Snippet> snippets = snippets(Files.readString(README, StandardCharsets.UTF_8));
        assertThat(snippets).as("java snippets in %s", README).isNotEmpty();
        return snippets.stream().map(s -> DynamicTest.dynamicTest("README.md line " + s.line()
                + (s.linkedFile() == null ? "" : " (" + s.linkedFile() + ")"), () -> check(s)));
    }

    private void check(Snippet s) throws IOException {
        if (s.linkedFile() != null) {
            Path file = REPOSITORY.resolve(s.linkedFile());
            assertThat(file).as("the file the snippet at line %d links to", s.line()).isRegularFile();
            assertThat(stripped(Files.readString(file))).as("%s holds the snippet at README line %d", s.linkedFile(), s.line())
                    .contains(stripped(s.code()));
            return;
        }
        List<String> errors = compile(s.code());
        assertThat(errors).as("the snippet at README line %d compiles as a method body with these imports:%n%s%n%s", s.line(),
                IMPORTS, s.code()).isEmpty();
    }

    /** Lines without their indentation, blank lines dropped: the same code in a README and in a file. */
    private static String stripped(String code) {
        return "\n" + String.join("\n", code.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) + "\n";
    }

    /** The compiler's errors for {@code body} as a method of a class with {@link #IMPORTS}; empty if it compiles. */
    List<String> compile(String body) throws IOException {
        String source = IMPORTS + "class Snippet {\n    void snippet() throws Exception {\n" + body + "\n    }\n}\n";
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///Snippet.java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            List<String> options = List.of("-classpath", classPath(), "-d", out.toString(), "-proc:none", "--release", "17");
            boolean ok = javac.getTask(new StringWriter(), files, diagnostics, options, null, List.of(file)).call();
            List<String> errors = diagnostics.getDiagnostics().stream()
                    .filter(d -> d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
                    .map(d -> "line " + (d.getLineNumber() - IMPORTS.lines().count() - 2) + ": " + d.getMessage(null)).toList();
            return ok ? List.of() : errors.isEmpty() ? List.of("javac failed") : errors;
        }
    }

    /** The test class path: Surefire's, whether it runs the tests from a manifest-only jar or not. */
    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    @Test
    void theCheckFindsAnUndefinedVariable() throws IOException {
        assertThat(compile("Sandbox judge = Sandbox.builder().build();\njudge.open().run(compilerLimits, new ProcessBuilder(\"true\"), input);"))
                .anySatisfy(e -> assertThat(e).contains("compilerLimits"));
        assertThat(compile("Sandbox s = Sandbox.builder().pidNs().build();\ntry (IsolatedProcess p = s.start(\"true\")) {\n"
                + "    assertThat(p.outcome().join().exitCode()).hasValue(0);\n}")).isEmpty();
    }

    @Test
    void aSnippetAfterALinkIsTheLinkedFilesCode() {
        List<Snippet> s = snippets("See [`Q.java`](a/b/Q.java):\n\n```java\nint x = 1;\n```\n\nText.\n\n```java\nint y;\n```\n");
        assertThat(s).extracting(Snippet::linkedFile).containsExactly("a/b/Q.java", null);
        assertThat(s).extracting(Snippet::line).containsExactly(3, 9);
        assertThat(stripped("    a();\n\n  b();\n")).isEqualTo("\na();\nb();\n");
        assertThat(new File("unused").getName()).isEqualTo("unused");
    }
}
