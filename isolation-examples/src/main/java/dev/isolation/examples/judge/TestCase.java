package dev.isolation.examples.judge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** One test of a problem: {@code NAME.in} is the input, {@code NAME.out} the expected output. */
record TestCase(String name, Path input, Path answer) {
    /** By number where names are numbers (2 before 10), else by name. */
    private static final Comparator<TestCase> ORDER = Comparator
            .comparing((TestCase t) -> !t.name().matches("\\d{1,18}"))
            .thenComparing(t -> t.name().matches("\\d{1,18}") ? Long.parseLong(t.name()) : 0L)
            .thenComparing(TestCase::name);

    /**
     * Every test of {@code dir}, in order.
     *
     * @throws IOException if {@code dir} cannot be listed, has no test, or an input has no answer
     */
    static List<TestCase> in(Path dir) throws IOException {
        List<TestCase> tests = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path in : (Iterable<Path>) files.filter(f -> f.getFileName().toString().endsWith(".in"))::iterator) {
                String file = in.getFileName().toString();
                String name = file.substring(0, file.length() - ".in".length());
                Path out = in.resolveSibling(name + ".out");
                if (!Files.isRegularFile(out)) {
                    throw new NoSuchFileException(out.toString(), null, "the answer of test " + in);
                }
                tests.add(new TestCase(name, in, out));
            }
        }
        if (tests.isEmpty()) {
            throw new NoSuchFileException(dir.toString(), null, "no tests (N.in and N.out) in this directory");
        }
        tests.sort(ORDER);
        return tests;
    }
}
