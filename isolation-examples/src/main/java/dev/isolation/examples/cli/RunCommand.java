package dev.isolation.examples.cli;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code isolation run}: one program in one sandbox, as a drop-in command runner. */
@Command(name = "run",
        description = {"Run COMMAND in a sandbox with the chosen namespaces and exit with its exit value.",
                "Standard input, output and error are the terminal's unless redirected; the environment is this one's unless --clear-env."},
        showEndOfOptionsDelimiterInUsageHelp = true,
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
                "N:the program's exit code.",
                "128+S:signal S ended the program (137 for SIGKILL).",
                "2:isolation itself failed: a bad option, or the sandbox could not be set up. One line on stderr says why; nothing is left behind."},
        footerHeading = "%n",
        footer = "--json FILE writes one JSON object: status (OK, NONZERO_EXIT or SIGNALED), exitCode and signal"
                + " (null when not applicable), killed, wallTimeMs, cpuTimeMs, userTimeMs, systemTimeMs (milliseconds,"
                + " fractional), maxRssBytes, voluntaryContextSwitches, involuntaryContextSwitches, command, namespaces"
                + " and hostname.")
final class RunCommand implements Callable<Integer> {
    /** How long a program stopped by a signal to isolation itself gets to exit after SIGTERM. */
    private static final Duration TERMINATION_GRACE = Duration.ofSeconds(5);

    @Spec
    CommandSpec spec;

    @Option(names = "--pid", description = "New PID namespace: the program sees only its own processes, with a tiny init as PID 1.")
    boolean pid;

    @Option(names = "--mount", description = "New private mount namespace; with --pid, a fresh /proc.")
    boolean mount;

    @Option(names = "--uts", description = "New UTS namespace: hostname changes stay inside.")
    boolean uts;

    @Option(names = "--ipc", description = "New IPC namespace: no System V IPC or POSIX message queues of the host.")
    boolean ipc;

    @Option(names = "--net", description = "New network namespace with only loopback: no network access.")
    boolean net;

    @Option(names = "--user", description = "New user namespace: root inside, an unprivileged id outside.")
    boolean user;

    @Option(names = "--cgroupns", description = "New cgroup namespace.")
    boolean cgroupns;

    @Option(names = "--hostname", paramLabel = "NAME", description = "Hostname inside the sandbox (needs --uts).")
    String hostname;

    @Option(names = "--env", paramLabel = "K=V",
            description = "Set an environment variable for the program (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--clear-env", description = "Start from an empty environment: only the --env variables. Without PATH,"
            + " a command without '/' is searched in a default path.")
    boolean clearEnv;

    @Option(names = "--chdir", paramLabel = "DIR", description = "Working directory of the program, as seen inside the sandbox.")
    Path chdir;

    @Option(names = "--stdin", paramLabel = "FILE", description = "Read standard input from FILE.")
    Path stdin;

    @Option(names = "--stdout", paramLabel = "FILE", description = "Write standard output to FILE (truncated).")
    Path stdout;

    @Option(names = "--stderr", paramLabel = "FILE", description = "Write standard error to FILE (truncated).")
    Path stderr;

    @Option(names = "--json", paramLabel = "FILE", description = "Write how the run ended and what it used to FILE as JSON (see below).")
    Path json;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(index = "0", arity = "1", paramLabel = "COMMAND", description = "The program, searched in PATH if it has no '/'.")
    String program;

    @Parameters(index = "1..*", arity = "0..*", paramLabel = "ARGS", description = "Its arguments, passed verbatim.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        Sandbox sandbox = sandbox();
        ProcessBuilder pb = processBuilder();
        if (json != null) {
            checkWritable(json, "--json");
        }
        List<Path> created = notYetExisting(stdout, stderr);
        // Registered before the start: a signal that arrives while the program starts must reach it too.
        ShutdownRelay relay = new ShutdownRelay();
        Thread hook = new Thread(relay::onShutdown, "isolation-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            IsolatedProcess process;
            try {
                process = sandbox.start(pb);
            } catch (SandboxException | RuntimeException e) {
                // The helper may have created the output files before the setup step that failed.
                for (Path p : created) {
                    Files.deleteIfExists(p);
                }
                throw e;
            }
            try (process) {
                relay.attach(process);
                Outcome outcome = outcome(process);
                if (json != null) {
                    try {
                        RunReport.of(pb.command(), sandbox, outcome).writeTo(json);
                    } catch (IOException e) {
                        // NoSuchFileException and friends say only the path
                        throw new IOException("cannot write --json " + json + ": " + e, e);
                    }
                }
                return outcome.exitValue();
            }
        } finally {
            relay.finished.complete(null);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook is running and returns now that we are finished
            }
        }
    }

    /** The policy the namespace options describe. */
    Sandbox sandbox() {
        Sandbox.Builder b = Sandbox.builder();
        if (pid) {
            b.pidNs();
        }
        if (mount) {
            b.mountNs();
        }
        if (uts) {
            b.utsNs();
        }
        if (ipc) {
            b.ipcNs();
        }
        if (net) {
            b.netNs();
        }
        if (user) {
            b.userNs();
        }
        if (cgroupns) {
            b.cgroupNs();
        }
        if (hostname != null) {
            if (!uts) {
                // said in the tool's words; the builder would name utsNs()
                throw new ParameterException(spec.commandLine(), "--hostname needs --uts: without it the host's hostname would change");
            }
            try {
                b.hostname(hostname);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--hostname: " + e.getMessage());
            }
        }
        return b.build();
    }

    /** Command, environment, directory and streams as the options say; streams default to the terminal's. */
    ProcessBuilder processBuilder() {
        List<String> command = new ArrayList<>();
        command.add(program);
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        if (clearEnv) {
            pb.environment().clear();
        }
        pb.environment().putAll(environment());
        if (chdir != null) {
            pb.directory(chdir.toFile());
        }
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        if (stdout != null) {
            pb.redirectOutput(stdout.toFile());
        }
        if (stderr != null) {
            pb.redirectError(stderr.toFile());
        }
        return pb;
    }

    /** The --env variables in order (a later one wins); the value may be empty or contain '='. */
    Map<String, String> environment() {
        Map<String, String> result = new LinkedHashMap<>();
        for (String kv : env) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new ParameterException(spec.commandLine(), "--env " + kv + ": expected NAME=VALUE");
            }
            result.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return result;
    }

    /** Fails before the program runs, rather than losing its report after. */
    private void checkWritable(Path file, String option) {
        Path parent = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) {
            throw new ParameterException(spec.commandLine(), option + " " + file + ": is a directory");
        }
        if (parent != null && !Files.isDirectory(parent)) {
            throw new ParameterException(spec.commandLine(), option + " " + file + ": no such directory " + parent);
        }
    }

    private static List<Path> notYetExisting(Path... files) {
        List<Path> result = new ArrayList<>();
        for (Path f : files) {
            if (f != null && Files.notExists(f)) {
                result.add(f);
            }
        }
        return result;
    }

    private static Outcome outcome(IsolatedProcess process) throws IOException, InterruptedException {
        try {
            return process.outcome().get();
        } catch (ExecutionException e) {
            throw new SandboxException("the sandbox's monitor failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /*
     * The program runs in its own session, so Ctrl-C or a SIGTERM reaches only this JVM. Pass it on
     * as SIGTERM, give the program a moment to exit and the main thread to write the report; then
     * the JVM exits 128+signal, and closing the control pipe kills whatever is left.
     */
    private static final class ShutdownRelay {
        final CompletableFuture<Void> finished = new CompletableFuture<>();
        private IsolatedProcess process; // guarded by this
        private boolean shuttingDown; // guarded by this

        synchronized void attach(IsolatedProcess p) {
            process = p;
            if (shuttingDown) {
                p.destroy();
            }
        }

        void onShutdown() {
            synchronized (this) {
                shuttingDown = true;
                if (process != null) {
                    process.destroy();
                }
            }
            try {
                finished.get(TERMINATION_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                synchronized (this) {
                    if (process != null) {
                        process.destroyForcibly();
                    }
                }
                finished.completeOnTimeout(null, 1, TimeUnit.SECONDS).join();
            }
        }
    }
}
