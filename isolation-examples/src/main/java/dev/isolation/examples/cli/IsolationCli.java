package dev.isolation.examples.cli;

import dev.isolation.core.SandboxSetupException;
import dev.isolation.examples.judge.Judge;
import dev.isolation.examples.scale.JudgeHttpCommand;
import dev.isolation.examples.scale.JudgeStatusCommand;
import dev.isolation.examples.scale.JudgeSubmitCommand;
import dev.isolation.examples.scale.JudgeWorkerCommand;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code isolation} command-line tool. {@code isolation run [options] -- COMMAND [ARGS...]}
 * runs a program in a sandbox and exits with its exit value; {@code isolation doctor} reports what
 * this host offers sandboxes; {@code isolation judge SOURCE TESTDIR} judges a C or C++ solution
 * ({@link Judge}); {@code isolation --help} lists the subcommands.
 *
 * <p>When {@code isolation} itself fails it prints one line on stderr, starting with {@code
 * isolation:}, and exits as {@code docker run} does: {@value #ISOLATION_FAILED} (bad options, or
 * the sandbox could not be set up), {@value #CANNOT_EXECUTE} (the program exists but cannot be
 * executed), {@value #NOT_FOUND} (no such program). A program can exit with these numbers too:
 * {@code run --json} and {@code --meta}, always written, tell the two apart.
 */
@Command(name = "isolation",
        description = "Run programs in Linux namespaces.",
        synopsisSubcommandLabel = "COMMAND",
        versionProvider = IsolationCli.Version.class,
        subcommands = {RunCommand.class, DoctorCommand.class, Judge.class, JudgeWorkerCommand.class, JudgeSubmitCommand.class,
            JudgeStatusCommand.class, JudgeHttpCommand.class},
        footer = {"", "Run 'isolation COMMAND --help' for the options of a command."})
public final class IsolationCli implements Runnable {
    /** Exit status when {@code isolation} itself fails: bad options or a sandbox that cannot be set up (Docker's 125). */
    public static final int ISOLATION_FAILED = 125;
    /** Exit status when the program exists but cannot be executed: no permission, not an executable (Docker's and the shell's 126). */
    public static final int CANNOT_EXECUTE = 126;
    /** Exit status when there is no such program in the sandbox (Docker's and the shell's 127). */
    public static final int NOT_FOUND = 127;

    private static final int ENOENT = 2;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    @Spec
    CommandSpec spec;

    private IsolationCli() {}

    public static void main(String[] args) {
        // jffi's memory access without sun.misc.Unsafe, whose use Java 24+ warns about (no manifest attribute for it)
        System.setProperty("jffi.unsafe.disabled", System.getProperty("jffi.unsafe.disabled", "true"));
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the tool as {@link #main} does, without exiting the JVM; returns the exit status. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        return commandLine(out, err).execute(args);
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new IsolationCli());
        cl.setOut(out);
        cl.setErr(err);
        // The program's arguments must reach it verbatim: no @file expansion, and after the first
        // positional argument, `-x` belongs to the program (`isolation run --pid ls -l` works).
        cl.setExpandAtFiles(false);
        cl.setStopAtPositional(true);
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine failed = e.getCommandLine();
            String command = failed.getCommandSpec().qualifiedName();
            String message = e.getMessage();
            if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                message = message.replaceAll("\\s*$", "") + "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
            }
            message = oneLine(message);
            failed.getErr().println("isolation: " + message + " (see '" + command + " --help')");
            if (failed.getCommand() instanceof RunCommand run) {
                run.reportSetupFailure(message); // --json and --meta are written whatever went wrong, if they were given
            }
            return ISOLATION_FAILED;
        });
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("isolation: " + RunCommand.inToolWords(oneLine(e)));
            return exitStatus(e);
        });
        return cl;
    }

    /** The exit status of a failure of isolation itself: 127 and 126 when the program could not be executed, else 125. */
    static int exitStatus(Throwable e) {
        if (e instanceof SandboxSetupException s && s.call().equals("execve")) {
            return s.errno() == ENOENT ? NOT_FOUND : CANNOT_EXECUTE;
        }
        return ISOLATION_FAILED;
    }

    /** {@code isolation --version}: this tool's version, and the Java and kernel it runs on (for bug reports). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"isolation " + version(),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")",
                    System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")};
        }

        /** The project's version, written into the jar by the build; "unknown" outside one. */
        static String version() {
            try (java.io.InputStream in = IsolationCli.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    return "unknown";
                }
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            } catch (java.io.IOException e) {
                return "unknown";
            }
        }
    }

    /** The message of {@code e} on one line; the class name only when there is no message (a bug). */
    static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getName();
        }
        return oneLine(message);
    }

    static String oneLine(String message) {
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }
}
