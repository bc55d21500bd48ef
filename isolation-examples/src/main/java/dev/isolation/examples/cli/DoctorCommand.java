package dev.isolation.examples.cli;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.core.internal.launch.HelperBinary;
import dev.isolation.core.internal.seccomp.BpfCompiler;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code isolation doctor}: what this host can and cannot do for sandboxes, and how to fix it. */
@Command(name = "doctor",
        description = {"Report what this host offers sandboxes: kernel, user namespaces, seccomp, cgroup mounts, the cgroup"
                + " layout and each controller, and how the native helper is executed. Each problem comes with its fix.",
                "Reads files only; changes nothing. Exits 0 whatever it finds."})
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        HostChecks checks = new HostChecks();
        print(out, checks.kernelRelease());
        print(out, helper());

        List<HostChecks.Finding> userns = checks.userNamespaces();
        print(out, HostChecks.userNamespaceSummary(userns, checks.effectiveRoot()));
        for (HostChecks.Finding f : userns) {
            print(out, "  ", f);
        }
        print(out, checks.seccomp(libseccompLoads()));
        print(out, checks.cgroupMounts());
        out.println();
        try {
            out.print(CgroupHost.detect().probe());
        } catch (IOException | RuntimeException e) {
            out.println("cgroups: cannot detect: " + IsolationCli.oneLine(e));
        }
        out.flush();
        return 0;
    }

    /** How the native helper is made executable; a failure here is a finding, not a crash. */
    private static HostChecks.Finding helper() {
        try {
            return HostChecks.Finding.of("helper", HostChecks.Verdict.INFO, HelperBinary.get().mode());
        } catch (RuntimeException | LinkageError e) {
            return HostChecks.Finding.of("helper", HostChecks.Verdict.PROBLEM, "cannot be loaded: " + IsolationCli.oneLine(e));
        }
    }

    /** Loaded as the sandboxes load it: the core's own loader. */
    private static boolean libseccompLoads() {
        try {
            return BpfCompiler.isAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static void print(PrintWriter out, HostChecks.Finding f) {
        print(out, "", f);
    }

    private static void print(PrintWriter out, String indent, HostChecks.Finding f) {
        String tag = f.verdict() == HostChecks.Verdict.INFO ? "" : "[" + f.verdict().name().toLowerCase(Locale.ROOT) + "] ";
        out.println(indent + f.check() + ": " + tag + f.detail());
        f.fix().ifPresent(fix -> out.println(indent + "    fix: " + fix));
    }
}
