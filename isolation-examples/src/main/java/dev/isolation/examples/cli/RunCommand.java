package dev.isolation.examples.cli;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Outcome;
import dev.isolation.core.Rlimit;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxException;
import dev.isolation.core.SeccompPolicy;
import dev.isolation.cgroups.ByteSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code isolation run}: one program in one sandbox, as a drop-in command runner. */
@Command(name = "run",
        description = {"Run COMMAND in a sandbox with the chosen namespaces and exit with its exit value.",
                "Standard input, output and error are the terminal's unless redirected. The environment is a small fixed one"
                + " plus the --env variables, not this one's: see Environment below."},
        showEndOfOptionsDelimiterInUsageHelp = true,
        // the full synopsis of some forty options says less than the list below
        customSynopsis = "isolation run [OPTIONS] [--] COMMAND [ARGS...]",
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
                "N:the program's exit code.",
                "128+S:signal S ended the program (137 for SIGKILL, also past --memory, --cpu-time, --wall-time, and --output-limit"
                + " on a terminal or a pipe; 153, SIGXFSZ, past --output-limit in a file). When a limit ended it, one line on"
                + " stderr says which. Ctrl-C, SIGTERM or SIGHUP to isolation is passed to the program as SIGTERM (5 s later,"
                + " or at a second signal, everything is killed): the exit status is then still the program's, and stderr says so.",
                "125:isolation itself failed: a bad option, or the sandbox could not be set up. One line on stderr says why and what"
                + " to do; nothing is left behind.",
                "126:the program exists but cannot be executed (no permission, not an executable).",
                "127:no such program in the sandbox."},
        footerHeading = "%n",
        footer = {"A program can exit 125, 126 or 127 itself: --json and --meta tell them apart. They are always written, also"
                + " when isolation failed (status SETUP_FAILED in --json, status:XX in --meta, with the message).",
                "",
                "--json FILE writes one JSON object: status, the verdict (OK, NONZERO_EXIT, SIGNALED, TIME_LIMIT,"
                + " WALL_TIME_LIMIT, MEMORY_LIMIT, OUTPUT_LIMIT, RESTRICTED_SYSCALL; when several apply the first of"
                + " TIME_LIMIT, WALL_TIME_LIMIT, MEMORY_LIMIT, OUTPUT_LIMIT, RESTRICTED_SYSCALL, SIGNALED,"
                + " NONZERO_EXIT wins), message (why, in one line), exitCode and signal"
                + " (null when not applicable), killed (by isolation: a time or output limit, or a signal to isolation), wallTimeMs, cpuTimeMs, userTimeMs, systemTimeMs (milliseconds,"
                + " fractional), maxRssBytes, voluntaryContextSwitches, involuntaryContextSwitches, command, namespaces"
                + ", hostname, uid and gid (as --uid/--gid set them, else null) and seccomp (default, strict or none);"
                + " from the sandbox's cgroup: oomKilled, memoryPeakBytes, pidsPeak and cgroupCpuTimeMs (CPU"
                + " time of every process; null without a cgroup or where the host cannot measure it), limits (each"
                + " {limit, value, file} written) and limitsNotApplied (each {limit, value, reason}, with --best-effort).",
                "",
                "--meta FILE writes isolate's meta file: time (CPU seconds of every process), time-wall (seconds),"
                + " max-rss (KiB, the largest process), cg-mem (KiB, the cgroup's peak, when measured), cg-oom-killed:1"
                + " (when the OOM killer struck), csw-voluntary, csw-forced, exitcode (when the program exited) or"
                + " exitsig (when a signal ended it), killed:1 (when isolation killed it), and unless the run was OK"
                + " status (RE: nonzero exit; SG: a signal, also past --memory and for a forbidden system call; TO:"
                + " --cpu-time or --wall-time exceeded; XX: the sandbox could not be set up) and message.",
                "",
                "Docker's and isolate's names, so that their users' commands work:",
                "  Docker   -e (--env), -w/--workdir (--chdir), -m (--memory), --pids-limit (--pids), --cpuset-cpus (--cpuset),",
                "           --device-{read,write}-{bps,iops} (--io-*), --cap-add (--keep-cap), -v/--volume SRC:DST[:ro]",
                "           (--bind-rw, or --bind with :ro), --network none (--net) or host, --read-only (--mount: its root is",
                "           read-only), --tmpfs DST:size=64m, --security-opt seccomp=unconfined (--seccomp none) or",
                "           no-new-privileges (always), --ulimit NAME=N[:N] (--rlimit), -u UID[:GID] (--uid, --gid), --rm",
                "           (always so), and the same names: --cpus, --cpu-shares, --hostname, --cgroup-parent, --env.",
                "  isolate  --time (--cpu-time), --extra-time, --mem KIB (address space, --rlimit as), --cg (--cgroup),",
                "           --cg-mem KIB (--memory), --processes (--pids), --fsize KIB, --stack KIB, --open-files N",
                "           (--rlimit), --dir IN=OUT[:rw][:noexec] (--bind OUT:IN), --full-env (--inherit-env),",
                "           --share-net (no --net), --stderr-to-stdout, --silent, and the same names: --wall-time, --env,",
                "           --chdir, --stdin, --stdout, --stderr, --meta.",
                "  isolate's sizes are KiB; this tool's and Docker's take K, M, G (binary).",
                "",
                "Limits go to the cgroup controller that has them on this host (v1 or v2, each in the kernel's own"
                + " syntax and units: isolation-cgroups converts); `isolation doctor` shows where each controller lives,"
                + " and --json's limits list every file written with its value.",
                "",
                "File system: with --mount and none of --rootfs, --bind, --bind-rw, --tmpfs the program gets a minimal"
                + " root of its own: the host's /usr, /bin, /sbin and /lib* and a few /etc files read-only, stub"
                + " /etc/passwd and /etc/group, a minimal /dev, /proc (with --pid) and a 64M /tmp; nothing else of the"
                + " host (/root, /home, /etc/shadow, /var, /sys). Those options add to that root (or replace it with"
                + " --rootfs) and need --mount. The working directory is then / unless --chdir names a directory"
                + " inside. --stdin, --stdout, --stderr and --json are opened by isolation, on the host.",
                "",
                "Environment: the program gets PATH=" + Sandbox.DEFAULT_PATH + ", HOME (/tmp with --mount, the"
                + " sandbox's own /tmp; else /), LANG, LC_ALL and TERM where isolation's own environment has them, and the"
                + " --env variables (a later --env of a name wins). Nothing else of isolation's environment reaches it,"
                + " tokens and credentials included, unless named with --env NAME or passed whole with --inherit-env."
                + " --clear-env leaves out the fixed variables too: the program gets the --env variables only.",
                "",
                "Identity: when isolation runs as root without --user the program runs without capabilities as a"
                + " uid and gid of its own (the same number, from 2130706432 on: no host user's, and no other live"
                + " sandbox's) unless --uid/--gid say otherwise; with --user it is root of its user namespace,"
                + " mapped to such an id outside when isolation runs as root, to isolation's own ids otherwise (or as"
                + " --map-uid/--map-gid say). Running as isolation's own uid (as root, or when isolation is not root)"
                + " needs --pid, and as root also --mount. The program can never gain privileges"
                + " (no_new_privs), and the --seccomp filter is installed last, right before it starts."})
final class RunCommand implements Callable<Integer> {
    /** How long a program stopped by a signal to isolation itself gets to exit after SIGTERM. */
    private static final Duration TERMINATION_GRACE = Duration.ofSeconds(5);

    /** Resources whose limits are in bytes, so that a size such as 64M is welcome; the others are counts or seconds. */
    private static final Set<Rlimit> SIZE_LIMITS =
            EnumSet.of(Rlimit.FSIZE, Rlimit.DATA, Rlimit.STACK, Rlimit.CORE, Rlimit.MEMLOCK, Rlimit.AS, Rlimit.MSGQUEUE);

    private static final Pattern SECONDS = Pattern.compile("\\d{1,9}(\\.\\d+)?|\\.\\d+");
    /** A year: longer than any run, far from Duration's and the monitor's nanosecond overflow. */
    private static final long MAX_SECONDS = 366L * 24 * 3600;

    @Spec
    CommandSpec spec;

    @Option(names = "--pid", description = "New PID namespace: the program sees only its own processes, with a tiny init as PID 1.")
    boolean pid;

    @Option(names = "--mount", description = "New private mount namespace and a root file system of its own: the"
            + " minimal root unless --rootfs, --bind, --bind-rw or --tmpfs say otherwise (see below); with --pid, a"
            + " fresh /proc.")
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

    @Option(names = {"--env", "-e"}, paramLabel = "K=V|K",
            description = "Set the program's environment variable K to V, or with K alone pass isolation's own value of"
                    + " K, if it has one (as isolate's -E K). Repeatable; a later one of the same name wins.")
    List<String> env = new ArrayList<>();

    @Option(names = {"--inherit-env", "--full-env"}, description = "Pass isolation's whole environment to the program, secrets"
            + " included, instead of the fixed one; --env adds to it.")
    boolean inheritEnv;

    @Option(names = "--clear-env", description = "No fixed variables: the program gets only the --env variables, not"
            + " even PATH and HOME (a command without '/' is still searched in the default PATH).")
    boolean clearEnv;

    @Option(names = {"--chdir", "-w", "--workdir"}, paramLabel = "DIR", description = "Working directory of the program, as seen inside the sandbox; with"
            + " --mount an absolute path in the sandbox's own root (default /).")
    Path chdir;

    @Option(names = "--stdin", paramLabel = "FILE", description = "Read standard input from FILE.")
    Path stdin;

    @Option(names = "--stdout", paramLabel = "FILE", description = "Write standard output to FILE (truncated).")
    Path stdout;

    @Option(names = "--stderr", paramLabel = "FILE", description = "Write standard error to FILE (truncated).")
    Path stderr;

    @Option(names = "--json", paramLabel = "FILE", description = "Write how the run ended and what it used to FILE as JSON (see below).")
    Path json;

    @Option(names = "--meta", paramLabel = "FILE", description = "Write how the run ended and what it used to FILE in"
            + " isolate's meta format: key:value lines (see below).")
    Path meta;

    // A judge's limits: time and output. Each verdict has its own status in --json and --meta.

    @Option(names = {"--cpu-time", "--time"}, paramLabel = "SECONDS", description = "CPU time allowed to all processes of the sandbox"
            + " together, e.g. 1 or 1.5; past it everything is killed (status TIME_LIMIT). Measured from the sandbox's"
            + " cgroup, which it implies.")
    String cpuTime;

    @Option(names = {"--wall-time", "--wall"}, paramLabel = "SECONDS", description = "Time allowed from the program's start to its"
            + " end, e.g. 3 or 0.5, sleeping included; past it everything is killed (status WALL_TIME_LIMIT).")
    String wallTime;

    @Option(names = {"--output-limit", "--output"}, paramLabel = "SIZE", description = "Bytes the program may write to standard output"
            + " and to standard error each, units as --memory, e.g. 1M, whatever they go to, and the size limit of every"
            + " file it writes. On a terminal, a pipe or a socket isolation relays them: exactly SIZE gets through, then"
            + " the sandbox is killed (exit 137, status OUTPUT_LIMIT), and the program sees a pipe, not a terminal. In a"
            + " file (--stdout, --stderr, a shell's redirection) and for every file it writes, RLIMIT_FSIZE: past it"
            + " SIGXFSZ ends the program (exit 153, status OUTPUT_LIMIT). With --mount, /tmp, /dev/shm and each --tmpfs"
            + " hold at most SIZE.")
    String outputLimit;

    // Limits. Each one gives the sandbox a cgroup of its own; the values are checked here, in the
    // tool's words, before anything starts. Strings where picocli's own conversion message would
    // not name the unit or the range.

    @Option(names = {"--memory", "-m"}, paramLabel = "SIZE", description = "Memory limit of the whole sandbox, at least 1M:"
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

    @Option(names = {"--cpuset", "--cpuset-cpus"}, paramLabel = "CPUS", description = "The CPUs the sandbox may run on, e.g. 0 or 0-1,3"
            + " (numbers as in /proc/cpuinfo); they must be among the parent cgroup's.")
    String cpuset;

    @Option(names = {"--pids", "--pids-limit", "--processes"}, paramLabel = "N", description = "At most N processes and threads in the sandbox, >= 1;"
            + " one more fork fails with EAGAIN (Resource temporarily unavailable).")
    String pids;

    @Option(names = "--io-weight", paramLabel = "N", description = "Relative block I/O weight, 1..10000 (default 100),"
            + " v2's scale; converted to v1's 10..1000. Only a proportional I/O scheduler (BFQ, CFQ) honours it.")
    Integer ioWeight;

    @Option(names = {"--io-read-bps", "--device-read-bps"}, paramLabel = "DEV:RATE", description = "Reads from block device DEV limited to RATE"
            + " bytes per second, units as --memory, e.g. /dev/sda:30M (repeatable).")
    List<String> ioReadBps = new ArrayList<>();

    @Option(names = {"--io-write-bps", "--device-write-bps"}, paramLabel = "DEV:RATE", description = "Writes to block device DEV limited to RATE"
            + " bytes per second, e.g. /dev/sda:30M (repeatable). On v1 only direct (O_DIRECT) writes are"
            + " throttled; v2 throttles buffered writeback too.")
    List<String> ioWriteBps = new ArrayList<>();

    @Option(names = {"--io-read-iops", "--device-read-iops"}, paramLabel = "DEV:N", description = "Read operations per second on block device DEV,"
            + " >= 1, e.g. /dev/sda:100 (repeatable).")
    List<String> ioReadIops = new ArrayList<>();

    @Option(names = {"--io-write-iops", "--device-write-iops"}, paramLabel = "DEV:N", description = "Write operations per second on block device"
            + " DEV, >= 1 (repeatable); on v1 direct writes only, as --io-write-bps.")
    List<String> ioWriteIops = new ArrayList<>();

    @Option(names = {"--cgroup", "--cg"}, description = "A cgroup of its own even without limits: for the cgroup figures in --json"
            + " (peak memory, peak pids, CPU time of every process) and for killing everything the program started."
            + " Any limit implies it.")
    boolean cgroup;

    @Option(names = "--cgroup-parent", paramLabel = "PATH", description = "Create the sandbox's cgroup under this cgroup"
            + " (a path as in /proc/self/cgroup, e.g. /jobs), which must exist in every hierarchy; on v2 the needed"
            + " controllers must be enabled in its subtree_control. Default: this process's own cgroup (v1,"
            + " hybrid), an 'isolation' subtree beside it (v2). Implies --cgroup.")
    Path cgroupParent;

    @Option(names = "--best-effort", description = "Run even where this host cannot apply some limit (say, no swap"
            + " accounting); --json lists those in limitsNotApplied. Default: such a limit is an error (exit 125).")
    boolean bestEffort;

    // Security: file system, identity, privileges. Checked here in the tool's words, as the limits are.

    @Option(names = "--rootfs", paramLabel = "DIR", description = "Use the directory tree DIR (e.g. an extracted image)"
            + " as the read-only root instead of the minimal root; /dev, /proc and /tmp are mounted on it. Needs --mount.")
    Path rootfs;

    @Option(names = "--image", paramLabel = "DIR:TAG", description = "Run on an image (an OCI layout directory, an OCI"
            + " archive or a docker-archive; TAG defaults to latest): its layers, unpacked once into the image cache"
            + " (-Disolation.imageCache), are the root, copy-on-write; writes vanish with the sandbox. Its Env and"
            + " WorkingDir are the defaults. Needs --mount.")
    String image;

    @Option(names = "--bind", paramLabel = "SRC:DST", description = "Make host path SRC visible read-only at DST inside,"
            + " an absolute path, e.g. ./data:/data (repeatable). Split at the last ':' followed by '/'. Needs --mount.")
    List<String> binds = new ArrayList<>();

    @Option(names = "--bind-rw", paramLabel = "SRC:DST", description = "Like --bind but writable (repeatable); the"
            + " program's uid must still be allowed to write there.")
    List<String> bindsWritable = new ArrayList<>();

    @Option(names = "--tmpfs", paramLabel = "DST:SIZE", description = "A fresh tmpfs of at most SIZE at DST, writable by"
            + " everyone, e.g. /scratch:64M; units as --memory (repeatable). Needs --mount.")
    List<String> tmpfs = new ArrayList<>();

    @Option(names = "--noexec", paramLabel = "DST", description = "No program may be executed from the mount at DST inside:"
            + " a --bind, --bind-rw, --tmpfs or /tmp (repeatable). Needs --mount.")
    List<String> noexec = new ArrayList<>();

    @Option(names = "--uid", paramLabel = "N", description = "Run the program as uid N, >= 0 (an id of the user namespace"
            + " with --user). Without --gid, the gid is N too.")
    Long uid;

    @Option(names = "--gid", paramLabel = "N", description = "Run the program as gid N, >= 0; supplementary groups are"
            + " cleared. Without --uid, the uid is N too.")
    Long gid;

    @Option(names = "--map-uid", paramLabel = "INSIDE:OUTSIDE:COUNT", description = "Map COUNT uids of the user namespace"
            + " from INSIDE to host uids from OUTSIDE, e.g. 0:65534:1 (repeatable: one uid_map line each). Implies"
            + " --user; uid 0 must be mapped. Default: 0 to an id of the sandbox's own when isolation runs as root,"
            + " else to its own uid.")
    List<String> uidMaps = new ArrayList<>();

    @Option(names = "--map-gid", paramLabel = "INSIDE:OUTSIDE:COUNT", description = "Like --map-uid for group ids"
            + " (repeatable).")
    List<String> gidMaps = new ArrayList<>();

    @Option(names = {"--keep-cap", "--cap-add"}, paramLabel = "NAME", description = "Keep this capability, e.g. CAP_NET_BIND_SERVICE or"
            + " net_bind_service (repeatable); every other one is dropped.")
    List<String> keepCaps = new ArrayList<>();

    @Option(names = "--seccomp", paramLabel = "MODE", description = "System call filter: default (everything except"
            + " what reaches the whole machine: mounts, namespaces, modules, ptrace, bpf, clocks, ...), strict (only"
            + " what programs need to compute, use files and run threads; no sockets) or none. A denied call kills the"
            + " program (exit 137; in --json, status RESTRICTED_SYSCALL and a message naming the call). Default: default.")
    String seccomp;

    @Option(names = "--seccomp-deny", paramLabel = "NAME", description = "Also deny this system call, e.g. ptrace"
            + " (repeatable); named as in the kernel headers.")
    List<String> seccompDeny = new ArrayList<>();

    @Option(names = "--seccomp-allow", paramLabel = "NAME", description = "Also allow this system call, e.g. socket"
            + " (repeatable); not with --seccomp-deny of the same name.")
    List<String> seccompAllow = new ArrayList<>();

    @Option(names = "--rlimit", paramLabel = "NAME=VALUE", description = "Set a resource limit, soft and hard, before the"
            + " program starts (repeatable): cpu (seconds), fsize, data, stack, core, memlock, as, msgqueue (bytes,"
            + " or a size like 64M), nproc, nofile (counts), each a number or 'unlimited', e.g. stack=unlimited,"
            + " nofile=64. core is 0 unless set.")
    List<String> rlimits = new ArrayList<>();

    // Docker's and isolate's spellings whose values differ from the options above: folded into
    // those by applyAliases() before anything reads them. Plain aliases are names of the options above.

    @Option(names = {"-v", "--volume"}, paramLabel = "SRC:DST[:ro]", description = "Docker's bind: --bind-rw SRC:DST, or"
            + " with :ro --bind SRC:DST (repeatable). Needs --mount.")
    List<String> volumes = new ArrayList<>();

    @Option(names = "--dir", paramLabel = "IN=OUT[:rw]", description = "isolate's bind: host directory OUT at IN inside,"
            + " read-only (--bind OUT:IN), writable with :rw, no execution with :noexec; IN alone binds the same path"
            + " (repeatable). Needs --mount.")
    List<String> dirs = new ArrayList<>();

    @Option(names = "--network", paramLabel = "none|host", description = "Docker's network mode: none is --net (a network"
            + " namespace with only loopback), host is the host's network (no --net).")
    String network;

    @Option(names = "--share-net", description = "isolate's: the host's network, the default (not with --net).")
    boolean shareNet;

    @Option(names = "--read-only", description = "Docker's read-only root: implies --mount, whose root is always read-only"
            + " (only /tmp, /dev/shm, --tmpfs and --bind-rw are writable).")
    boolean readOnly;

    @Option(names = "--rm", description = "Docker's: accepted and always so (nothing of a sandbox outlives its program).")
    boolean rm;

    @Option(names = "-u", paramLabel = "UID[:GID]", description = "Docker's --user with numbers: --uid UID --gid GID.")
    String dockerUser;

    @Option(names = "--security-opt", paramLabel = "OPT", description = "Docker's: seccomp=unconfined is --seccomp none;"
            + " no-new-privileges is always so (repeatable).")
    List<String> securityOpts = new ArrayList<>();

    @Option(names = "--ulimit", paramLabel = "NAME=N[:N]", description = "Docker's: --rlimit NAME=N; soft and hard are set"
            + " alike, so N:N must be one number twice (repeatable).")
    List<String> ulimits = new ArrayList<>();

    @Option(names = "--mem", paramLabel = "KIB", description = "isolate's: address space of each process in KiB"
            + " (--rlimit as=KIBK). Breaks the JVM, Go and V8: prefer --cg-mem or --memory.")
    String isolateMem;

    @Option(names = "--cg-mem", paramLabel = "KIB", description = "isolate's: memory limit of the whole sandbox in KiB"
            + " (--memory KIBK).")
    String isolateCgMem;

    @Option(names = "--fsize", paramLabel = "KIB", description = "isolate's: size of each file written, in KiB"
            + " (--rlimit fsize=KIBK).")
    String isolateFsize;

    @Option(names = "--stack", paramLabel = "KIB", description = "isolate's: stack size in KiB (--rlimit stack=KIBK).")
    String isolateStack;

    @Option(names = "--open-files", paramLabel = "N", description = "isolate's: open files per process (--rlimit nofile=N).")
    String isolateOpenFiles;

    @Option(names = "--extra-time", paramLabel = "SECONDS", description = "isolate's: past --cpu-time or --wall-time, let the"
            + " program run this much longer before the kill, so that its real time is measured; a program that ends"
            + " in the extra time is still TIME_LIMIT or WALL_TIME_LIMIT (status TO).")
    String extraTime;

    @Option(names = "--stderr-to-stdout", description = "isolate's: standard error goes where standard output goes.")
    boolean stderrToStdout;

    @Option(names = {"-q", "--silent"}, description = "No line on stderr when a limit or a signal ends the run (isolate's"
            + " --silent); failures of isolation itself are still said.")
    boolean silent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(index = "0", arity = "1", paramLabel = "COMMAND", description = "The program, searched in PATH if it has no '/'.")
    String program;

    @Parameters(index = "1..*", arity = "0..*", paramLabel = "ARGS", description = "Its arguments, passed verbatim.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        // a ParameterException is reported by IsolationCli's handler, --json and --meta included
        applyAliases();
        if (json != null) {
            checkWritable(json, "--json");
        }
        if (meta != null) {
            checkWritable(meta, "--meta");
        }
        Sandbox sandbox = sandbox();
        ProcessBuilder pb = processBuilder();
        List<Path> created = notYetExisting(stdout, stderr);
        // Installed before the start: a signal that arrives while the program starts must reach it too.
        try (SignalRelay relay = new SignalRelay()) {
            IsolatedProcess process;
            try {
                process = sandbox.start(pb);
            } catch (SandboxException | RuntimeException e) {
                // The helper may have created the output files before the setup step that failed.
                for (Path p : created) {
                    Files.deleteIfExists(p);
                }
                reportSetupFailure(inToolWords(IsolationCli.oneLine(e)), e);
                throw e;
            }
            try (process) {
                relay.attach(process);
                Outcome outcome = outcome(process);
                Verdict verdict = verdict(outcome.status(), outcome.message(), outcome.cpuTime(), outcome.wallTime());
                if (json != null) {
                    try {
                        RunReport.of(pb.command(), sandbox, runAs(), seccompMode(), outcome).withVerdict(verdict.status(), verdict.message())
                                .writeTo(json);
                    } catch (IOException e) {
                        // NoSuchFileException and friends say only the path
                        throw new IOException("cannot write --json " + json + ": " + e, e);
                    }
                }
                if (meta != null) {
                    try {
                        MetaFile.of(outcome).withVerdict(verdict.status(), verdict.message()).writeTo(meta);
                    } catch (IOException e) {
                        throw new IOException("cannot write --meta " + meta + ": " + e, e);
                    }
                }
                endLine(verdict, outcome.exitValue(), outcome.signal().isPresent(), relay.received()).filter(line -> !silent).ifPresent(line -> {
                    commandLine().getErr().println(line);
                    commandLine().getErr().flush();
                });
                return outcome.exitValue();
            }
        }
    }

    /** How the run ended, as --json and --meta say it: the library's verdict, or a time limit that --extra-time let pass. */
    record Verdict(Outcome.Status status, String message) {}

    /** The verdict of a run that ended as {@code status} after {@code cpu} and {@code wall}: the library's unless --extra-time let a limit pass. */
    Verdict verdict(Outcome.Status status, String message, Duration cpu, Duration wall) {
        Verdict own = new Verdict(status, message);
        if (extraTime == null || EnumSet.of(Outcome.Status.SETUP_FAILED, Outcome.Status.INTERNAL_ERROR, Outcome.Status.INTERRUPTED,
                Outcome.Status.TIME_LIMIT).contains(status)) {
            return own;
        }
        if (cpuTime != null && cpu.compareTo(seconds("--cpu-time", cpuTime)) > 0) {
            return new Verdict(Outcome.Status.TIME_LIMIT, "CPU time limit exceeded (" + cpu.toMillis() + " ms; the limit is "
                    + cpuTime + " s, the kill came after --extra-time " + extraTime + " s more)");
        }
        if (wallTime != null && status != Outcome.Status.WALL_TIME_LIMIT && wall.compareTo(seconds("--wall-time", wallTime)) > 0) {
            return new Verdict(Outcome.Status.WALL_TIME_LIMIT, "wall time limit exceeded (" + wall.toMillis() + " ms; the limit is "
                    + wallTime + " s, the kill came after --extra-time " + extraTime + " s more)");
        }
        return own;
    }

    private static final Set<Outcome.Status> LIMITS = EnumSet.of(Outcome.Status.TIME_LIMIT, Outcome.Status.WALL_TIME_LIMIT,
            Outcome.Status.MEMORY_LIMIT, Outcome.Status.OUTPUT_LIMIT, Outcome.Status.RESTRICTED_SYSCALL);

    /**
     * The one line on isolation's stderr when a limit or a signal to isolation ended the run (the
     * program's own stderr says nothing of a SIGKILL); nothing when the program ended by itself.
     */
    static Optional<String> endLine(Verdict v, int exitValue, boolean signalled, Optional<String> signalToIsolation) {
        String how = signalled ? "was killed by signal " + (exitValue - 128) : "exited with code " + exitValue;
        if (signalToIsolation.isPresent()) {
            return Optional.of("isolation: " + signalToIsolation.get() + " to isolation: the program was sent SIGTERM and " + how
                    + " (exit " + exitValue + ", status " + v.status() + ")");
        }
        if (LIMITS.contains(v.status())) {
            return Optional.of("isolation: " + v.message() + ": the program " + how + " (exit " + exitValue + ", status "
                    + v.status() + ")");
        }
        return Optional.empty();
    }

    /**
     * Writes --json (status SETUP_FAILED) and --meta (status XX) for a run that never started, when
     * they were given and can be written: a caller tells "isolation failed" from "the program exited
     * 125" by them. A failure to write them is added to {@code cause}, or dropped when there is none
     * (the one line on stderr already says what went wrong).
     */
    void reportSetupFailure(String message) {
        reportSetupFailure(message, null);
    }

    private void reportSetupFailure(String message, Throwable cause) {
        if (json != null && isWritableLocation(json)) {
            try {
                RunReport.setupFailed(command(), requestedNamespaces(), Optional.ofNullable(hostname), seccompMode(), message).writeTo(json);
            } catch (IOException | RuntimeException e) {
                if (cause != null) {
                    cause.addSuppressed(e);
                }
            }
        }
        if (meta != null && isWritableLocation(meta)) {
            try {
                MetaFile.setupFailed(message).writeTo(meta);
            } catch (IOException | RuntimeException e) {
                if (cause != null) {
                    cause.addSuppressed(e);
                }
            }
        }
    }

    private static boolean isWritableLocation(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return !Files.isDirectory(file) && parent != null && Files.isDirectory(parent);
    }

    private List<String> command() {
        List<String> command = new ArrayList<>();
        if (program != null) {
            command.add(program);
        }
        command.addAll(args);
        return command;
    }

    /** The namespaces the options ask for, without building the policy (which may be what failed). */
    Set<Sandbox.Namespace> requestedNamespaces() {
        Set<Sandbox.Namespace> ns = EnumSet.noneOf(Sandbox.Namespace.class);
        boolean[] flags = {pid, mount, uts, ipc, net, user, cgroupns};
        Sandbox.Namespace[] names = {Sandbox.Namespace.PID, Sandbox.Namespace.MOUNT, Sandbox.Namespace.UTS, Sandbox.Namespace.IPC,
                Sandbox.Namespace.NETWORK, Sandbox.Namespace.USER, Sandbox.Namespace.CGROUP};
        for (int i = 0; i < flags.length; i++) {
            if (flags[i]) {
                ns.add(names[i]);
            }
        }
        return ns;
    }

    /** The library's words for what to do, in this tool's options. */
    static String inToolWords(String message) {
        String m = message;
        String[][] words = {{"pidNs()", "--pid"}, {"mountNs()", "--mount"}, {"userNs()", "--user"}, {"runAs(uid, gid)", "--uid/--gid"},
                {"env(\"PATH\", ...)", "--env PATH=..."}, {"minimalRoot, rootfs, bind, tmpfs", "--mount, --rootfs, --bind, --tmpfs"},
                {"(no rootfs)", "(--mount without --rootfs)"}};
        for (String[] w : words) {
            m = m.replace(w[0], w[1]);
        }
        return m;
    }

    private boolean aliasesApplied;

    /**
     * Folds Docker's and isolate's options whose values differ from this tool's into this tool's
     * own, once, checking them in their own names. Plain aliases need nothing: they are names of
     * the options themselves.
     */
    void applyAliases() {
        if (aliasesApplied) {
            return;
        }
        aliasesApplied = true;
        for (String v : volumes) {
            boolean readOnlyBind = v.endsWith(":ro");
            String bind = readOnlyBind || v.endsWith(":rw") ? v.substring(0, v.length() - 3) : v;
            check(BindSpec.parse(bind).isPresent(), "-v", v, "expected SRC:DST or SRC:DST:ro with DST an absolute path inside,"
                    + " e.g. ./data:/data:ro");
            (readOnlyBind ? binds : bindsWritable).add(bind);
        }
        for (String d : dirs) {
            String[] parts = d.split(":", -1);
            boolean writable = false;
            for (int i = 1; i < parts.length; i++) {
                switch (parts[i]) {
                    case "rw" -> writable = true;
                    case "noexec" -> noexec.add(parts[0].contains("=") ? parts[0].substring(0, parts[0].indexOf('=')) : parts[0]);
                    default -> check(false, "--dir", d, "the options this tool knows are rw and noexec");
                }
            }
            int eq = parts[0].indexOf('=');
            String inside = eq < 0 ? parts[0] : parts[0].substring(0, eq);
            String outside = eq < 0 ? parts[0] : parts[0].substring(eq + 1);
            check(inside.startsWith("/") && !outside.isEmpty(), "--dir", d, "expected IN=OUT with IN an absolute path inside,"
                    + " e.g. /data=/srv/data or /data=/srv/data:rw");
            (writable ? bindsWritable : binds).add(outside + ":" + inside);
        }
        if (network != null) {
            switch (network) {
                case "none" -> net = true;
                case "host" -> check(!net, "--network", network, "contradicts --net: choose one");
                default -> check(false, "--network", network, "expected none (a network namespace with only loopback, as"
                        + " --net) or host (the host's network); isolation makes no virtual networks");
            }
        }
        if (shareNet && net) {
            throw new ParameterException(commandLine(), "--share-net contradicts --net: choose one");
        }
        if (readOnly) {
            mount = true;
        }
        if (dockerUser != null) {
            check(dockerUser.matches("\\d{1,10}(:\\d{1,10})?"), "-u", dockerUser, "expected UID or UID:GID as numbers, e.g."
                    + " 1000:1000 (names would need a passwd file)");
            check(uid == null && gid == null, "-u", dockerUser, "contradicts --uid/--gid: use one");
            String[] ids = dockerUser.split(":");
            uid = Long.parseLong(ids[0]);
            gid = Long.parseLong(ids[ids.length - 1]);
        }
        for (String opt : securityOpts) {
            switch (opt) {
                case "seccomp=unconfined", "seccomp:unconfined" -> {
                    check(seccomp == null || seccomp.equalsIgnoreCase("none"), "--security-opt", opt, "contradicts --seccomp " + seccomp);
                    seccomp = "none";
                }
                case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true" -> { } // always so
                default -> check(false, "--security-opt", opt, "this tool knows seccomp=unconfined (--seccomp none) and"
                        + " no-new-privileges (always on); for a filter use --seccomp, --seccomp-deny and --seccomp-allow");
            }
        }
        for (String u : ulimits) {
            int eq = u.indexOf('=');
            check(eq > 0 && eq < u.length() - 1, "--ulimit", u, "expected NAME=N or NAME=N:N, e.g. nofile=64");
            String value = u.substring(eq + 1);
            int colon = value.indexOf(':');
            if (colon >= 0) {
                check(value.substring(0, colon).equals(value.substring(colon + 1)), "--ulimit", u,
                        "soft and hard limits are set alike here: give one value, e.g. nofile=64");
                value = value.substring(0, colon);
            }
            rlimits.add(u.substring(0, eq) + "=" + (value.equals("-1") ? "unlimited" : value));
        }
        if (isolateMem != null) {
            rlimits.add("as=" + kib("--mem", isolateMem) + "K");
        }
        if (isolateCgMem != null) {
            check(memory == null, "--cg-mem", isolateCgMem, "contradicts --memory " + memory + ": set one");
            memory = kib("--cg-mem", isolateCgMem) + "K";
        }
        if (isolateFsize != null) {
            rlimits.add("fsize=" + kib("--fsize", isolateFsize) + "K");
        }
        if (isolateStack != null) {
            rlimits.add("stack=" + kib("--stack", isolateStack) + "K");
        }
        if (isolateOpenFiles != null) {
            check(isolateOpenFiles.matches("\\d{1,9}"), "--open-files", isolateOpenFiles, "expected a whole number of files, e.g. 64");
            rlimits.add("nofile=" + isolateOpenFiles);
        }
        if (extraTime != null) {
            seconds("--extra-time", extraTime);
            check(cpuTime != null || wallTime != null, "--extra-time", extraTime, "needs --cpu-time (--time) or --wall-time");
        }
        for (int i = 0; i < tmpfs.size(); i++) {
            // Docker's DST:size=64m[,mode=1777]
            String t = tmpfs.get(i);
            java.util.regex.Matcher m = Pattern.compile("(.*?):(?:.*,)?size=([^,]+)(,.*)?").matcher(t);
            if (m.matches()) {
                tmpfs.set(i, m.group(1) + ":" + m.group(2));
            }
        }
    }

    /** isolate's sizes: a whole number of KiB. */
    private long kib(String option, String text) {
        check(text.matches("\\d{1,12}") && Long.parseLong(text) >= 1, option, text, "expected a whole number of KiB (isolate's unit),"
                + " e.g. 262144 for 256 MiB");
        return Long.parseLong(text);
    }

    /** The policy the namespace options describe. */
    Sandbox sandbox() {
        applyAliases();
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
        environment(b);
        limits(b);
        filesystem(b);
        identity(b);
        b.seccomp(seccompPolicy());
        rlimitValues().forEach(b::rlimit);
        try {
            return b.build();
        } catch (IllegalStateException e) {
            // said in the tool's words
            String m = e.getMessage();
            for (String[] w : new String[][] {{"pidNs()", "--pid"}, {"mountNs()", "--mount"}, {"userNs()", "--user"}}) {
                m = m.replace(w[0], w[1]);
            }
            throw new ParameterException(spec.commandLine(), m);
        }
    }

    /** The file system options: each one needs --mount; --mount alone gives the minimal root. */
    private void filesystem(Sandbox.Builder b) {
        if (!mount) {
            String anyOption = rootfs != null ? "--rootfs " + rootfs
                    : !binds.isEmpty() ? "--bind " + binds.get(0)
                    : !bindsWritable.isEmpty() ? "--bind-rw " + bindsWritable.get(0)
                    : !tmpfs.isEmpty() ? "--tmpfs " + tmpfs.get(0)
                    : !noexec.isEmpty() ? "--noexec " + noexec.get(0)
                    : null;
            if (anyOption != null) {
                // said in the tool's words; the builder would name mountNs()
                throw new ParameterException(commandLine(), anyOption + " needs --mount: the sandbox's mounts live in its own mount namespace");
            }
            return;
        }
        if (minimalRootByDefault()) {
            b.minimalRoot();
        }
        if (rootfs != null) {
            check(Files.isDirectory(rootfs), "--rootfs", rootfs, "not a directory");
            set("--rootfs", rootfs, () -> b.rootfs(rootfs.toAbsolutePath()));
        }
        if (image != null) {
            int colon = image.lastIndexOf(':');
            boolean tagged = colon > 0 && image.indexOf('/', colon) < 0;
            String dir = tagged ? image.substring(0, colon) : image;
            String tag = tagged ? image.substring(colon + 1) : "latest";
            try {
                dev.isolation.core.image.OciImage opened = dev.isolation.core.image.OciImage.open(Path.of(dir), tag);
                set("--image", image, () -> b.image(opened));
            } catch (java.io.IOException e) {
                throw new ParameterException(commandLine(), "--image " + image + ": " + e.getMessage());
            }
        }
        for (String arg : binds) {
            BindSpec bind = bindSpec("--bind", arg);
            set("--bind", arg, () -> b.bind(bind.source(), bind.target()));
        }
        for (String arg : bindsWritable) {
            BindSpec bind = bindSpec("--bind-rw", arg);
            set("--bind-rw", arg, () -> b.bindWritable(bind.source(), bind.target()));
        }
        for (String arg : tmpfs) {
            int colon = arg.lastIndexOf(':');
            check(colon > 0 && colon < arg.length() - 1, "--tmpfs", arg, "expected DST:SIZE, e.g. /scratch:64M");
            ByteSize size = size("--tmpfs", arg, arg.substring(colon + 1));
            // size=0 would mean no limit to the kernel
            check(size.bytes() >= 4096, "--tmpfs", arg, "the size must be at least 4K");
            set("--tmpfs", arg, () -> b.tmpfs(arg.substring(0, colon), size));
        }
        for (String arg : noexec) {
            set("--noexec", arg, () -> b.noexec(arg));
        }
    }

    /** The rule of the minimal root: --mount without a file system option gets it. */
    boolean minimalRootByDefault() {
        return mount && rootfs == null && binds.isEmpty() && bindsWritable.isEmpty() && tmpfs.isEmpty();
    }

    /** A bind as {@code SRC:DST}: split at the last ':' that starts the absolute DST, as SRC may hold a ':'. */
    record BindSpec(Path source, String target) {
        static Optional<BindSpec> parse(String spec) {
            int colon = spec.lastIndexOf(":/");
            if (colon <= 0) {
                return Optional.empty();
            }
            try {
                return Optional.of(new BindSpec(Path.of(spec.substring(0, colon)), spec.substring(colon + 1)));
            } catch (java.nio.file.InvalidPathException e) {
                return Optional.empty();
            }
        }
    }

    private BindSpec bindSpec(String option, String arg) {
        BindSpec bind = BindSpec.parse(arg).orElseThrow(() -> new ParameterException(commandLine(), option + " " + arg
                + ": expected SRC:DST with DST an absolute path inside, e.g. /srv/data:/data"));
        check(Files.exists(bind.source()), option, arg, "no such file or directory: " + bind.source());
        return new BindSpec(bind.source().toAbsolutePath(), bind.target());
    }

    /** --uid, --gid, the id maps and the kept capabilities. */
    private void identity(Sandbox.Builder b) {
        if (uid != null) {
            check(uid >= 0 && uid <= Integer.MAX_VALUE, "--uid", uid, "must be in 0..2147483647");
        }
        if (gid != null) {
            check(gid >= 0 && gid <= Integer.MAX_VALUE, "--gid", gid, "must be in 0..2147483647");
        }
        runAs().ifPresent(ids -> b.runAs(ids.uid(), ids.gid()));
        for (String arg : uidMaps) {
            long[] m = idMap("--map-uid", arg);
            set("--map-uid", arg, () -> b.uidMap(m[0], m[1], m[2]));
        }
        for (String arg : gidMaps) {
            long[] m = idMap("--map-gid", arg);
            set("--map-gid", arg, () -> b.gidMap(m[0], m[1], m[2]));
        }
        for (String cap : keepCaps) {
            set("--keep-cap", cap, () -> b.keepCapability(cap));
        }
    }

    /** Who the program runs as, by --uid and --gid. */
    record RunAs(int uid, int gid) {}

    /** The ids of --uid and --gid, the missing one the same number as the other; empty without either. Checked in {@link #sandbox()}. */
    Optional<RunAs> runAs() {
        if (uid == null && gid == null) {
            return Optional.empty();
        }
        long u = uid != null ? uid : gid;
        long g = gid != null ? gid : uid;
        return Optional.of(new RunAs((int) u, (int) g));
    }

    private long[] idMap(String option, String arg) {
        String[] parts = arg.split(":", -1);
        long[] m = new long[3];
        try {
            if (parts.length != 3) {
                throw new NumberFormatException();
            }
            for (int i = 0; i < 3; i++) {
                m[i] = Long.parseLong(parts[i]);
            }
        } catch (NumberFormatException e) {
            throw new ParameterException(commandLine(), option + " " + arg + ": expected INSIDE:OUTSIDE:COUNT, e.g. 0:65534:1");
        }
        return m;
    }

    /** The --seccomp mode: default, strict or none. */
    String seccompMode() {
        return seccomp == null ? "default" : seccomp.toLowerCase(Locale.ROOT);
    }

    private SeccompPolicy seccompPolicy() {
        SeccompPolicy policy = switch (seccompMode()) {
            case "default" -> SeccompPolicy.defaultPolicy();
            case "strict" -> SeccompPolicy.strict();
            case "none" -> SeccompPolicy.none();
            default -> throw new ParameterException(commandLine(), "--seccomp " + seccomp + ": expected default, strict or none");
        };
        for (String name : seccompAllow) {
            if (seccompDeny.contains(name)) {
                throw new ParameterException(commandLine(), "--seccomp-allow " + name + " contradicts --seccomp-deny " + name);
            }
        }
        for (String name : seccompDeny) {
            policy = seccompRule("--seccomp-deny", name, policy::deny);
        }
        for (String name : seccompAllow) {
            policy = seccompRule("--seccomp-allow", name, policy::allow);
        }
        return policy;
    }

    private SeccompPolicy seccompRule(String option, String name, java.util.function.Function<String, SeccompPolicy> rule) {
        try {
            return rule.apply(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(commandLine(), option + " " + name + ": " + e.getMessage());
        }
    }

    /** The --rlimit values by resource, soft and hard alike, {@link Rlimit#UNLIMITED} for 'unlimited'; a later one wins. */
    Map<Rlimit, Long> rlimitValues() {
        Map<Rlimit, Long> result = new java.util.EnumMap<>(Rlimit.class);
        for (String arg : rlimits) {
            int eq = arg.indexOf('=');
            check(eq > 0 && eq < arg.length() - 1, "--rlimit", arg, "expected NAME=VALUE, e.g. nofile=64 or stack=unlimited");
            String text = arg.substring(eq + 1);
            Rlimit resource;
            try {
                resource = Rlimit.byName(arg.substring(0, eq));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(commandLine(), "--rlimit " + arg + ": " + e.getMessage());
            }
            long value;
            if (text.equalsIgnoreCase("unlimited")) {
                value = Rlimit.UNLIMITED;
            } else if (SIZE_LIMITS.contains(resource)) {
                value = size("--rlimit", arg, text).bytes();
            } else {
                try {
                    value = Long.parseLong(text);
                } catch (NumberFormatException e) {
                    value = -1;
                }
                check(value >= 0, "--rlimit", arg, "the value must be a whole number >= 0 or 'unlimited'");
            }
            result.put(resource, value);
        }
        return result;
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
            // a String, so that the message names the option as this tool does whichever alias was typed
            check(pids.matches("\\d{1,18}") && Long.parseLong(pids) >= 1, "--pids", pids, "expected a whole number of processes,"
                    + " at least 1");
            long n = Long.parseLong(pids);
            set("--pids", pids, () -> b.pidsLimit(n));
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
        // with --extra-time the kill comes that much later; verdict() still judges by the limit itself
        Duration extra = extraTime == null ? Duration.ZERO : seconds("--extra-time", extraTime);
        if (cpuTime != null) {
            Duration d = seconds("--cpu-time", cpuTime).plus(extra);
            set("--cpu-time", cpuTime, () -> b.cpuTimeLimit(d));
        }
        if (wallTime != null) {
            Duration d = seconds("--wall-time", wallTime).plus(extra);
            set("--wall-time", wallTime, () -> b.wallTimeLimit(d));
        }
        if (outputLimit != null) {
            ByteSize s = size("--output-limit", outputLimit);
            check(s.bytes() >= 1, "--output-limit", outputLimit, "must be at least 1 byte");
            set("--output-limit", outputLimit, () -> b.outputLimit(s));
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

    /** A positive decimal number of seconds, to the millisecond or finer: 1, 1.5, 0.25. */
    Duration seconds(String option, String text) {
        check(SECONDS.matcher(text).matches(), option, text, "expected a number of seconds, e.g. 1 or 1.5");
        BigDecimal nanos = new BigDecimal(text).movePointRight(9);
        check(nanos.signum() > 0, option, text, "must be more than 0 seconds");
        check(nanos.compareTo(BigDecimal.valueOf(MAX_SECONDS).movePointRight(9)) <= 0, option, text,
                "must be at most " + MAX_SECONDS + " seconds");
        check(nanos.stripTrailingZeros().scale() <= 0, option, text, "more precise than a nanosecond");
        return Duration.ofNanos(nanos.longValueExact());
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
        applyAliases();
        List<String> command = new ArrayList<>();
        command.add(program);
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO(); // its environment goes by the policy: see environment()
        if (chdir != null) {
            check(!mount || chdir.isAbsolute(), "--chdir", chdir, "must be an absolute path inside the sandbox, which has a root of its own with --mount");
            pb.directory(chdir.toFile());
        }
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        if (stdout != null) {
            pb.redirectOutput(stdout.toFile());
        }
        if (stderr != null) {
            check(!stderrToStdout, "--stderr", stderr, "contradicts --stderr-to-stdout: choose one");
            pb.redirectError(stderr.toFile());
        }
        pb.redirectErrorStream(stderrToStdout);
        return pb;
    }

    /**
     * The environment options, as the policy's: --inherit-env or --clear-env for the base, then each
     * --env in order (a later one of a name wins); a value may be empty or contain '='.
     */
    private void environment(Sandbox.Builder b) {
        if (inheritEnv && clearEnv) {
            throw new ParameterException(spec.commandLine(), "--inherit-env and --clear-env contradict each other: choose one");
        }
        if (inheritEnv) {
            b.inheritEnvironment();
        }
        if (clearEnv) {
            b.emptyEnvironment();
        }
        for (String kv : env) {
            int eq = kv.indexOf('=');
            if (eq == 0) {
                throw new ParameterException(spec.commandLine(), "--env " + kv + ": expected NAME=VALUE or NAME");
            }
            set("--env", kv, eq < 0 ? () -> b.passEnv(kv) : () -> b.env(kv.substring(0, eq), kv.substring(eq + 1)));
        }
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

    /**
     * Ctrl-C, SIGTERM and SIGHUP to isolation while its program runs. The program runs in a
     * session of its own, so they reach only this JVM: the first is passed on as SIGTERM, and
     * {@link #TERMINATION_GRACE} later (or at a second signal) everything in the sandbox is killed.
     * The JVM does not exit on them: the main thread reports how the program ended, in --json and
     * in the exit status alike. Restores the JVM's own handling when closed.
     */
    private static final class SignalRelay implements AutoCloseable {
        private final java.util.Map<sun.misc.Signal, sun.misc.SignalHandler> previous = new java.util.HashMap<>();
        private IsolatedProcess process; // guarded by this
        private String received; // guarded by this: the first signal's name, e.g. SIGINT
        private boolean forwarded; // guarded by this

        SignalRelay() {
            for (String name : new String[] {"INT", "TERM", "HUP"}) {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                try {
                    previous.put(signal, sun.misc.Signal.handle(signal, this::onSignal));
                } catch (IllegalArgumentException e) {
                    // the JVM keeps this one (-Xrs): it then ends the JVM, and the monitor the sandbox
                }
            }
        }

        private synchronized void onSignal(sun.misc.Signal signal) {
            if (received == null) {
                received = "SIG" + signal.getName();
                forward();
            } else if (process != null) {
                process.destroyForcibly();
            }
        }

        synchronized void attach(IsolatedProcess p) {
            process = p;
            forward();
        }

        /** SIGTERM now, SIGKILL after the grace; once, and only when there is both a signal and a program. */
        private void forward() {
            if (received == null || process == null || forwarded) {
                return;
            }
            forwarded = true;
            IsolatedProcess p = process;
            if (!p.isAlive()) {
                return; // ended already: the main thread is writing its report
            }
            p.destroy();
            CompletableFuture.delayedExecutor(TERMINATION_GRACE.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            });
        }

        /** The signal isolation got, if it got one. */
        synchronized Optional<String> received() {
            return Optional.ofNullable(received);
        }

        @Override
        public void close() {
            previous.forEach(sun.misc.Signal::handle);
        }
    }
}
