package dev.isolation.examples.judge;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupStats;
import dev.isolation.core.Outcome;
import dev.isolation.core.RunLimits;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxException;
import dev.isolation.core.SandboxSession;
import dev.isolation.core.SeccompPolicy;
import dev.isolation.core.image.ImageException;
import dev.isolation.core.image.OciImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * A small programming-contest judge: compiles a C or C++ solution and runs it on every test of a
 * problem, all in one persistent sandbox ({@link SandboxSession}). The compiler is untrusted too:
 * it runs in the sandbox under limits of its own; each test then runs the program with the strict
 * seccomp policy and the problem's limits, its input as standard input, its output compared with
 * the answer ({@link Verdict}).
 *
 * <pre>
 * java -jar isolation.jar judge --cpu-time 1 --memory 64M SOURCE TESTDIR
 * </pre>
 *
 * Needs root (namespaces, cgroups) and gcc/g++ on the host; the sandbox sees the host's
 * {@code /usr} read-only and nothing of its files: the source goes in through standard input.
 */
@Command(name = "judge",
        description = {"Compile SOURCE (C: .c, C++: .cc, .cpp, .cxx) with gcc/g++ inside a sandbox, run it on each"
                + " test of TESTDIR (N.in is the input, N.out the expected output) in the same sandbox, and print a"
                + " table: test, verdict, CPU ms, wall ms, memory KiB (the cgroup's peak), each row as its test ends (on a"
                + " terminal with a line saying which test runs). The options are run's, with the same names and units.",
                "Verdicts: AC accepted, WA wrong answer (trailing spaces and blank lines at the end do not count),"
                + " TLE time limit, MLE memory limit, OLE output limit, RE runtime error (nonzero exit or signal), RF"
                + " restricted function (a system call the strict seccomp policy forbids), CE compile error, IE"
                + " internal error (the sandbox could not be set up)."},
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:accepted.", "1:another verdict.", "125:the judge itself failed (bad options or files, IE), as run's."})
public final class Judge implements Callable<Integer> {
    /** The compiler's own limits: it is untrusted too (a template bomb, an #include of /dev/zero). */
    private static final ByteSize COMPILER_MEMORY = ByteSize.mb(512);
    static final RunLimits COMPILER_LIMITS = withJudgeEnvironment(RunLimits.builder()).cpuTimeLimit(Duration.ofSeconds(10))
            .wallTimeLimit(Duration.ofSeconds(30)).memoryLimit(COMPILER_MEMORY).outputLimit(ByteSize.mb(1))
            .pidsLimit(64).build();

    /**
     * Limits of each test run.
     *
     * @param cpuTime CPU time of all the program's processes together
     * @param wallTime time from start to end, sleeping included (a program that sleeps or waits
     *     for input it never gets uses no CPU)
     * @param memory memory of the whole sandbox run (the cgroup's limit)
     * @param output bytes of standard output, and of standard error
     */
    public record Limits(Duration cpuTime, Duration wallTime, ByteSize memory, ByteSize output) {
        public Limits {
            Objects.requireNonNull(cpuTime, "cpuTime");
            Objects.requireNonNull(wallTime, "wallTime");
            Objects.requireNonNull(memory, "memory");
            Objects.requireNonNull(output, "output");
        }

        /** With the wall time three times the CPU time, as contest judges commonly set it. */
        public static Limits of(Duration cpuTime, ByteSize memory, ByteSize output) {
            return new Limits(cpuTime, cpuTime.multipliedBy(3), memory, output);
        }

        /** The limits of a test run: strict seccomp, no swap, at most 16 processes and threads. */
        RunLimits runLimits() {
            return withJudgeEnvironment(RunLimits.builder()).cpuTimeLimit(cpuTime).wallTimeLimit(wallTime).memoryLimit(memory)
                    .outputLimit(output).pidsLimit(16).seccomp(SeccompPolicy.strict()).build();
        }
    }

    /** One test: its name, verdict and how its run ended. */
    public record TestResult(String test, Verdict verdict, Outcome outcome) {}

    /**
     * The judgement of a submission.
     *
     * @param compilation how the compiler's run ended
     * @param tests the tests' results, in order; empty unless the compilation succeeded
     */
    public record Judgement(Outcome compilation, List<TestResult> tests) {
        public Judgement {
            tests = List.copyOf(tests);
        }

        /** CE (or IE) if the compilation failed, else the first test's verdict that is not AC, else AC. */
        public Verdict verdict() {
            if (compilation.status() != Outcome.Status.OK) {
                return java.util.EnumSet.of(Outcome.Status.SETUP_FAILED, Outcome.Status.INTERNAL_ERROR, Outcome.Status.INTERRUPTED)
                        .contains(compilation.status()) ? Verdict.IE : Verdict.CE;
            }
            return tests.stream().map(TestResult::verdict).filter(v -> v != Verdict.AC).findFirst().orElse(Verdict.AC);
        }
    }

    @Spec
    CommandSpec spec;

    // the names of run's options for the same limits (and judge's older names, which still work)

    @Option(names = {"--cpu-time", "--time"}, paramLabel = "SECONDS", description = "CPU time limit of each test, e.g. 1 or 0.5."
            + " Default: 1.")
    BigDecimal time = BigDecimal.ONE;

    @Option(names = {"--wall-time", "--wall"}, paramLabel = "SECONDS", description = "Wall time limit of each test. Default: 3 x"
            + " --cpu-time.")
    BigDecimal wall;

    @Option(names = {"--memory", "-m"}, paramLabel = "SIZE", description = "Memory limit of each test: bytes, or K, M, G"
            + " (binary). Default: 64M.")
    String memory = "64M";

    @Option(names = {"--output-limit", "--output"}, paramLabel = "SIZE", description = "Output limit of each test, standard"
            + " output and standard error each. Default: 1M.")
    String output = "1M";

    @Option(names = "--image", paramLabel = "DIR:TAG", description = "Compile and run inside this image (an OCI layout,"
            + " OCI archive or docker-archive with gcc/g++, sh and cat) instead of the host's /usr: its layers are the"
            + " root, copy-on-write, unpacked once into the image cache.")
    String image;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "The solution: a C or C++ source file.")
    Path source;

    @Parameters(index = "1", paramLabel = "TESTDIR", description = "The tests: N.in and N.out files.")
    Path testDir;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Judge()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        Limits limits = limits();
        if (!Files.isRegularFile(source)) {
            throw new ParameterException(spec.commandLine(), "SOURCE " + source + ": no such file");
        }
        try {
            Language.of(source);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!Files.isDirectory(testDir)) {
            throw new ParameterException(spec.commandLine(), "TESTDIR " + testDir + ": " + (Files.exists(testDir) ? "not a directory"
                    : "no such directory") + ": give the directory of the problem's tests, N.in (input) and N.out (expected"
                    + " output) each, e.g. isolation-examples/sample-problem/tests");
        }
        Optional<OciImage> root = Optional.empty();
        if (image != null) {
            int colon = image.lastIndexOf(':');
            boolean tagged = colon > 0 && image.indexOf('/', colon) < 0;
            try {
                root = Optional.of(OciImage.open(Path.of(tagged ? image.substring(0, colon) : image), tagged ? image.substring(colon + 1) : "latest"));
            } catch (ImageException e) {
                throw new ParameterException(spec.commandLine(), "--image " + image + ": " + e.getMessage());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Table table = new Table(out, isTerminal(out));
        Judgement j = judge(source, testDir, limits, root, table);
        table.end(j);
        return switch (j.verdict()) {
            case AC -> 0;
            case IE -> dev.isolation.examples.cli.IsolationCli.ISOLATION_FAILED;
            default -> 1;
        };
    }

    Limits limits() {
        Duration cpu = seconds("--time", time);
        Duration wallTime = wall == null ? cpu.multipliedBy(3) : seconds("--wall", wall);
        return new Limits(cpu, wallTime, size("--memory", memory, ByteSize.mb(1)), size("--output", output, ByteSize.ofBytes(1)));
    }

    private Duration seconds(String option, BigDecimal value) {
        BigDecimal nanos = value.movePointRight(9);
        if (nanos.signum() <= 0 || nanos.compareTo(BigDecimal.valueOf(3600).movePointRight(9)) > 0) {
            throw new ParameterException(spec.commandLine(), option + " " + value.toPlainString()
                    + ": must be more than 0 and at most 3600 seconds");
        }
        return Duration.ofNanos(nanos.longValue());
    }

    private ByteSize size(String option, String text, ByteSize min) {
        ByteSize size;
        try {
            size = ByteSize.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + " " + text + ": " + e.getMessage());
        }
        if (size.compareTo(min) < 0) {
            throw new ParameterException(spec.commandLine(), option + " " + text + ": must be at least " + min);
        }
        return size;
    }

    /**
     * Compiles {@code source} and runs it on every test of {@code testDir} in one persistent
     * sandbox, which is gone when this returns.
     *
     * @throws SandboxException if the sandbox cannot be set up
     * @throws IOException if the source or a test cannot be read
     * @throws IllegalArgumentException if the source is neither C nor C++
     */
    public static Judgement judge(Path source, Path testDir, Limits limits) throws IOException {
        return judge(source, testDir, limits, Optional.empty(), new Listener() {});
    }

    /** What a judgement tells as it goes: each step as it starts and ends. The methods do nothing by default. */
    public interface Listener {
        /** The compilation ended ({@code tests} tests follow if it succeeded). */
        default void compiled(Outcome compilation, int tests) {}

        /** Test {@code index} (from 1) of {@code count}, named {@code name}, starts. */
        default void testStarts(int index, int count, String name) {}

        /** A test ended. */
        default void testEnded(TestResult result) {}
    }

    /** {@link #judge(Path, Path, Limits)}, telling {@code listener} each step as it ends, on this thread. */
    public static Judgement judge(Path source, Path testDir, Limits limits, Listener listener) throws IOException {
        return judge(source, testDir, limits, Optional.empty(), listener);
    }

    /** {@link #judge(Path, Path, Limits)} inside {@code image} (its compiler, its libraries) when given, else on the minimal root. */
    public static Judgement judge(Path source, Path testDir, Limits limits, Optional<OciImage> image) throws IOException {
        return judge(source, testDir, limits, image, new Listener() {});
    }

    /** {@link #judge(Path, Path, Limits, Optional)}, telling {@code listener} each step as it ends, on this thread. */
    public static Judgement judge(Path source, Path testDir, Limits limits, Optional<OciImage> image, Listener listener)
            throws IOException {
        return judge(Language.of(source), Files.readAllBytes(source), testDir, limits, image, listener);
    }

    /**
     * Compiles {@code code}, written in the language {@code language} names ({@code c},
     * {@code cpp} or {@code sh}), and runs it on every test of {@code testDir} in one persistent
     * sandbox, which is gone when this returns.
     *
     * @throws SandboxException if the sandbox cannot be set up
     * @throws IOException if a test cannot be read
     * @throws IllegalArgumentException if the language is none of those
     */
    public static Judgement judge(String language, byte[] code, Path testDir, Limits limits) throws IOException {
        return judge(Language.named(language), code, testDir, limits, Optional.empty(), new Listener() {});
    }

    private static Judgement judge(Language language, byte[] code, Path testDir, Limits limits, Optional<OciImage> image,
            Listener listener) throws IOException {
        List<TestCase> tests = TestCase.in(testDir);
        Sandbox.Builder root = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs();
        Sandbox box = (image.isPresent() ? root.image(image.get()) : root.minimalRoot()).build();
        // the binary is compiled in one run and executed in the next: a persistent /box; what it
        // holds is charged to the session's memory, whose limit bounds every run
        ByteSize sessionMemory = limits.memory().compareTo(COMPILER_MEMORY) > 0 ? limits.memory() : COMPILER_MEMORY;
        try (SandboxSession session = box.open(SandboxSession.Options.builder().persistentWorkDir().memoryLimit(sessionMemory).build())) {
            // the sandbox cannot see the host's files: the source is copied into its /box
            session.copyIn(code, language.sourcePath());
            Outcome compilation = session.run(COMPILER_LIMITS, command(language.compileCommand()), new byte[0]);
            listener.compiled(compilation, tests.size());
            if (compilation.status() != Outcome.Status.OK) {
                return new Judgement(compilation, List.of());
            }
            RunLimits runLimits = limits.runLimits();
            List<TestResult> results = new ArrayList<>();
            for (TestCase test : tests) {
                listener.testStarts(results.size() + 1, tests.size(), test.name());
                Outcome o = session.run(runLimits, command(Language.PROGRAM), Files.readAllBytes(test.input()));
                TestResult result = new TestResult(test.name(), Verdict.of(o, Files.readAllBytes(test.answer())), o);
                results.add(result);
                listener.testEnded(result);
            }
            return new Judgement(compilation, results);
        }
    }

    /**
     * The environment of every program the judge runs, the same on every host: what the host's JVM
     * has (its locale and terminal included) is none of the submission's business. A run in the
     * session takes its environment from its run limits, so each needs this.
     */
    static RunLimits.Builder withJudgeEnvironment(RunLimits.Builder b) {
        return b.emptyEnvironment().env("PATH", "/usr/local/bin:/usr/bin:/bin").env("HOME", SandboxSession.WORK_DIR).env("LC_ALL", "C");
    }

    private static ProcessBuilder command(String... command) {
        return new ProcessBuilder(command);
    }

    private static ProcessBuilder command(List<String> command) {
        return new ProcessBuilder(command);
    }

    private static final String ROW = "%-8s %-7s %8s %8s %10s%n";

    /**
     * The table as the judgement goes: the header and the compilation's row once it is compiled,
     * each test's row as soon as it ends (flushed), and on a terminal a "running test 3/10" line
     * while a test runs, replaced by its row.
     */
    static final class Table implements Listener {
        private final PrintWriter out;
        private final boolean terminal;
        private boolean headed;
        private boolean progressShown;

        Table(PrintWriter out, boolean terminal) {
            this.out = out;
            this.terminal = terminal;
        }

        private void head() {
            if (!headed) {
                headed = true;
                out.printf(Locale.ROOT, ROW, "test", "verdict", "CPU ms", "wall ms", "memory KiB");
            }
        }

        @Override
        public void compiled(Outcome compilation, int tests) {
            head();
            if (compilation.status() == Outcome.Status.OK) {
                printRow(out, "compile", "OK", compilation);
            }
            out.flush();
        }

        @Override
        public void testStarts(int index, int count, String name) {
            if (terminal) {
                out.print("running test " + name + " (" + index + "/" + count + ")...");
                out.flush();
                progressShown = true;
            }
        }

        @Override
        public void testEnded(TestResult result) {
            clearProgress();
            printRow(out, result.test(), result.verdict().name(), result.outcome());
            out.flush();
        }

        private void clearProgress() {
            if (progressShown) {
                out.print("\r\033[K"); // back to the line's start, erase it
                progressShown = false;
            }
        }

        /** The rest: the compilation's row if it failed, the compiler's complaint, the verdict. */
        void end(Judgement j) {
            clearProgress();
            head();
            printTail(out, j);
        }
    }

    /** Whether {@code out} is this process's standard output and that is a terminal (where a progress line helps). */
    private static boolean isTerminal(PrintWriter out) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
            return System.console() != null && (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The table: a row for the compilation, one per test, the compiler's complaint on CE, the verdict. */
    public static void print(PrintWriter out, Judgement j) {
        out.printf(Locale.ROOT, ROW, "test", "verdict", "CPU ms", "wall ms", "memory KiB");
        Outcome c = j.compilation();
        if (c.status() == Outcome.Status.OK) {
            printRow(out, "compile", "OK", c);
        }
        for (TestResult t : j.tests()) {
            printRow(out, t.test(), t.verdict().name(), t.outcome());
        }
        printTail(out, j);
    }

    private static void printTail(PrintWriter out, Judgement j) {
        Outcome c = j.compilation();
        if (c.status() != Outcome.Status.OK) {
            printRow(out, "compile", j.verdict().name(), c);
            String why = c.status() == Outcome.Status.NONZERO_EXIT ? c.stderrText().strip() : c.message();
            why.lines().limit(20).forEach(line -> out.println("  " + line));
        }
        out.println("verdict: " + j.verdict());
        out.flush();
    }

    private static void printRow(PrintWriter out, String name, String verdict, Outcome o) {
        out.printf(Locale.ROOT, ROW, name, verdict, o.cpuTime().toMillis(), o.wallTime().toMillis(), memoryKib(o));
    }

    /** What the memory limit measures: the cgroup's peak, where the host reports it; else the largest process. */
    public static long memoryKib(Outcome o) {
        return o.cgroupStats().flatMap(CgroupStats::memoryPeak).orElse(o.maxRss()).bytes() / 1024;
    }
}
