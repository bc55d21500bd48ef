package dev.isolation.examples.scale;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code isolation judge-worker}: judges submissions from the broker until SIGTERM or SIGINT. */
@Command(name = "judge-worker",
        description = {"Judge submissions from the broker (a PostgreSQL database) on this machine, POOL at a time, until"
                + " SIGTERM or SIGINT; then finish what is being judged within --grace and give back the rest.",
                "Each submission is compiled once and run on every test of its problem in one sandbox session; the"
                + " verdict and each test's figures go back to the broker. A worker that dies leaves its submissions"
                + " to the others when its leases expire; a submission with no result after its attempts ends as IE."},
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by a signal, after finishing or giving back what it held.",
            "2:bad options, or the broker cannot be reached."})
public final class JudgeWorkerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--broker", required = true, paramLabel = "URL", description = "The broker:"
            + " jdbc:postgresql://HOST[:PORT]/DB?user=USER or postgresql://USER@HOST[:PORT]/DB.")
    String broker;

    @Option(names = "--problems", required = true, paramLabel = "DIR", description = "The problems: DIR/ID/tests/N.in,"
            + " N.out, and DIR/ID/limits.properties (time, wall, memory, output). The same on every worker.")
    Path problems;

    @Option(names = "--pool", paramLabel = "N", description = "Submissions judged at once, and so held at once"
            + " (prefetch). Default: the number of CPUs.")
    int pool = Runtime.getRuntime().availableProcessors();

    @Option(names = "--lease", paramLabel = "SECONDS", description = "How long a submission stays this worker's"
            + " without a renewal (renewed every third of it while judged): how soon the others take over from a worker"
            + " that died. Default: 30.")
    BigDecimal lease = BigDecimal.valueOf(30);

    @Option(names = "--grace", paramLabel = "SECONDS", description = "On SIGTERM, how long what is being judged may"
            + " take to finish before it is given back. Default: 60.")
    BigDecimal grace = BigDecimal.valueOf(60);

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws Exception {
        if (pool < 1 || pool > 1024) {
            throw new ParameterException(spec.commandLine(), "--pool " + pool + ": must be 1 to 1024");
        }
        if (!Files.isDirectory(problems)) {
            throw new ParameterException(spec.commandLine(), "--problems " + problems + ": no such directory");
        }
        Duration leaseTime = seconds("--lease", lease, BigDecimal.ONE);
        Duration graceTime = seconds("--grace", grace, BigDecimal.ZERO);
        Broker.jdbcUrl(broker); // a bad URL is a usage error, before anything starts
        JudgeWorker worker = new JudgeWorker(broker, problems, pool, leaseTime, spec.commandLine().getOut());
        Thread stopper = new Thread(() -> {
            try {
                worker.stop(graceTime);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "isolation-judge-worker-stop");
        Runtime.getRuntime().addShutdownHook(stopper);
        try {
            worker.run();
        } catch (BrokerException e) {
            Runtime.getRuntime().removeShutdownHook(stopper);
            throw e;
        }
        return 0;
    }

    private Duration seconds(String option, BigDecimal value, BigDecimal min) {
        if (value.compareTo(min) < 0 || value.compareTo(BigDecimal.valueOf(86_400)) > 0) {
            throw new ParameterException(spec.commandLine(), option + " " + value.toPlainString() + ": must be "
                    + min.toPlainString() + " to 86400 seconds");
        }
        return Duration.ofNanos(value.movePointRight(9).longValue());
    }
}
