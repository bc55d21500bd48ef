package dev.isolation.examples.scale;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code isolation judge-submit}: enqueues one submission and prints its token. */
@Command(name = "judge-submit",
        description = "Enqueue SOURCE for judging against problem ID and print its token (read the result with"
                + " 'isolation judge-status TOKEN'). SOURCE '-' is standard input.",
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:enqueued; the token is on standard output.", "2:bad options or files, or the broker failed."})
public final class JudgeSubmitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--broker", required = true, paramLabel = "URL", description = "The broker, as judge-worker takes it.")
    String broker;

    @Option(names = "--problem", required = true, paramLabel = "ID", description = "The problem's id.")
    String problem;

    @Option(names = "--language", paramLabel = "LANG", description = "c, cpp or sh. Default: from SOURCE's extension"
            + " (.c, .cc/.cpp/.cxx, .sh).")
    String language;

    @Option(names = "--time", paramLabel = "SECONDS", description = "CPU time limit of each test, instead of the problem's.")
    String time;

    @Option(names = "--wall", paramLabel = "SECONDS", description = "Wall time limit of each test, instead of the problem's.")
    String wall;

    @Option(names = "--memory", paramLabel = "SIZE", description = "Memory limit, instead of the problem's (e.g. 64M).")
    String memory;

    @Option(names = "--output", paramLabel = "SIZE", description = "Output limit, instead of the problem's (e.g. 1M).")
    String output;

    @Option(names = "--max-attempts", paramLabel = "N", description = "Attempts before it ends as IE (1 to 100)."
            + " Default: 3.")
    int maxAttempts = SubmissionRequest.DEFAULT_MAX_ATTEMPTS;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "The solution's source file, or - for standard input.")
    String source;

    @Override
    public Integer call() throws Exception {
        String lang = language != null ? language : languageOf(source);
        byte[] code;
        if (source.equals("-")) {
            code = System.in.readNBytes(SubmissionRequest.MAX_SOURCE + 1);
        } else {
            Path file = Path.of(source);
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(source, null, "SOURCE: no such file");
            }
            code = Files.readAllBytes(file);
        }
        SubmissionRequest request;
        try {
            List<String> limits = new ArrayList<>();
            addLimit(limits, "time", time);
            addLimit(limits, "wall", wall);
            addLimit(limits, "memory", memory);
            addLimit(limits, "output", output);
            request = new SubmissionRequest(lang, problem, code, LimitOverrides.parse(String.join(" ", limits)), maxAttempts);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (Broker b = Broker.connect(broker)) {
            UUID token = b.submit(request);
            spec.commandLine().getOut().println(token);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private static void addLimit(List<String> limits, String name, String value) {
        if (value != null) {
            if (value.contains("=") || value.isBlank() || value.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("--" + name + " \"" + value + "\": expected one value");
            }
            limits.add(name + "=" + value);
        }
    }

    private String languageOf(String file) {
        String ext = file.substring(file.lastIndexOf('.') + 1);
        return switch (ext) {
            case "c" -> "c";
            case "cc", "cpp", "cxx", "c++" -> "cpp";
            case "sh" -> "sh";
            default -> throw new ParameterException(spec.commandLine(), "cannot tell the language of " + file
                    + ": give --language c, cpp or sh");
        };
    }
}
