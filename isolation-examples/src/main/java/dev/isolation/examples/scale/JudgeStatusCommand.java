package dev.isolation.examples.scale;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.math.BigDecimal;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code isolation judge-status}: prints where a submission is, and its result once it has one. */
@Command(name = "judge-status",
        description = "Print submission TOKEN's state (QUEUED, JUDGING, DONE) as JSON, with its verdict and each test's"
                + " figures once it is done.",
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done.", "1:not done yet (queued or being judged).",
            "2:no such submission, bad options, or the broker failed."})
public final class JudgeStatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--broker", required = true, paramLabel = "URL", description = "The broker, as judge-worker takes it.")
    String broker;

    @Option(names = "--wait", paramLabel = "SECONDS", description = "Wait up to SECONDS for the result. Default: 0.")
    BigDecimal waitSeconds = BigDecimal.ZERO;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "TOKEN", description = "The token judge-submit printed.")
    String token;

    @Override
    public Integer call() throws Exception {
        UUID id;
        try {
            id = UUID.fromString(token);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "TOKEN " + token + ": not a token (a UUID)");
        }
        if (waitSeconds.signum() < 0 || waitSeconds.compareTo(BigDecimal.valueOf(86_400)) > 0) {
            throw new ParameterException(spec.commandLine(), "--wait " + waitSeconds + ": must be 0 to 86400 seconds");
        }
        long deadline = System.nanoTime() + waitSeconds.movePointRight(9).longValue();
        try (Broker b = Broker.connect(broker)) {
            while (true) {
                Optional<SubmissionStatus> s = b.status(id);
                if (s.isEmpty()) {
                    spec.commandLine().getErr().println("isolation: no submission " + id + " at this broker");
                    return 2;
                }
                if (s.get().state() == SubmissionStatus.State.DONE || System.nanoTime() - deadline >= 0) {
                    spec.commandLine().getOut().println(json(s.get()));
                    spec.commandLine().getOut().flush();
                    return s.get().state() == SubmissionStatus.State.DONE ? 0 : 1;
                }
                Thread.sleep(100);
            }
        }
    }

    static String json(SubmissionStatus s) {
        JsonObject o = new JsonObject();
        o.addProperty("token", s.token().toString());
        o.addProperty("state", s.state().name());
        o.addProperty("submitted_at", s.submittedAt().toString());
        o.addProperty("attempts", s.attempts());
        s.leasedBy().ifPresent(w -> o.addProperty("leased_by", w));
        s.lastError().ifPresent(e -> o.addProperty("last_error", e));
        s.verdict().ifPresent(v -> o.addProperty("verdict", v.name()));
        s.finishedAt().ifPresent(t -> o.addProperty("finished_at", t.toString()));
        s.result().ifPresent(r -> o.add("result", JsonParser.parseString(r)));
        return new GsonBuilder().disableHtmlEscaping().create().toJson(o);
    }
}
