package dev.isolation.examples.cli;

import dev.isolation.examples.judge.Judge;
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
 * <p>Exit status 2 means {@code isolation} itself failed (bad options, or the sandbox could not be
 * set up); it then prints one line on stderr, starting with {@code isolation:}.
 */
@Command(name = "isolation",
        description = "Run programs in Linux namespaces.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {RunCommand.class, DoctorCommand.class, Judge.class},
        footer = {"", "Run 'isolation COMMAND --help' for the options of a command."})
public final class IsolationCli implements Runnable {
    /** Exit status when {@code isolation} itself fails: bad options or a sandbox that cannot be set up. */
    public static final int USAGE_OR_SETUP_FAILURE = 2;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

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
            String command = e.getCommandLine().getCommandSpec().qualifiedName();
            e.getCommandLine().getErr().println(
                    "isolation: " + e.getMessage() + " (see '" + command + " --help')");
            return USAGE_OR_SETUP_FAILURE;
        });
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("isolation: " + oneLine(e));
            return USAGE_OR_SETUP_FAILURE;
        });
        return cl;
    }

    /** The message of {@code e} on one line; the class name only when there is no message (a bug). */
    static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getName();
        }
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }
}
