package dev.isolation.examples.cli;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxException;
import dev.isolation.cgroups.ByteSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
        footer = {"--json FILE writes one JSON object: status (OK, NONZERO_EXIT or SIGNALED), exitCode and signal"
                + " (null when not applicable), killed, wallTimeMs, cpuTimeMs, userTimeMs, systemTimeMs (milliseconds,"
                + " fractional), maxRssBytes, voluntaryContextSwitches, involuntaryContextSwitches, command, namespaces"
                + " and hostname; from the sandbox's cgroup: oomKilled, memoryPeakBytes, pidsPeak and cgroupCpuTimeMs (CPU"
                + " time of every process; null without a cgroup or where the host cannot measure it), limits (each"
                + " {limit, value, file} written) and limitsNotApplied (each {limit, value, reason}, with --best-effort).",
                "",
                "Limits go to these cgroup files (v1 | v2):",
                "  --memory      memory.limit_in_bytes | memory.max",
                "  --swap        memory.memsw.limit_in_bytes (memory + swap) | memory.swap.max",
                "  --cpu-shares  cpu.shares | cpu.weight",
                "  --cpu-weight  cpu.shares | cpu.weight",
                "  --cpus        cpu.cfs_quota_us, cpu.cfs_period_us | cpu.max",
                "  --cpuset      cpuset.cpus | cpuset.cpus",
                "  --pids        pids.max | pids.max",
                "  --io-weight   blkio.weight or blkio.bfq.weight | io.weight or io.bfq.weight",
                "  --io-*-bps    blkio.throttle.{read,write}_bps_device | io.max rbps, wbps",
                "  --io-*-iops   blkio.throttle.{read,write}_iops_device | io.max riops, wiops"})
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

    // Limits. Each one gives the sandbox a cgroup of its own; the values are checked here, in the
    // tool's words, before anything starts. Strings where picocli's own conversion message would
    // not name the unit or the range.

    @Option(names = "--memory", paramLabel = "SIZE", description = "Memory limit of the whole sandbox, at least 1M:"
            + " bytes, or K, M, G, T (binary: 200M is 200 MiB). Past it the kernel's OOM killer ends a process"
            + " (exit 137, oomKilled in --json).")
    String memory;

    @Option(names = "--swap", paramLabel = "SIZE", description = "Swap allowed beyond --memory (needs it), same units;"
            + " default 0: no swap, so the limit holds on a host with swap. Needs swap accounting (v1: boot with"
            + " swapaccount=1) unless the host has no swap.")
    String swap;

    @Option(names = "--cpu-shares", paramLabel = "N", description = "Relative CPU share under contention, 2..262144"
            + " (default 1024), v1's scale; converted on v2 (512 -> weight 59). Not with --cpu-weight.")
    Integer cpuShares;

    @Option(names = "--cpu-weight", paramLabel = "N", description = "Relative CPU weight under contention, 1..10000"
            + " (default 100), v2's scale; converted to shares on v1. Not with --cpu-shares.")
    Integer cpuWeight;

    @Option(names = "--cpus", paramLabel = "CORES", description = "At most this many CPUs' worth of time, e.g. 0.5 or 2,"
            + " at least 0.01, per 100 ms period; throttled past it.")
    String cpus;

    @Option(names = "--cpuset", paramLabel = "CPUS", description = "The CPUs the sandbox may run on, e.g. 0 or 0-1,3"
            + " (numbers as in /proc/cpuinfo); they must be among the parent cgroup's.")
    String cpuset;

    @Option(names = "--pids", paramLabel = "N", description = "At most N processes and threads in the sandbox, >= 1;"
            + " one more fork fails with EAGAIN (Resource temporarily unavailable).")
    Long pids;

    @Option(names = "--io-weight", paramLabel = "N", description = "Relative block I/O weight, 1..10000 (default 100),"
            + " v2's scale; converted to v1's 10..1000. Only a proportional I/O scheduler (BFQ, CFQ) honours it.")
    Integer ioWeight;

    @Option(names = "--io-read-bps", paramLabel = "DEV:RATE", description = "Reads from block device DEV limited to RATE"
            + " bytes per second, units as --memory, e.g. /dev/sda:30M (repeatable).")
    List<String> ioReadBps = new ArrayList<>();

    @Option(names = "--io-write-bps", paramLabel = "DEV:RATE", description = "Writes to block device DEV limited to RATE"
            + " bytes per second, e.g. /dev/sda:30M (repeatable). On v1 only direct (O_DIRECT) writes are"
            + " throttled; v2 throttles buffered writeback too.")
    List<String> ioWriteBps = new ArrayList<>();

    @Option(names = "--io-read-iops", paramLabel = "DEV:N", description = "Read operations per second on block device DEV,"
            + " >= 1, e.g. /dev/sda:100 (repeatable).")
    List<String> ioReadIops = new ArrayList<>();

    @Option(names = "--io-write-iops", paramLabel = "DEV:N", description = "Write operations per second on block device"
            + " DEV, >= 1 (repeatable); on v1 direct writes only, as --io-write-bps.")
    List<String> ioWriteIops = new ArrayList<>();

    @Option(names = "--cgroup", description = "A cgroup of its own even without limits: for the cgroup figures in --json"
            + " (peak memory, peak pids, CPU time of every process) and for killing everything the program started."
            + " Any limit implies it.")
    boolean cgroup;

    @Option(names = "--cgroup-parent", paramLabel = "PATH", description = "Create the sandbox's cgroup under this cgroup"
            + " (a path as in /proc/self/cgroup, e.g. /jobs), which must exist in every hierarchy; on v2 the needed"
            + " controllers must be enabled in its subtree_control. Default: this process's own cgroup (v1,"
            + " hybrid), an 'isolation' subtree beside it (v2). Implies --cgroup.")
    Path cgroupParent;

    @Option(names = "--best-effort", description = "Run even where this host cannot apply some limit (say, no swap"
            + " accounting); --json lists those in limitsNotApplied. Default: such a limit is an error (exit 2).")
    boolean bestEffort;

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
        limits(b);
        return b.build();
    }

    /** The cgroup options, checked in the tool's words: the option, the value, what is wrong. */
    private void limits(Sandbox.Builder b) {
        if (memory != null) {
            ByteSize m = size("--memory", memory);
            check(m.bytes() >= ByteSize.mb(1).bytes(), "--memory", memory, "must be at least 1M");
            set("--memory", memory, () -> b.memoryLimit(m));
        }
        if (swap != null) {
            if (memory == null) {
                throw new ParameterException(spec.commandLine(), "--swap " + swap + " needs --memory: swap is allowed beyond the memory limit");
            }
            ByteSize s = size("--swap", swap);
            set("--swap", swap, () -> b.swapLimit(s));
        }
        if (cpuShares != null && cpuWeight != null) {
            throw new ParameterException(spec.commandLine(), "--cpu-shares " + cpuShares + " and --cpu-weight " + cpuWeight
                    + " are two scales for the same knob: set one");
        }
        if (cpuShares != null) {
            check(cpuShares >= 2 && cpuShares <= 262_144, "--cpu-shares", cpuShares, "must be in 2..262144");
            set("--cpu-shares", cpuShares, () -> b.cpuShares(cpuShares));
        }
        if (cpuWeight != null) {
            check(cpuWeight >= 1 && cpuWeight <= 10_000, "--cpu-weight", cpuWeight, "must be in 1..10000");
            set("--cpu-weight", cpuWeight, () -> b.cpuWeight(cpuWeight));
        }
        if (cpus != null) {
            double cores;
            try {
                cores = Double.parseDouble(cpus);
            } catch (NumberFormatException e) {
                cores = Double.NaN;
            }
            // NaN fails this check too, as it should
            check(cores >= 0.01 && cores <= 1_000_000, "--cpus", cpus, "must be a number of cores in 0.01..1000000, e.g. 0.5");
            double c = cores;
            set("--cpus", cpus, () -> b.cpuQuota(c));
        }
        if (cpuset != null) {
            set("--cpuset", cpuset, () -> b.cpuset(cpuset));
        }
        if (pids != null) {
            check(pids >= 1, "--pids", pids, "must be at least 1");
            set("--pids", pids, () -> b.pidsLimit(pids));
        }
        if (ioWeight != null) {
            check(ioWeight >= 1 && ioWeight <= 10_000, "--io-weight", ioWeight, "must be in 1..10000");
            set("--io-weight", ioWeight, () -> b.ioWeight(ioWeight));
        }
        for (String arg : ioReadBps) {
            DeviceLimit d = deviceLimit("--io-read-bps", arg, "RATE");
            ByteSize rate = rate("--io-read-bps", arg, d.value());
            set("--io-read-bps", arg, () -> b.ioReadBps(d.device(), rate));
        }
        for (String arg : ioWriteBps) {
            DeviceLimit d = deviceLimit("--io-write-bps", arg, "RATE");
            ByteSize rate = rate("--io-write-bps", arg, d.value());
            set("--io-write-bps", arg, () -> b.ioWriteBps(d.device(), rate));
        }
        for (String arg : ioReadIops) {
            DeviceLimit d = deviceLimit("--io-read-iops", arg, "N");
            long n = iops("--io-read-iops", arg, d.value());
            set("--io-read-iops", arg, () -> b.ioReadIops(d.device(), n));
        }
        for (String arg : ioWriteIops) {
            DeviceLimit d = deviceLimit("--io-write-iops", arg, "N");
            long n = iops("--io-write-iops", arg, d.value());
            set("--io-write-iops", arg, () -> b.ioWriteIops(d.device(), n));
        }
        if (cgroupParent != null) {
            check(cgroupParent.isAbsolute(), "--cgroup-parent", cgroupParent, "must be absolute, as in /proc/self/cgroup (e.g. /jobs)");
            for (Path part : cgroupParent) {
                check(!part.toString().equals(".."), "--cgroup-parent", cgroupParent, "must not contain '..'");
            }
            b.cgroupParent(cgroupParent);
        }
        if (cgroup) {
            b.cgroup();
        }
        if (bestEffort) {
            b.bestEffortLimits();
        }
    }

    /** A device limit as docker writes it, {@code /dev/sda:30M}: split at the last ':', as a device path may hold one. */
    record DeviceLimit(Path device, String value) {
        static Optional<DeviceLimit> parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon <= 0 || colon == spec.length() - 1) {
                return Optional.empty();
            }
            return Optional.of(new DeviceLimit(Path.of(spec.substring(0, colon)), spec.substring(colon + 1)));
        }
    }

    private DeviceLimit deviceLimit(String option, String arg, String valueLabel) {
        DeviceLimit d = DeviceLimit.parse(arg)
                .orElseThrow(() -> new ParameterException(commandLine(), option + " " + arg + ": expected DEV:" + valueLabel
                        + ", e.g. /dev/sda:" + (valueLabel.equals("RATE") ? "30M" : "100")));
        check(d.device().isAbsolute(), option, arg, "the device must be a path such as /dev/sda");
        if (Files.exists(d.device()) && !isBlockDevice(d.device())) {
            throw new ParameterException(commandLine(), option + " " + arg + ": " + d.device() + " is not a block device");
        }
        return d;
    }

    private ByteSize rate(String option, String arg, String text) {
        ByteSize rate = size(option, arg, text);
        check(rate.bytes() >= 1, option, arg, "the rate must be at least 1 byte per second");
        return rate;
    }

    private long iops(String option, String arg, String text) {
        long n;
        try {
            n = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new ParameterException(commandLine(), option + " " + arg + ": \"" + text + "\" is not a whole number of operations per second");
        }
        check(n >= 1, option, arg, "must be at least 1 operation per second");
        return n;
    }

    /** True for a block special file (S_IFBLK); a character device such as /dev/null has numbers too but no I/O queue. */
    static boolean isBlockDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            return (mode & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private ByteSize size(String option, String text) {
        return size(option, text, text);
    }

    private ByteSize size(String option, String given, String text) {
        try {
            return ByteSize.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(commandLine(), option + " " + given + ": " + e.getMessage());
        }
    }

    private void check(boolean ok, String option, Object value, String problem) {
        if (!ok) {
            throw new ParameterException(commandLine(), option + " " + value + ": " + problem);
        }
    }

    /** Runs one builder call; what the library still rejects (a cpuset's syntax, a missing device) names the option. */
    private void set(String option, Object value, Runnable call) {
        try {
            call.run();
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new ParameterException(commandLine(), option + " " + value + ": " + e.getMessage());
        }
    }

    private picocli.CommandLine commandLine() {
        return spec.commandLine();
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
