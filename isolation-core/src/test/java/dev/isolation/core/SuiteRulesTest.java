package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The rules every test of the three modules keeps, read from their sources: kernel tests end, skip
 * only visibly, and the README names only tests that exist.
 */
class SuiteRulesTest {
    /** The repository: the parent of this module's directory, where Maven runs the tests. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final List<String> MODULES = List.of("isolation-cgroups", "isolation-core", "isolation-examples");
    /** The only places that may skip a test: they fail it under CI, or name a reason .ci/summary.py accepts. */
    private static final List<String> SKIP_HELPERS = List.of("Skip.java", "KernelTest.java", "RequiresLayout.java",
            "RealKernel.java", "RequiresCgroupsCondition.java", "SuiteRulesTest.java");
    private static final Pattern TEST_ANNOTATION = Pattern.compile("@(Test|ParameterizedTest|RepeatedTest|TestFactory)\\b");

    /** Every test source of the three modules, by file name (unique across them). */
    private static Map<String, String> sources() {
        assertThat(ROOT.resolve("pom.xml")).as("the repository root, from %s", Path.of("").toAbsolutePath()).exists();
        Map<String, String> out = new TreeMap<>();
        for (String m : MODULES) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(m).resolve("src/test/java"))) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    assertThat(out.put(f.getFileName().toString(), Files.readString(f))).as("one %s", f.getFileName()).isNull();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** The annotations before each test method of {@code source}, with the method's name. */
    private static Map<String, String> testMethods(String source) {
        Map<String, String> out = new TreeMap<>();
        Matcher m = TEST_ANNOTATION.matcher(source);
        while (m.find()) {
            int start = Math.max(source.lastIndexOf(';', m.start()), source.lastIndexOf('}', m.start()));
            Matcher name = Pattern.compile("void\\s+(\\w+)\\s*\\(").matcher(source);
            assertThat(name.find(m.end())).as("a method after %s", m.group()).isTrue();
            out.put(name.group(1), source.substring(start + 1, name.start()));
        }
        return out;
    }

    @Test
    void everyKernelTestMethodHasATimeout() {
        List<String> missing = new ArrayList<>();
        int methods = 0;
        for (Map.Entry<String, String> f : sources().entrySet()) {
            if (!f.getKey().endsWith("IT.java")) {
                continue;
            }
            String source = f.getValue();
            boolean classTimeout = source.substring(0, source.indexOf("\nclass ") + 1).contains("@Timeout");
            for (Map.Entry<String, String> method : testMethods(source).entrySet()) {
                methods++;
                if (!classTimeout && !method.getValue().contains("@Timeout")) {
                    missing.add(f.getKey() + "#" + method.getKey());
                }
            }
        }
        assertThat(methods).as("kernel test methods found").isGreaterThan(100);
        assertThat(missing).as("kernel test methods without @Timeout (a broken limit would hang the build)").isEmpty();
    }

    @Test
    void everyKernelTestIsGatedSoThatCiFailsWhereItCannotRun() {
        for (Map.Entry<String, String> f : sources().entrySet()) {
            if (f.getKey().endsWith("IT.java")) {
                // TestBroker.create: the broker tests' gate (examples), which fails under CI where no broker runs;
                // @EnabledIfSandboxAvailable: the library's JUnit condition, which fails under CI too
                assertThat(f.getValue()).as(f.getKey()).containsAnyOf("@KernelTest", "@RequiresCgroups", "RealKernel.require",
                        "TestBroker.create", "@EnabledIfSandboxAvailable");
            }
        }
    }

    @Test
    void noTestSkipsExceptThroughTheHelpersThatCiChecks() {
        Pattern skipping = Pattern.compile("\\bassume(True|False|That)\\s*\\(|Assumptions\\.|new TestAbortedException\\(|@Disabled");
        List<String> found = new ArrayList<>();
        sources().forEach((file, source) -> {
            if (!SKIP_HELPERS.contains(file) && skipping.matcher(source).find()) {
                found.add(file);
            }
        });
        assertThat(found).as("tests that skip by themselves: use Skip (core), RealKernel.skipUnless (examples), "
                + "@RequiresCgroups (cgroups), which fail under CI").isEmpty();
    }

    @Test
    void everyTestTheReadmeNamesExists() throws IOException {
        // the system property names a README to check instead, e.g. one with changes not yet merged
        String readme = Files.readString(Path.of(System.getProperty("isolation.readme", ROOT.resolve("README.md").toString())));
        Map<String, String> sources = sources();
        Matcher m = Pattern.compile("\\b([A-Z][a-z]\\w*(?:IT|Test))(?:#(\\w+))?\\b").matcher(readme);
        int named = 0;
        while (m.find()) {
            named++;
            String source = sources.get(m.group(1) + ".java");
            assertThat(source).as("the README names %s", m.group()).isNotNull();
            if (m.group(2) != null) {
                assertThat(testMethods(source)).as("the README names %s", m.group()).containsKey(m.group(2));
            }
        }
        assertThat(named).as("tests named in the README").isPositive();
    }
}
