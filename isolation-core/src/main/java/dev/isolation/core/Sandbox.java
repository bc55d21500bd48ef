package dev.isolation.core;

import dev.isolation.core.image.OciImage;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;

/**
 * A sandbox policy: which namespaces a program gets and what it may do. Immutable, thread-safe and
 * reusable: every {@link #start} creates a fresh sandbox under this policy.
 *
 * <pre>{@code
 * Sandbox sandbox = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().hostname("box").build();
 * try (IsolatedProcess p = sandbox.start("sh", "-c", "hostname")) {
 *     Outcome o = p.outcome().join();
 * }
 * }</pre>
 *
 * <p><b>Who the program is on the host.</b> When the JVM runs as root, every live sandbox (a started
 * one, a pooled one, or a {@link SandboxSession} as a whole) runs as a uid and gid of its own, leased
 * from {@link Builder#idRange} (by default 65536 ids from 2130706432) so that no other sandbox, in
 * this JVM or another, and no host user has it: per-user kernel counts (RLIMIT_NPROC, inotify
 * instances, ...) are the sandbox's alone, and no host process of another user can read or signal
 * it. The host must not use the range for anything. An ordinary (non-root) JVM cannot give its
 * sandboxes ids of their own (that needs newuidmap): they all run as the JVM's user, and a pid
 * namespace is what keeps them from reaching the JVM, other sandboxes and the user's processes.
 *
 * <p>{@link Builder#build()} refuses a policy whose program could signal, stop or ptrace its
 * monitor or the JVM (it could run as the JVM's uid without {@link Builder#pidNs()}), or write to
 * cgroup files outside its own (it could run as host root, or as an ordinary JVM's user with a
 * delegated cgroup, where it sees the host's cgroup file system), saying why and what to add.
 *
 * @implNote Linux only. Namespaces need kernel support for each type (all mainstream kernels since
 *     4.6 have them); a user namespace is created unprivileged where the host allows it.
 * @since 0.1.0
 */
public final class Sandbox {
    /**
     * The namespace types a sandbox can have.
     *
     * @since 0.1.0
     */
    public enum Namespace {
        /** Its own process ids ({@code CLONE_NEWPID}). */
        PID(LaunchPlan.CLONE_NEWPID),
        /** Its own mounts ({@code CLONE_NEWNS}). */
        MOUNT(LaunchPlan.CLONE_NEWNS),
        /** Its own hostname ({@code CLONE_NEWUTS}). */
        UTS(LaunchPlan.CLONE_NEWUTS),
        /** Its own System V IPC objects and POSIX message queues ({@code CLONE_NEWIPC}). */
        IPC(LaunchPlan.CLONE_NEWIPC),
        /** Its own network stack, only a loopback interface ({@code CLONE_NEWNET}). */
        NETWORK(LaunchPlan.CLONE_NEWNET),
        /**
         * Its own user and group ids and capabilities ({@code CLONE_NEWUSER}); unprivileged where
         * the host allows it.
         */
        USER(LaunchPlan.CLONE_NEWUSER),
        /**
         * Its own view of the cgroup tree, rooted at the sandbox's cgroup ({@code
         * CLONE_NEWCGROUP}, Linux 4.6+).
         */
        CGROUP(LaunchPlan.CLONE_NEWCGROUP);

        final long cloneFlag;

        Namespace(long cloneFlag) {
            this.cloneFlag = cloneFlag;
        }
    }

    /**
     * The first host id of the default {@link Builder#idRange}: 2130706432 (0x7F000000), above
     * systemd's container ranges and below its foreign range (0x7FFE0000) and 2^31.
     */
    public static final long DEFAULT_FIRST_ID = SandboxIds.DEFAULT_FIRST;
    /** The number of ids of the default {@link Builder#idRange}: 65536. */
    public static final int DEFAULT_ID_COUNT = SandboxIds.DEFAULT_COUNT;

    /** The default of {@link Builder#setupTimeout}: system property {@code isolation.setupTimeoutMillis}, else 20 s. */
    private static final Duration DEFAULT_SETUP_TIMEOUT =
            Duration.ofMillis(Math.min(600_000, Math.max(1, Long.getLong("isolation.setupTimeoutMillis", 20_000))));

    /**
     * The {@code PATH} of a sandboxed program unless the policy or the caller sets another, and
     * where a command without '/' is searched when the program's environment has no {@code PATH}.
     */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final Pattern HOSTNAME =
            Pattern.compile("(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

    private final Set<Namespace> namespaces;
    private final Optional<String> hostname;
    private final Optional<CgroupLimits> cgroupLimits;
    private final Optional<Path> cgroupParent;
    private final boolean newRoot;
    private final Optional<Path> rootfs;
    private final Optional<OciImage> image;
    private final Optional<List<String>> entrypoint;
    private final List<FilesystemPlan.Bind> binds;
    private final List<FilesystemPlan.Tmpfs> tmpfs;
    private final Set<String> noexec;
    private final ByteSize tmpSize;
    private final Optional<Ids> runAs;
    /** What the program runs as: {@link #runAs}, else the image's {@code User}. */
    private final Optional<Ids> effectiveRunAs;
    private final Set<String> keptCapabilities;
    private final Map<Rlimit, long[]> rlimits;
    private final SeccompPolicy seccomp;
    private final List<IdRange> uidMap;
    private final List<IdRange> gidMap;
    private final Optional<Duration> cpuTimeLimit;
    private final Optional<Duration> wallTimeLimit;
    private final Duration setupTimeout;
    private final Optional<ByteSize> outputLimit;
    private final Environment environment;
    /** {@link #environment} over the image's {@code Env}. */
    private final Environment effectiveEnvironment;
    private final Optional<Executor> completionExecutor;
    private final SandboxIds.Range idRange;

    /** A uid and gid. */
    record Ids(int uid, int gid) {}

    /** A line of /proc/PID/uid_map or gid_map: {@code count} ids from {@code inside} map to those from {@code outside}. */
    record IdRange(long inside, long outside, long count) {
        @Override
        public String toString() {
            return inside + " " + outside + " " + count + "\n";
        }
    }

    private Sandbox(Builder b, SandboxIds.Range idRange, Optional<Ids> effectiveRunAs) {
        this.namespaces = Set.copyOf(b.namespaces);
        this.hostname = b.hostname;
        this.cgroupLimits = b.cgroup ? Optional.of(b.limits.build()) : Optional.empty();
        this.cgroupParent = b.cgroupParent;
        this.newRoot = b.newRoot;
        this.rootfs = b.rootfs;
        this.image = b.image;
        this.entrypoint = b.entrypoint;
        this.binds = List.copyOf(b.binds);
        this.tmpfs = List.copyOf(b.tmpfs);
        this.noexec = Set.copyOf(b.noexec);
        this.tmpSize = b.tmpSize;
        this.runAs = b.runAs;
        this.effectiveRunAs = effectiveRunAs;
        this.keptCapabilities = Set.copyOf(b.keptCapabilities);
        this.rlimits = Map.copyOf(b.rlimits);
        this.seccomp = b.seccomp;
        this.uidMap = List.copyOf(b.uidMap);
        this.gidMap = List.copyOf(b.gidMap);
        this.cpuTimeLimit = b.cpuTimeLimit;
        this.wallTimeLimit = b.wallTimeLimit;
        this.setupTimeout = b.setupTimeout;
        this.outputLimit = b.outputLimit;
        this.environment = b.environment;
        this.effectiveEnvironment = b.image.map(i -> b.environment.withDefaults(i.env())).orElse(b.environment);
        this.completionExecutor = b.completionExecutor;
        this.idRange = idRange;
    }

    /**
     * A builder with nothing set: no namespace, no limit, the default seccomp policy.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder holding this policy, to derive a variant.
     *
     * @return a new builder with this policy's settings
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.namespaces.addAll(namespaces);
        b.hostname = hostname;
        cgroupLimits.ifPresent(l -> {
            b.limits = l.toBuilder();
            b.cgroup = true;
        });
        b.cgroupParent = cgroupParent;
        b.newRoot = newRoot;
        b.rootfs = rootfs;
        b.image = image;
        b.entrypoint = entrypoint;
        b.binds.addAll(binds);
        b.tmpfs.addAll(tmpfs);
        b.noexec.addAll(noexec);
        b.tmpSize = tmpSize;
        b.runAs = runAs;
        b.keptCapabilities.addAll(keptCapabilities);
        b.rlimits.putAll(rlimits);
        b.seccomp = seccomp;
        b.uidMap.addAll(uidMap);
        b.gidMap.addAll(gidMap);
        b.cpuTimeLimit = cpuTimeLimit;
        b.wallTimeLimit = wallTimeLimit;
        b.setupTimeout = setupTimeout;
        b.outputLimit = outputLimit;
        b.environment = environment;
        b.completionExecutor = completionExecutor;
        b.idRange = Optional.of(idRange);
        return b;
    }

    /**
     * The policy in words, for logs: its namespaces, limits and file system, leaving out what is at
     * its default. E.g. {@code Sandbox{namespaces=[MOUNT, NETWORK, PID], cpuTimeLimit=PT2S,
     * cgroup=CgroupLimits{memory=64 MiB, swap=0 B, bestEffort=false}, seccomp=SeccompPolicy[...]}}.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Sandbox{namespaces=");
        sb.append(namespaces.stream().map(Enum::name).sorted().collect(Collectors.toList()));
        hostname.ifPresent(h -> sb.append(", hostname=").append(h));
        cpuTimeLimit.ifPresent(d -> sb.append(", cpuTimeLimit=").append(d));
        wallTimeLimit.ifPresent(d -> sb.append(", wallTimeLimit=").append(d));
        outputLimit.ifPresent(o -> sb.append(", outputLimit=").append(o));
        if (!setupTimeout.equals(DEFAULT_SETUP_TIMEOUT)) {
            sb.append(", setupTimeout=").append(setupTimeout);
        }
        cgroupLimits.ifPresent(l -> sb.append(", cgroup=").append(l));
        cgroupParent.ifPresent(p -> sb.append(", cgroupParent=").append(p));
        rootfs.ifPresent(r -> sb.append(", rootfs=").append(r));
        if (!newRoot) {
            sb.append(", hostRoot");
        }
        binds.forEach(b -> sb.append(b.writable() ? ", bindWritable " : ", bind ").append(b.host()).append(" -> ").append(b.inside()));
        tmpfs.forEach(t -> sb.append(", tmpfs ").append(t.inside()).append(" (").append(t.size()).append(')'));
        if (!noexec.isEmpty()) {
            sb.append(", noexec=").append(new TreeSet<>(noexec));
        }
        sb.append(", tmpSize=").append(tmpSize);
        runAs.ifPresent(ids -> sb.append(", runAs=").append(ids.uid()).append(':').append(ids.gid()));
        if (!keptCapabilities.isEmpty()) {
            sb.append(", keptCapabilities=").append(new TreeSet<>(keptCapabilities));
        }
        new java.util.TreeMap<>(rlimits).forEach((r, v) -> sb.append(", ").append(r).append('=').append(v[0]).append('/').append(v[1]));
        sb.append(", seccomp=").append(seccomp);
        sb.append(", environment=").append(environment);
        return sb.append('}').toString();
    }

    /** {@return the namespaces each sandbox of this policy gets} */
    public Set<Namespace> namespaces() {
        return namespaces;
    }

    /** {@return the hostname inside, if set} */
    public Optional<String> hostname() {
        return hostname;
    }

    /**
     * The system call filter installed right before exec.
     *
     * @return the policy (by default {@link SeccompPolicy#defaultPolicy()})
     */
    public SeccompPolicy seccomp() {
        return seccomp;
    }

    /**
     * CPU time allowed to all processes of the sandbox together; past it the sandbox is killed (TIME_LIMIT).
     *
     * @return the limit, or empty for none
     */
    public Optional<Duration> cpuTimeLimit() {
        return cpuTimeLimit;
    }

    /**
     * Time allowed from exec to the end; past it the sandbox is killed (WALL_TIME_LIMIT).
     *
     * @return the limit, or empty for none
     */
    public Optional<Duration> wallTimeLimit() {
        return wallTimeLimit;
    }

    /**
     * Time the sandbox's setup may take; past it the start fails and the sandbox is killed.
     *
     * @return the timeout (default 20 s)
     */
    public Duration setupTimeout() {
        return setupTimeout;
    }

    /**
     * Bytes the program may write to each output stream and each file; see {@link Builder#outputLimit}.
     *
     * @return the limit, or empty for none
     */
    public Optional<ByteSize> outputLimit() {
        return outputLimit;
    }

    /**
     * The limits of the sandbox's own cgroup; empty if it gets none (no limit was set and no {@link Builder#cgroup()}).
     *
     * @return the limits, or empty
     */
    public Optional<CgroupLimits> cgroupLimits() {
        return cgroupLimits;
    }

    /**
     * This policy's per-run parts, for a run in a {@link SandboxSession} ({@link
     * SandboxSession#run(RunLimits, ProcessBuilder, byte[])}): its cgroup limits, time and output
     * limits, {@link Builder#runAs}, kept capabilities, seccomp policy, rlimits and environment
     * policy; a variant with {@code runLimits().toBuilder()}.
     *
     * @return the per-run parts
     */
    public RunLimits runLimits() {
        return new RunLimits(cgroupLimits, cpuTimeLimit, wallTimeLimit, outputLimit, runAs, keptCapabilities, rlimits, seccomp,
                environment);
    }

    Optional<Path> cgroupParent() {
        return cgroupParent;
    }

    /** Where outcomes complete; empty for the library's pool. */
    Optional<Executor> completionExecutor() {
        return completionExecutor;
    }

    /**
     * Starts {@code command} in a new sandbox, with the JVM's working directory and all three
     * streams piped, as {@code new ProcessBuilder(command).start()} would, and the policy's
     * environment only (see {@link #environmentFor}): nothing of the JVM's environment but
     * {@code LANG}, {@code LC_ALL} and {@code TERM}, unless the policy says otherwise.
     *
     * @param command the program and its arguments; a name without '/' is searched in the
     *     sandbox's {@code PATH}
     * @return the running program
     * @throws SandboxSetupException naming the system call, errno and path when the sandbox cannot
     *     be set up or the program cannot be executed; nothing is left behind then
     */
    public IsolatedProcess start(String... command) throws SandboxException {
        return start(new ProcessBuilder(command));
    }

    /**
     * Starts the command of {@code pb} in a new sandbox with its working directory (as seen inside
     * the sandbox), redirects and {@code redirectErrorStream}, and the environment {@link
     * #environmentFor(ProcessBuilder)} describes: the policy's, with the variables the caller set or
     * changed in {@code pb.environment()}, not those it merely inherited from the JVM. A command
     * without '/' is searched in that environment's {@code PATH}, inside the sandbox.
     *
     * @param pb the command, working directory, environment and redirects
     * @return the running program
     * @throws SandboxException if the sandbox cannot be set up (a {@link SandboxSetupException}
     *     names the failed call)
     */
    public IsolatedProcess start(ProcessBuilder pb) throws SandboxException {
        return start(pb, false);
    }

    /**
     * Runs {@code command} to the end and returns its outcome, the judge's way: standard output and
     * error captured, no standard input, the policy's environment only. Never throws for the
     * program's sake: a sandbox that cannot be set up is {@code SETUP_FAILED}.
     *
     * <p>Capture memory is bounded. Each stream keeps at most {@link Builder#outputLimit}, else 64
     * MiB; all captures in progress in this JVM together hold at most a quarter of the maximum heap,
     * and no more than 256 MiB (system property {@code isolation.captureMemory}, e.g. {@code 1G}, to
     * choose). Past either bound the sandbox is killed: {@code OUTPUT_LIMIT}, with a {@link
     * Outcome#message()} naming the bound. Bytes are allocated as they come.
     *
     * <p>Interrupting the calling thread (e.g. {@code Future.cancel(true)}) kills the sandbox, waits
     * until it is gone (milliseconds) and returns {@code INTERRUPTED}, with the thread's interrupt
     * status set.
     *
     * @param command the program and its arguments
     * @return how it ended, with its output
     */
    public Outcome run(String... command) {
        return run(new ProcessBuilder(command), new byte[0]);
    }

    /**
     * Runs {@code pb}'s command to the end with {@code stdin} as its standard input (unless {@code
     * pb} redirects input from a file) and standard output and error captured (unless {@code pb}
     * redirects them to files). Blocks the calling thread until the sandbox is gone; see {@link
     * #run(String...)} for the capture bounds and interruption.
     *
     * @param pb the command, working directory, environment and redirects
     * @param stdin the program's standard input
     * @return how it ended, with its output
     */
    public Outcome run(ProcessBuilder pb, byte[] stdin) {
        return runToEnd(pb, stdin, this::start);
    }

    /** Starts a program, with its piped stdout and stderr captured by the monitor thread or not. */
    interface Starter {
        IsolatedProcess start(ProcessBuilder pb, boolean capture) throws SandboxException;
    }

    IsolatedProcess start(ProcessBuilder pb, boolean capture) throws SandboxException {
        try {
            return Launcher.start(LaunchRequest.fresh(this, execPlan(pb), pb, capture));
        } catch (SandboxSetupException e) {
            throw HostDiagnostics.explainStart(e, this, pb.command(), environmentFor(pb));
        }
    }

    /** Whether the program gets a root file system of its own (minimalRoot, rootfs, bind, tmpfs). */
    boolean hasOwnRoot() {
        return newRoot;
    }

    /** Whether the policy mounts binds or tmpfs of its own in its root. */
    boolean hasOwnMounts() {
        return !binds.isEmpty() || !tmpfs.isEmpty();
    }

    /** The {@link Builder#rootfs} directory, resolved, if the policy has one. */
    Optional<Path> rootfsDirectory() {
        return rootfs;
    }

    /**
     * The exec plan of {@code pb} in a sandbox of this policy: with a root of its own, it starts in
     * {@code /} (an image's {@code WorkingDir}); on an image, its command follows the image's
     * {@code Entrypoint} and an empty command is the image's {@code Cmd}.
     */
    byte[] execPlan(ProcessBuilder pb) {
        List<String> command = image.isPresent() ? imageCommand(pb.command()) : pb.command();
        if (command.isEmpty()) {
            throw new IllegalArgumentException("command must not be empty");
        }
        File directory = pb.directory() == null && newRoot ? new File(image.flatMap(OciImage::workingDir).orElse("/")) : pb.directory();
        return execPlan(command, environmentFor(pb), directory);
    }

    /** Docker's rule: the entrypoint, then the command given or else the image's {@code Cmd} (none if the entrypoint was replaced). */
    private List<String> imageCommand(List<String> given) {
        List<String> out = new ArrayList<>(entrypoint.orElse(image.get().entrypoint()));
        out.addAll(!given.isEmpty() ? given : entrypoint.isPresent() ? List.of() : image.get().cmd());
        if (out.isEmpty()) {
            throw new IllegalArgumentException("command must not be empty: image " + image.get().reference() + " has no Entrypoint or Cmd");
        }
        return out;
    }

    /**
     * The environment a program started from {@code pb} by {@link #start(ProcessBuilder)} or {@link
     * #run(ProcessBuilder, byte[])} gets, sorted by name. By default:
     * <ul>
     *   <li>{@code PATH} = {@value #DEFAULT_PATH};
     *   <li>{@code HOME} = {@code /tmp} when the sandbox has a root of its own ({@link
     *       Builder#minimalRoot()}, {@link Builder#rootfs}), where {@code /tmp} is its private
     *       tmpfs; else {@code /}, which exists everywhere and is no place to leave files;
     *       {@value SandboxSession#WORK_DIR} in a {@link SandboxSession} (not what this method gives);
     *   <li>{@code LANG}, {@code LC_ALL} and {@code TERM} with the JVM's values, where the JVM has them;
     * </ul>
     * then the variables the policy passes ({@link Builder#passEnv}) or sets ({@link Builder#env});
     * then what the caller did to {@code pb.environment()}, which starts as a copy of the JVM's:
     * a variable whose value the caller set or changed is set, a variable of the JVM the caller
     * removed has the JVM's value withheld (removing {@code PATH} or {@code HOME} leaves the
     * sandbox's own; set another value instead), and a variable still holding the JVM's value is
     * not passed: it was inherited, or cannot be told from inherited. {@link
     * Builder#inheritEnvironment()} starts from the JVM's whole environment instead, as {@code
     * ProcessBuilder} does; {@link Builder#emptyEnvironment()} from nothing.
     *
     * @param pb the builder whose command would be started
     * @return the environment, a new unmodifiable map
     */
    public Map<String, String> environmentFor(ProcessBuilder pb) {
        return environmentFor(pb, newRoot ? "/tmp" : "/"); // with a root of its own, /tmp is the sandbox's private tmpfs
    }

    Map<String, String> environmentFor(ProcessBuilder pb, String home) {
        return effectiveEnvironment.resolve(pb.environment(), System.getenv(), DEFAULT_PATH, home);
    }

    /** The judge's way to run: stdin from bytes, stdout and stderr captured, the outcome returned. */
    static Outcome runToEnd(ProcessBuilder pb, byte[] stdin, Starter starter) {
        ProcessBuilder.Redirect in = pb.redirectInput().type() == ProcessBuilder.Redirect.Type.READ
                ? pb.redirectInput() : ProcessBuilder.Redirect.PIPE;
        ProcessBuilder captured = new ProcessBuilder(pb.command()).directory(pb.directory()).redirectInput(in)
                .redirectOutput(fileOr(pb.redirectOutput())).redirectError(fileOr(pb.redirectError()))
                .redirectErrorStream(pb.redirectErrorStream());
        captured.environment().clear();
        captured.environment().putAll(pb.environment());
        try (IsolatedProcess p = starter.start(captured, true)) {
            if (in.type() == ProcessBuilder.Redirect.Type.PIPE) {
                p.feed(stdin);
            }
            return p.awaitOwned();
        } catch (SandboxException e) {
            return new Outcome(e);
        } catch (java.io.IOException e) {
            return new Outcome(new SandboxException(e.getMessage(), e));
        }
    }

    private static ProcessBuilder.Redirect fileOr(ProcessBuilder.Redirect r) {
        return r.file() != null ? r : ProcessBuilder.Redirect.PIPE;
    }

    /**
     * Leases the host uid and gid of one sandbox of this policy from its {@link Builder#idRange},
     * if it needs them: a root JVM's program without {@code runAs} (or a persistent sandbox's
     * runs: their default), or the namespace's root without {@code uidMap}/{@code gidMap}. The
     * lease must reach the sandbox's monitor ({@link SandboxIds.Lease#handedOver}) or be closed.
     *
     * @throws SandboxException if every id of the range is in use
     */
    Optional<SandboxIds.Lease> leaseIds(boolean session) throws SandboxException {
        boolean root = Kernel.get().getuid() == 0;
        boolean needed = root && (namespaces.contains(Namespace.USER) ? uidMap.isEmpty() || gidMap.isEmpty()
                : effectiveRunAs.isEmpty() || session);
        return needed ? Optional.of(SandboxIds.lease(idRange)) : Optional.empty();
    }

    /**
     * The setup plan of a fresh sandbox of this policy with the ids it leased ({@link #leaseIds})
     * and its cgroup's {@code placement}; see {@link PlanCompiler}. Built for each sandbox, as bind
     * sources are checked when it is created.
     *
     * @throws dev.isolation.core.internal.linux.NativeCallException naming a missing bind source
     */
    LaunchPlan setupPlan(Optional<SandboxIds.Lease> lease, PlanCompiler.Placement placement) throws UnsupportedHostException {
        OptionalInt leased = lease.map(l -> OptionalInt.of(l.id())).orElse(OptionalInt.empty());
        // a fresh sandbox's storage is its one program's
        return PlanCompiler.freshWithProgram(this, PlanCompiler.HostFacts.of(this, leased), placement, outputLimit);
    }

    // what PlanCompiler reads of the policy
    boolean newRoot() {
        return newRoot;
    }

    Optional<Path> rootfs() {
        return rootfs;
    }

    List<FilesystemPlan.Bind> binds() {
        return binds;
    }

    List<FilesystemPlan.Tmpfs> tmpfsMounts() {
        return tmpfs;
    }

    Set<String> noexec() {
        return noexec;
    }

    ByteSize tmpSize() {
        return tmpSize;
    }

    /** Who the program runs as when told: {@link Builder#runAs}, else the image's {@code User}. */
    Optional<Ids> runAs() {
        return effectiveRunAs;
    }

    Optional<OciImage> image() {
        return image;
    }

    Set<String> keptCapabilities() {
        return keptCapabilities;
    }

    Map<Rlimit, long[]> rlimits() {
        return rlimits;
    }

    List<IdRange> uidMap() {
        return uidMap;
    }

    List<IdRange> gidMap() {
        return gidMap;
    }

    long cloneFlags() {
        long flags = 0;
        for (Namespace ns : namespaces) {
            flags |= ns == Namespace.CGROUP ? 0 : ns.cloneFlag;
        }
        return flags;
    }

    /**
     * Opens a persistent sandbox: namespaces and mounts are set up once, with a writable work
     * directory at {@code /box} (a tmpfs of {@code options.workSize()}; a {@link Builder#bindWritable}
     * there replaces it), and programs run in it one after another, or side by side, each with its
     * own limits, cgroup and outcome, and, unless {@code options} asks for a persistent work
     * directory, with empty {@code /box}, {@code /tmp}, {@code /dev/shm} and {@link Builder#tmpfs}
     * mounts of its own. The session's files and memory are charged to a cgroup of the session's
     * own, limited by {@code options.memoryLimit()}, by default this policy's {@link
     * Builder#memoryLimit}. Closing the session kills everything in it and removes it. See {@link
     * SandboxSession}.
     *
     * @param options the session's work directory, memory limit and copy limit
     * @return the open session, which the caller must close
     * @throws IllegalStateException without {@link Builder#pidNs()} and {@link Builder#mountNs()}
     * @throws UnsupportedHostException if the session needs a cgroup (a memory limit, or a policy
     *     with cgroup limits) and the host cannot make one
     */
    public SandboxSession open(SandboxSession.Options options) throws SandboxException {
        Objects.requireNonNull(options, "options");
        if (!namespaces.contains(Namespace.PID) || !namespaces.contains(Namespace.MOUNT)) {
            throw new IllegalStateException("a persistent sandbox needs pidNs() and mountNs()");
        }
        Builder b = toBuilder();
        if (!workDirIsBound()) {
            b.tmpfs(SandboxSession.WORK_DIR, options.workSize());
        }
        // the time limits are each run's, never the session's: its PID 1 lives until close()
        b.wallTimeLimit = Optional.empty();
        b.cpuTimeLimit = Optional.empty();
        return SandboxSession.open(this, b.build(), options);
    }

    /**
     * {@link #open(SandboxSession.Options)} with a work directory of {@code workSize} (at least 4 KiB) and the default options.
     *
     * @param workSize the size of {@code /box}
     * @return the open session, which the caller must close
     * @throws SandboxException if the sandbox cannot be set up
     */
    public SandboxSession open(ByteSize workSize) throws SandboxException {
        return open(SandboxSession.Options.builder().workSize(workSize).build());
    }

    /**
     * {@link #open(SandboxSession.Options)} with the default options: a 256 MiB work directory, fresh for each run.
     *
     * @return the open session, which the caller must close
     * @throws SandboxException if the sandbox cannot be set up
     */
    public SandboxSession open() throws SandboxException {
        return open(SandboxSession.Options.builder().build());
    }

    /**
     * A pool of {@code size} sandboxes of this policy, set up now and reused run after run: see
     * {@link SandboxPool}. Default options otherwise (60 s idle timeout, a 256 MB work directory).
     *
     * @param size how many sandboxes the pool holds (1 to 1024)
     * @return the pool, its sandboxes set up
     * @throws SandboxException if a sandbox cannot be set up
     * @throws IllegalStateException as {@link #pool(SandboxPool.Options)}
     */
    public SandboxPool pool(int size) throws SandboxException {
        return pool(SandboxPool.Options.builder().size(size).build());
    }

    /**
     * A pool of sandboxes of this policy, set up now and reused run after run; see {@link SandboxPool}
     * for what each run gets fresh. Close it.
     *
     * @param options the pool's size, idle timeout and work directory size
     * @return the pool, its sandboxes set up
     * @throws IllegalStateException without {@link Builder#pidNs()}, {@link Builder#mountNs()} and a
     *     root of its own ({@link Builder#minimalRoot()}, {@link Builder#rootfs}, an image), or with a
     *     {@link Builder#bindWritable} or a bind of a file (a pooled sandbox's binds are made once:
     *     a writable one would carry files from run to run, a file's would keep showing the file
     *     it was when bound)
     * @throws SandboxException if a sandbox cannot be set up
     */
    public SandboxPool pool(SandboxPool.Options options) throws SandboxException {
        Objects.requireNonNull(options, "options");
        if (!namespaces.contains(Namespace.PID) || !namespaces.contains(Namespace.MOUNT) || !newRoot) {
            throw new IllegalStateException("a pooled sandbox needs pidNs(), mountNs() and a root of its own (minimalRoot(), rootfs, image)");
        }
        for (FilesystemPlan.Bind bind : binds) {
            if (bind.writable()) {
                throw new IllegalStateException("a pool refuses bindWritable(" + bind.host() + ", " + bind.inside()
                        + "): its files would outlive the run into the next; copy them in per run instead");
            }
            if (!java.nio.file.Files.isDirectory(bind.host(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalStateException("a pool refuses bind(" + bind.host() + ", " + bind.inside()
                        + ") of a file: bound once, it would keep showing the file as it was then; bind its directory");
            }
        }
        Builder b = toBuilder();
        b.tmpfs(SandboxSession.WORK_DIR, options.workSize());
        // the time limits are each run's: the pooled sandbox's init lives until it expires
        b.wallTimeLimit = Optional.empty();
        b.cpuTimeLimit = Optional.empty();
        return SandboxPool.open(this, b.build(), options);
    }

    /** Whether a {@link Builder#bindWritable} (or {@link Builder#bind}) is mounted at {@code /box}. */
    boolean workDirIsBound() {
        return binds.stream().anyMatch(bind -> bind.inside().equals(SandboxSession.WORK_DIR));
    }

    /** The mounts of one run in this persistent sandbox (its layout); see {@link FilesystemPlan#appendRunMounts}. */
    void appendRunMounts(LaunchPlan plan, boolean persistentWorkDir, boolean resetWorkDir) {
        if (newRoot) {
            FilesystemPlan.appendRunMounts(plan, binds, tmpfs, noexec, tmpSize, SandboxSession.WORK_DIR, persistentWorkDir,
                    resetWorkDir);
        }
    }

    static byte[] execPlan(List<String> command, Map<String, String> environment, File directory) {
        return PlanCompiler.exec(command, environment, directory);
    }

    /**
     * Builds a {@link Sandbox}. Not thread-safe. Setters validate eagerly: a value out of its
     * documented range throws {@link IllegalArgumentException} naming the parameter and the range.
     *
     * @since 0.1.0
     */
    public static final class Builder {
        private static final Duration MAX_TIME_LIMIT = Duration.ofDays(24);
        private static final int MAX_ID_MAP_LINES = 340;

        private final EnumSet<Namespace> namespaces = EnumSet.noneOf(Namespace.class);
        private Optional<String> hostname = Optional.empty();
        private CgroupLimits.Builder limits = CgroupLimits.builder();
        private boolean cgroup;
        private Optional<Path> cgroupParent = Optional.empty();
        private boolean newRoot;
        private Optional<Path> rootfs = Optional.empty();
        private Optional<OciImage> image = Optional.empty();
        private Optional<List<String>> entrypoint = Optional.empty();
        private final List<FilesystemPlan.Bind> binds = new ArrayList<>();
        private final List<FilesystemPlan.Tmpfs> tmpfs = new ArrayList<>();
        private final Set<String> noexec = new HashSet<>();
        private ByteSize tmpSize = ByteSize.mb(64);
        private Optional<Ids> runAs = Optional.empty();
        private final Set<String> keptCapabilities = new TreeSet<>();
        private final Map<Rlimit, long[]> rlimits = new EnumMap<>(Rlimit.class);
        private SeccompPolicy seccomp = SeccompPolicy.defaultPolicy();
        private final List<IdRange> uidMap = new ArrayList<>();
        private final List<IdRange> gidMap = new ArrayList<>();
        private Optional<Duration> cpuTimeLimit = Optional.empty();
        private Optional<Duration> wallTimeLimit = Optional.empty();
        private Duration setupTimeout = DEFAULT_SETUP_TIMEOUT;
        private Optional<ByteSize> outputLimit = Optional.empty();
        private Environment environment = Environment.DEFAULT;
        private Optional<Executor> completionExecutor = Optional.empty();
        private Optional<SandboxIds.Range> idRange = Optional.empty();

        private Builder() {}

        /**
         * A new PID namespace: the program sees only the sandbox's processes; a tiny init is PID 1.
         *
         * @return this builder
         */
        public Builder pidNs() {
            namespaces.add(Namespace.PID);
            return this;
        }

        /**
         * A new mount namespace (made private: mounts never propagate to the host); with {@link #pidNs()}, a fresh /proc.
         *
         * @return this builder
         */
        public Builder mountNs() {
            namespaces.add(Namespace.MOUNT);
            return this;
        }

        /**
         * A new UTS namespace: hostname changes stay inside.
         *
         * @return this builder
         */
        public Builder utsNs() {
            namespaces.add(Namespace.UTS);
            return this;
        }

        /**
         * A new IPC namespace: the host's System V IPC objects and POSIX message queues are invisible.
         *
         * @return this builder
         */
        public Builder ipcNs() {
            namespaces.add(Namespace.IPC);
            return this;
        }

        /**
         * A new network namespace with only a loopback interface, brought up: no way out.
         *
         * @return this builder
         */
        public Builder netNs() {
            namespaces.add(Namespace.NETWORK);
            return this;
        }

        /**
         * A new user namespace in which the program is root, mapped to an unprivileged id outside:
         * the sandbox's own id of {@link #idRange} when the JVM runs as root, the JVM's own uid and
         * gid otherwise. Cgroup limits apply as without it, on v1, v2 and hybrid hosts: the sandbox's
         * first process, born in the namespace, is no longer allowed to join the host's cgroups
         * itself, so its monitor (outside) places it there before it takes its first step.
         *
         * @return this builder
         */
        public Builder userNs() {
            namespaces.add(Namespace.USER);
            return this;
        }

        /**
         * A new cgroup namespace, rooted at the sandbox's own cgroup.
         *
         * @return this builder
         */
        public Builder cgroupNs() {
            namespaces.add(Namespace.CGROUP);
            return this;
        }

        /**
         * The hostname inside the sandbox; needs {@link #utsNs()}. 1..64 characters of letters, digits, '-' and '.'.
         *
         * @param name the hostname
         * @return this builder
         * @throws IllegalArgumentException if it is not a valid hostname
         */
        public Builder hostname(String name) {
            Objects.requireNonNull(name, "hostname");
            if (!HOSTNAME.matcher(name).matches()) {
                throw new IllegalArgumentException("invalid hostname \"" + name
                        + "\": 1..64 characters, letters, digits and '-', in labels separated by '.'");
            }
            hostname = Optional.of(name);
            return this;
        }

        /**
         * A root file system of its own instead of the host's (needs {@link #mountNs()}): read-only
         * binds of the host's {@code /usr}, {@code /bin}, {@code /sbin}, {@code /lib*} and the few
         * {@code /etc} files programs need (ld.so.cache, nsswitch.conf, localtime, alternatives, the
         * JDK's configuration), stub {@code /etc/passwd} and {@code /etc/group}, a minimal {@code /dev},
         * a fresh {@code /proc} (with {@link #pidNs()}) and a {@code /tmp} tmpfs. Nothing else of the
         * host ({@code /root}, {@code /home}, {@code /etc/shadow}, {@code /var}, {@code /sys}) is there.
         * Entered with pivot_root; the host's root is detached. Implied by {@link #bind}, {@link #tmpfs}.
         *
         * @return this builder
         */
        public Builder minimalRoot() {
            newRoot = true;
            return this;
        }

        /**
         * Use a prepared directory tree (e.g. an extracted image) as the read-only root: its
         * top-level directories and files are bound read-only onto a root tmpfs of the sandbox's
         * own, its top-level symlinks copied, and its own {@code /dev}, {@code /proc} and
         * {@code /tmp} replaced by the sandbox's. Nothing is ever created or changed inside
         * {@code dir}; a bind target missing below one of its directories is an error.
         *
         * <p>{@code dir} is resolved now (symlinks followed once); a sandbox started later refuses
         * it if a symlink appeared on that path since.
         *
         * @param dir the directory with the root file system
         * @return this builder
         */
        public Builder rootfs(Path dir) {
            Objects.requireNonNull(dir, "rootfs");
            Path real = FilesystemPlan.source(dir, "rootfs");
            if (!Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalArgumentException("rootfs: \"" + dir + "\" is not a directory");
            }
            rootfs = Optional.of(real);
            return minimalRoot();
        }

        /**
         * Runs on {@code image} (needs {@link #mountNs()}): its layers, bottom first, are the
         * read-only lower stack of an overlayfs root whose writes land in a tmpfs of the sandbox's
         * own ({@link #tmpSize} big, like {@code /tmp}), gone with it; the image's files never
         * change. A minimal {@code /dev}, a fresh {@code /proc} (with {@link #pidNs()}), {@code /tmp},
         * binds and tmpfs mounts are mounted on it as on a {@link #rootfs}, their mount points made
         * in the writable layer.
         *
         * <p>The image's config gives the defaults: {@code Env} under the policy's {@link #env}
         * variables and the caller's, {@code WorkingDir} unless the {@code ProcessBuilder} has a
         * directory, {@code User} unless {@link #runAs} (a name is looked up in the image's {@code
         * /etc/passwd} and {@code /etc/group}; user 0 means the library's default identity: the
         * namespace's root with {@link #userNs()}, the sandbox's leased uid for a root JVM without
         * it), {@code Entrypoint} before the command unless {@link #entrypoint}, and {@code Cmd} when
         * the command is empty.
         *
         * @param image the image, from {@link OciImage#open}
         * @return this builder
         * @implNote Needs overlayfs and the new mount API (Linux 5.2+). With {@link #userNs()} (an
         *     ordinary JVM) overlayfs must be mountable in a user namespace, Linux 5.11+ (mounted
         *     with {@code userxattr}); on older kernels starting the sandbox fails with {@link
         *     UnsupportedHostException}. An image's root and its upper layer share the tmpfs size.
         */
        public Builder image(OciImage image) {
            Objects.requireNonNull(image, "image");
            if (image.layerDirectories().size() > 64) {
                throw new IllegalArgumentException("image " + image.reference() + ": " + image.layerDirectories().size()
                        + " layers; at most 64 are supported");
            }
            for (Path layer : image.layerDirectories()) {
                if (layer.toString().contains(":") || layer.toString().contains(",")) {
                    throw new IllegalArgumentException("image " + image.reference() + ": the layer directory \"" + layer
                            + "\" contains ':' or ',', which overlayfs cannot take: choose another image cache");
                }
            }
            this.image = Optional.of(image);
            return minimalRoot();
        }

        /**
         * Replaces the image's {@code Entrypoint} ({@link #image}); empty for none. The image's {@code Cmd} then no longer applies.
         *
         * @param command the entrypoint's program and arguments, or an empty list
         * @return this builder
         */
        public Builder entrypoint(List<String> command) {
            List<String> copy = List.copyOf(Objects.requireNonNull(command, "entrypoint"));
            copy.forEach(a -> {
                if (a.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("entrypoint: NUL character in \"" + a.replace('\0', '?') + "\"");
                }
            });
            entrypoint = Optional.of(copy);
            return this;
        }

        /**
         * Makes the host path {@code host} visible read-only (recursively, with the mounts below
         * it) at {@code inside}. Implies {@link #minimalRoot()} unless {@link #rootfs}. {@code host}
         * is resolved now (symlinks followed once, it must exist); a sandbox started later refuses
         * it, naming it, if a symlink appeared on that path since: a writable bind of one sandbox
         * cannot redirect another's source. A symlink in {@code inside} is resolved inside the
         * sandbox's root, never out of it.
         *
         * @param host the host path
         * @param inside the absolute path inside the sandbox
         * @return this builder
         */
        public Builder bind(Path host, String inside) {
            binds.add(new FilesystemPlan.Bind(FilesystemPlan.source(Objects.requireNonNull(host, "host"), "bind"),
                    FilesystemPlan.insidePath(inside, "bind"), false));
            return minimalRoot();
        }

        /**
         * Like {@link #bind} but writable.
         *
         * @param host the host path
         * @param inside the absolute path inside the sandbox
         * @return this builder
         */
        public Builder bindWritable(Path host, String inside) {
            binds.add(new FilesystemPlan.Bind(FilesystemPlan.source(Objects.requireNonNull(host, "host"), "bindWritable"),
                    FilesystemPlan.insidePath(inside, "bindWritable"), true));
            return minimalRoot();
        }

        /**
         * A fresh tmpfs of at most {@code size} (at least 4 KiB, one page) at {@code inside},
         * writable by everyone (mode 1777); at most {@link #outputLimit} if that is smaller, except
         * in a {@link SandboxSession}.
         *
         * @param inside the absolute path of the mount point
         * @param size the tmpfs's size
         * @return this builder
         * @throws IllegalArgumentException if {@code size} is below 4 KiB
         */
        public Builder tmpfs(String inside, ByteSize size) {
            tmpfs.add(new FilesystemPlan.Tmpfs(FilesystemPlan.insidePath(inside, "tmpfs"), tmpfsSize(size, "tmpfs size")));
            return minimalRoot();
        }

        /**
         * Size of the {@code /tmp} tmpfs of a {@link #minimalRoot()}, at least 4 KiB (one page);
         * default 64 MiB. {@link #outputLimit} caps it (and the 64 MiB {@code /dev/shm}) if smaller,
         * except in a {@link SandboxSession}.
         *
         * @param size the size
         * @return this builder
         * @throws IllegalArgumentException if below 4 KiB
         */
        public Builder tmpSize(ByteSize size) {
            tmpSize = tmpfsSize(size, "tmpSize");
            return this;
        }

        /** A tmpfs of size 0 would have no limit at all: Linux reads {@code size=0} as unlimited. */
        static ByteSize tmpfsSize(ByteSize size, String what) {
            Objects.requireNonNull(size, what);
            if (size.bytes() < 4096) {
                throw new IllegalArgumentException(what + " must be at least 4 KiB (one page; a tmpfs of size 0 would be"
                        + " unlimited), was " + size);
            }
            return size;
        }

        /**
         * No program may be executed from the mount at {@code inside} (a bind, a tmpfs, or {@code /tmp}).
         *
         * @param inside the mount's absolute path inside the sandbox
         * @return this builder
         */
        public Builder noexec(String inside) {
            noexec.add(FilesystemPlan.insidePath(inside, "noexec"));
            return this;
        }

        /**
         * The uid and gid the program runs as (ids of the sandbox's user namespace when it has one).
         * Default: when the JVM is root and there is no user namespace, an id of {@link #idRange}
         * that no other live sandbox has (supplementary groups cleared); root of the user namespace
         * with {@link #userNs()}; else the JVM's own. Running as the JVM's own uid (or as root)
         * needs {@link #pidNs()}, and as root also {@link #mountNs()}: {@link #build()} says why.
         *
         * @param uid the user id inside the sandbox, 0 or more
         * @param gid the group id inside the sandbox, 0 or more
         * @return this builder
         * @throws IllegalArgumentException if {@code uid} or {@code gid} is negative
         */
        public Builder runAs(int uid, int gid) {
            if (uid < 0 || gid < 0) {
                throw new IllegalArgumentException("runAs: uid and gid must be >= 0, were " + uid + ", " + gid);
            }
            runAs = Optional.of(new Ids(uid, gid));
            return this;
        }

        /**
         * Maps {@code count} uids of the user namespace from {@code inside} to host uids from
         * {@code outside} (a line of uid_map; up to 340 lines). Implies {@link #userNs()}. Default:
         * the namespace's root to the sandbox's own id of {@link #idRange} (root JVM) or to the
         * JVM's own uid. Mapping host ids other than its own needs a root JVM. The namespace's root
         * (0) must be mapped.
         *
         * @param inside the first uid inside the namespace
         * @param outside the first host uid
         * @param count the number of uids, at least 1
         * @return this builder
         */
        public Builder uidMap(long inside, long outside, long count) {
            uidMap.add(idRange("uidMap", uidMap, inside, outside, count));
            return userNs();
        }

        /**
         * Like {@link #uidMap} for group ids.
         *
         * @param inside the first gid inside the namespace
         * @param outside the first host gid
         * @param count the number of gids, at least 1
         * @return this builder
         */
        public Builder gidMap(long inside, long outside, long count) {
            gidMap.add(idRange("gidMap", gidMap, inside, outside, count));
            return userNs();
        }

        private static IdRange idRange(String what, List<IdRange> lines, long inside, long outside, long count) {
            if (lines.size() >= MAX_ID_MAP_LINES) {
                throw new IllegalArgumentException(what + ": at most " + MAX_ID_MAP_LINES + " lines (the kernel's limit)");
            }
            if (inside < 0 || outside < 0 || count < 1 || inside + count > 1L << 32 || outside + count > 1L << 32) {
                throw new IllegalArgumentException(what + "(" + inside + ", " + outside + ", " + count
                        + "): ids are 0..4294967295 and count >= 1");
            }
            return new IdRange(inside, outside, count);
        }

        /**
         * Keeps one capability (e.g. {@code CAP_NET_BIND_SERVICE}); every other one is dropped. A
         * capability kept without {@link #userNs()} is one of the host's: {@link #build()} refuses
         * those that would let the program reach the JVM or leave its cgroup where nothing else
         * stops it ({@code CAP_KILL}, {@code CAP_SYS_PTRACE}, {@code CAP_SETUID}, {@code
         * CAP_DAC_OVERRIDE}, {@code CAP_FOWNER}, {@code CAP_CHOWN}, {@code CAP_SYS_ADMIN}).
         *
         * @param name the capability's name, with or without {@code CAP_}, e.g. {@code
         *     CAP_NET_BIND_SERVICE}
         * @return this builder
         */
        public Builder keepCapability(String name) {
            Objects.requireNonNull(name, "keepCapability");
            try {
                keptCapabilities.add(Capabilities.name(Capabilities.number(name)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("keepCapability: " + e.getMessage(), e);
            }
            return this;
        }

        /**
         * The system calls the program may make: {@link SeccompPolicy#defaultPolicy()} unless set
         * (blocks what a sandboxed program never needs), {@link SeccompPolicy#strict()} for judges,
         * {@link SeccompPolicy#none()} for no filter. Installed as the last step before exec.
         *
         * @param policy the policy, e.g. {@link SeccompPolicy#strict()}
         * @return this builder
         */
        public Builder seccomp(SeccompPolicy policy) {
            seccomp = Objects.requireNonNull(policy, "seccomp");
            return this;
        }

        /**
         * setrlimit before exec; {@link Rlimit#UNLIMITED} for no limit. {@code CORE} is 0 unless set.
         *
         * @param resource the resource
         * @param soft the soft limit, in the resource's unit (see {@link Rlimit})
         * @param hard the hard limit, at least {@code soft}
         * @return this builder
         */
        public Builder rlimit(Rlimit resource, long soft, long hard) {
            Objects.requireNonNull(resource, "resource");
            if ((soft < 0 && soft != Rlimit.UNLIMITED) || (hard < 0 && hard != Rlimit.UNLIMITED)
                    || (hard != Rlimit.UNLIMITED && (soft == Rlimit.UNLIMITED || soft > hard))) {
                throw new IllegalArgumentException("rlimit " + resource + ": soft " + soft + " must be <= hard " + hard
                        + " (both >= 0 or UNLIMITED)");
            }
            rlimits.put(resource, new long[] {soft, hard});
            return this;
        }

        /**
         * The same soft and hard limit.
         *
         * @param resource the resource
         * @param value the soft and hard limit, in the resource's unit (see {@link Rlimit})
         * @return this builder
         */
        public Builder rlimit(Rlimit resource, long value) {
            return rlimit(resource, value, value);
        }

        /**
         * CPU time allowed to all processes of the sandbox together, more than 0 and at most 24
         * days, measured from its cgroup by the monitor every 10 ms: past it everything is killed
         * and the verdict is TIME_LIMIT. Implies {@link #cgroup()}; RLIMIT_CPU is set as a
         * per-process backstop.
         *
         * @param limit the CPU time
         * @return this builder
         * @throws IllegalArgumentException if not more than 0 or above 24 days
         */
        public Builder cpuTimeLimit(Duration limit) {
            cpuTimeLimit = Optional.of(timeLimit(limit, "cpuTimeLimit"));
            return cgroup();
        }

        /**
         * Time allowed from exec to the end, more than 0 and at most 24 days, enforced by the native
         * monitor: past it, WALL_TIME_LIMIT.
         *
         * @param limit the wall-clock time
         * @return this builder
         * @throws IllegalArgumentException if not more than 0 or above 24 days
         */
        public Builder wallTimeLimit(Duration limit) {
            wallTimeLimit = Optional.of(timeLimit(limit, "wallTimeLimit"));
            return this;
        }

        /**
         * Time the helper's setup steps (namespaces joined, mounts, hostname, loopback) may take,
         * from the sandbox's first process to the point where it waits for the program: past it the
         * start fails with a {@link SandboxSetupException} and everything is killed, so nothing in
         * setup can hang a start for ever. 1 ms to 10 min; default 20 s (system property
         * {@code isolation.setupTimeoutMillis}).
         *
         * @param timeout the timeout
         * @return this builder
         * @throws IllegalArgumentException if outside 1 ms to 10 min
         */
        public Builder setupTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "setupTimeout");
            if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("setupTimeout must be 1 ms to 10 min, was " + timeout);
            }
            setupTimeout = timeout;
            return this;
        }

        /**
         * Bytes the program may write, 0 or more: to its standard output, and to its standard
         * error, each, whatever they are connected to; and to each file. Past it: OUTPUT_LIMIT.
         * <ul>
         *   <li>A stream the JVM reads ({@link ProcessBuilder.Redirect#PIPE}, what {@link Sandbox#run}
         *       captures) ends at the limit, and the sandbox is killed.
         *   <li>Any other stream that is not a regular file (the JVM's own inherited stdout, a pipe,
         *       a FIFO, a socket, a terminal, {@code /dev/null}) is a pipe the sandbox's monitor
         *       relays, counting: it delivers exactly the limit, and the byte after it kills the
         *       sandbox. The program sees a pipe there, not a
         *       terminal ({@code isatty} is false). A reader that does not read blocks the program,
         *       not the monitor: {@link #wallTimeLimit} still applies, and the run ends once its
         *       last relayed byte is delivered. When the destination is closed (its reader exited),
         *       the program's next write fails with EPIPE (SIGPIPE), as it would without the relay.
         *   <li>The standard output an {@link Interaction} connects to the other program is not
         *       counted: that program reads it (a relay would make every exchange several times
         *       slower), and a flood blocks once it stops reading.
         *   <li>A regular file, redirected or written by the program, cannot grow past the limit
         *       (RLIMIT_FSIZE, unless {@link #rlimit} sets FSIZE): the write that would fails with
         *       SIGXFSZ. This is per file, also in a {@link #bindWritable} host directory: the program
         *       may write many files; what a host directory holds in total is the host's to limit
         *       (a quota, a file system of its own size).
         *   <li>The writable tmpfs mounts of a sandbox's own root ({@code /tmp}, {@code /dev/shm},
         *       each {@link #tmpfs}) hold at most the limit each, whatever their size: a write past
         *       it fails with ENOSPC. Not those of a {@link SandboxSession} ({@code /box}, its
         *       {@code /tmp}), which serve all its runs: they have the sizes {@link Sandbox#open(ByteSize)}
         *       and {@link #tmpSize} give them, and a run's limit caps each file it writes there.
         * </ul>
         *
         * @param limit the bytes per stream, per file and per tmpfs
         * @return this builder
         */
        public Builder outputLimit(ByteSize limit) {
            outputLimit = Optional.of(Objects.requireNonNull(limit, "outputLimit"));
            return this;
        }

        /**
         * Programs get the JVM's whole environment, as {@code ProcessBuilder} would give it, instead
         * of the fixed one of {@link Sandbox#environmentFor}: every secret of the JVM's environment
         * (tokens, cloud credentials) is then the program's too. Replaces {@link #emptyEnvironment()}.
         *
         * @return this builder
         */
        public Builder inheritEnvironment() {
            environment = environment.withBase(Environment.Base.INHERIT);
            return this;
        }

        /**
         * Programs get no variable but those of {@link #env}, {@link #passEnv} and the caller's
         * {@code ProcessBuilder}: not even {@code PATH} and {@code HOME} (a command without '/' is
         * still searched in {@value Sandbox#DEFAULT_PATH}). Replaces {@link #inheritEnvironment()}.
         *
         * @return this builder
         */
        public Builder emptyEnvironment() {
            environment = environment.withBase(Environment.Base.EMPTY);
            return this;
        }

        /**
         * Sets {@code name} to {@code value} for every program of this policy, over the fixed or
         * inherited variables (a {@code ProcessBuilder} that changes it wins). Replaces an earlier
         * {@code env} or {@link #passEnv} of the same name.
         *
         * @param name the variable's name
         * @param value its value
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty or contains '=' or NUL, or {@code value} a NUL
         */
        public Builder env(String name, String value) {
            environment = environment.withVariable(name, value);
            return this;
        }

        /**
         * Passes the JVM's value of {@code name} to every program of this policy, as isolate's
         * {@code -E NAME} does; nothing if the JVM has no such variable. Replaces an earlier
         * {@link #env} of the same name.
         *
         * @param name the variable's name
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty or contains '=' or NUL
         */
        public Builder passEnv(String name) {
            environment = environment.withPassed(name);
            return this;
        }

        /** The native monitor sleeps in poll(2), whose timeout is an int of milliseconds: 24.8 days. */
        private static Duration timeLimit(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero() || d.compareTo(MAX_TIME_LIMIT) > 0) {
                throw new IllegalArgumentException(what + " must be more than 0 and at most 24 days (" + MAX_TIME_LIMIT
                        + "), was " + d);
            }
            return d;
        }

        /**
         * The executor that completes {@link IsolatedProcess#outcome()} and {@link
         * IsolatedProcess#onExit()} of this policy's programs, and so runs their dependent actions
         * that are not {@code *Async}. Default: the library's pool of daemon threads named {@code
         * isolation-completion-N}, one for each completion in flight, so that an action that blocks
         * delays no other sandbox; an executor of your own gives up that guarantee as far as it
         * queues. A task it rejects runs on the library's pool. Never the thread that watches the
         * sandboxes.
         *
         * @param executor the executor
         * @return this builder
         */
        public Builder completionExecutor(Executor executor) {
            completionExecutor = Optional.of(Objects.requireNonNull(executor, "completionExecutor"));
            return this;
        }

        /**
         * Gives every sandbox a cgroup of its own even without limits: for its figures (peak
         * memory, pids, CPU), {@link IsolatedProcess#pause()} and killing everything it started.
         * Setting any limit implies it.
         *
         * @return this builder
         */
        public Builder cgroup() {
            cgroup = true;
            return this;
        }

        /**
         * Creates the sandboxes' cgroups under this parent cgroup (a path as in /proc/self/cgroup,
         * e.g. {@code /jobs}, existing in every hierarchy) instead of the default: the JVM's own
         * cgroup on v1 and hybrid hosts, a process-free {@code isolation} subtree beside it on v2.
         *
         * @param parent the parent cgroup, relative to each hierarchy's root
         * @return this builder
         */
        public Builder cgroupParent(Path parent) {
            Objects.requireNonNull(parent, "cgroupParent");
            if (!parent.isAbsolute() || !parent.normalize().equals(parent)) {
                throw new IllegalArgumentException("cgroupParent: \"" + parent + "\" must be an absolute path without . or ..");
            }
            cgroupParent = Optional.of(parent);
            return cgroup();
        }

        /**
         * Memory limit of the whole sandbox; past it the kernel's OOM killer ends a process.
         *
         * @param limit the limit, at least 1 MiB
         * @return this builder
         * @throws IllegalArgumentException if below 1 MiB
         */
        public Builder memoryLimit(ByteSize limit) {
            limits.memoryLimit(limit);
            return cgroup();
        }

        /**
         * Swap allowed beyond {@link #memoryLimit}; default none (a memory limit without it is no limit on a host with swap).
         *
         * @param swapBeyondMemory the swap on top of the memory limit
         * @return this builder
         */
        public Builder swapLimit(ByteSize swapBeyondMemory) {
            limits.swapLimit(swapBeyondMemory);
            return cgroup();
        }

        /**
         * Relative CPU share, 2..262144 (default 1024); written as cpu.weight on cgroup v2 (512 → 59).
         *
         * @param shares the shares, 2..262144
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuShares(int shares) {
            limits.cpuShares(shares);
            return cgroup();
        }

        /**
         * Relative CPU weight, 1..10000 (v2's own knob; default 100); converted to shares on v1.
         *
         * @param weight the weight, 1..10000
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuWeight(int weight) {
            limits.cpuWeight(weight);
            return cgroup();
        }

        /**
         * At most this many CPUs' worth of time, e.g. 0.5, per 100 ms period.
         *
         * @param cores the number of CPUs' worth of time, above 0
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuQuota(double cores) {
            limits.cpuQuota(cores);
            return cgroup();
        }

        /**
         * At most {@code quota} of CPU time in every {@code period}.
         *
         * @param quota the CPU time per period
         * @param period the CFS period, 1 ms..1 s
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuQuota(Duration quota, Duration period) {
            limits.cpuQuota(quota, period);
            return cgroup();
        }

        /**
         * The CPUs the sandbox may run on, e.g. {@code "0"} or {@code "0-1,3"}.
         *
         * @param cpus the CPU list, within the JVM's cgroup's
         * @return this builder
         * @throws IllegalArgumentException if not a CPU list
         */
        public Builder cpuset(String cpus) {
            limits.cpusetCpus(cpus);
            return cgroup();
        }

        /**
         * The memory nodes the sandbox may use, e.g. {@code "0"}.
         *
         * @param mems the node list
         * @return this builder
         * @throws IllegalArgumentException if not a node list
         */
        public Builder cpusetMems(String mems) {
            limits.cpusetMems(mems);
            return cgroup();
        }

        /**
         * At most this many processes and threads in the sandbox; one more fork fails with EAGAIN.
         *
         * @param max the maximum, 1..4194304
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder pidsLimit(long max) {
            limits.pidsLimit(max);
            return cgroup();
        }

        /**
         * Relative block I/O weight, 1..10000 (v2 scale; converted for v1's blkio.weight 10..1000).
         *
         * @param weight the weight, 1..10000
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder ioWeight(int weight) {
            limits.ioWeight(weight);
            return cgroup();
        }

        /**
         * Reads from the block device at {@code device} (e.g. {@code /dev/vda}) limited to this many bytes per second.
         *
         * @param device the block device's path on the host
         * @param perSecond the bytes per second, at least 1
         * @return this builder
         */
        public Builder ioReadBps(Path device, ByteSize perSecond) {
            int[] d = BlockDevice.numbers(device, "ioReadBps");
            limits.ioReadBandwidth(d[0], d[1], perSecond);
            return cgroup();
        }

        /**
         * Writes to the block device at {@code device} limited to this many bytes per second.
         *
         * @param device the block device's path on the host
         * @param perSecond the bytes per second, at least 1
         * @return this builder
         */
        public Builder ioWriteBps(Path device, ByteSize perSecond) {
            int[] d = BlockDevice.numbers(device, "ioWriteBps");
            limits.ioWriteBandwidth(d[0], d[1], perSecond);
            return cgroup();
        }

        /**
         * Read operations per second on the block device at {@code device}.
         *
         * @param device the block device's path on the host
         * @param iops the operations per second, 1..4294967295
         * @return this builder
         */
        public Builder ioReadIops(Path device, long iops) {
            int[] d = BlockDevice.numbers(device, "ioReadIops");
            limits.ioReadIops(d[0], d[1], iops);
            return cgroup();
        }

        /**
         * Write operations per second on the block device at {@code device}.
         *
         * @param device the block device's path on the host
         * @param iops the operations per second, 1..4294967295
         * @return this builder
         */
        public Builder ioWriteIops(Path device, long iops) {
            int[] d = BlockDevice.numbers(device, "ioWriteIops");
            limits.ioWriteIops(d[0], d[1], iops);
            return cgroup();
        }

        /**
         * Allows a device, as v1's devices.allow writes it: {@code "c 1:3 rwm"}. Setting one denies
         * every other device. Cgroup v1 only: on v2 this fails (device control there is an eBPF program).
         *
         * @param rule the rule, {@code type major:minor access}
         * @return this builder
         */
        public Builder deviceAllow(String rule) {
            limits.deviceAllow(rule);
            return cgroup();
        }

        /**
         * Starts sandboxes even where this host cannot apply some limit; {@link Outcome#limitsNotApplied()}
         * says which. The default fails closed: a limit that cannot be enforced is an error.
         *
         * @return this builder
         */
        public Builder bestEffortLimits() {
            limits.bestEffort(true);
            return this;
        }

        /**
         * The host ids a root JVM gives its sandboxes: each live sandbox (a started or pooled
         * one, or a {@link SandboxSession} as a whole) runs as a uid and gid (the same number) of
         * these that no other live sandbox on this host has, whichever JVM started it. Default:
         * {@value Sandbox#DEFAULT_ID_COUNT} ids from {@value Sandbox#DEFAULT_FIRST_ID}, or {@code
         * -Disolation.idRange=FIRST:COUNT}. The host must not use these ids for any user, group or
         * file: a sandbox's monitor kills every process of its id before the sandbox starts.
         * Ids are 1..2147483647 and the range may not contain 65534 or 65535. Unused by an
         * ordinary (non-root) JVM, whose sandboxes run as the JVM's own user.
         *
         * @param first the first host id, 1 or more
         * @param count the number of ids
         * @return this builder
         * @throws IllegalArgumentException if the range is outside those bounds
         */
        public Builder idRange(long first, int count) {
            idRange = Optional.of(new SandboxIds.Range(first, count));
            return this;
        }

        /** The namespaces of a persistent sandbox, for the policy of a run in it. */
        Builder namespacesOf(Sandbox session) {
            namespaces.clear();
            namespaces.addAll(session.namespaces);
            newRoot = session.newRoot;
            return this;
        }

        /** Replaces every per-run part (see {@link Sandbox#runLimits()}) with those of {@code r}, unset ones by their defaults. */
        Builder runLimits(RunLimits r) {
            cgroup = r.cgroupLimits().isPresent();
            limits = r.cgroupLimits().map(CgroupLimits::toBuilder).orElseGet(CgroupLimits::builder);
            cpuTimeLimit = r.cpuTimeLimit();
            wallTimeLimit = r.wallTimeLimit();
            outputLimit = r.outputLimit();
            runAs = r.runAs();
            keptCapabilities.clear();
            keptCapabilities.addAll(r.keptCapabilities());
            rlimits.clear();
            rlimits.putAll(r.rlimits());
            seccomp = r.seccomp();
            environment = r.environment();
            return this;
        }

        /** The per-run parts set on this builder ({@link RunLimits.Builder} sets them through one). */
        RunLimits buildRunLimits() {
            return new RunLimits(cgroup ? Optional.of(limits.build()) : Optional.empty(), cpuTimeLimit, wallTimeLimit, outputLimit, runAs,
                    keptCapabilities, rlimits, seccomp, environment);
        }

        /**
         * Builds the policy, checking that its parts agree and that its program cannot reach its
         * monitor, the JVM or cgroup files outside its own.
         *
         * @return the policy
         * @throws IllegalStateException if the policy contradicts itself (e.g. a hostname without a
         *     UTS namespace), or would let the program signal, stop or ptrace its monitor or the JVM
         *     (it could run as the JVM's uid, or keeps {@code CAP_KILL}/{@code CAP_SYS_PTRACE}/{@code
         *     CAP_SETUID}, without {@link #pidNs()}), or write to cgroup files outside its own (it
         *     could run as host root, as the JVM's own user with a delegated cgroup, or keeps a
         *     capability that overrides file permissions, and sees the host's cgroup file system:
         *     without {@link #mountNs()}, with a {@link #bind} or {@link #rootfs} of it, or with
         *     {@code CAP_SYS_ADMIN} to mount it again); the message names the reason and the fix
         * @throws IllegalArgumentException if {@code -Disolation.idRange} is malformed
         */
        public Sandbox build() {
            return build(Kernel.get().getuid());
        }

        /** {@link #build()} for a JVM running as {@code jvmUid}. */
        Sandbox build(int jvmUid) {
            if (newRoot && !namespaces.contains(Namespace.MOUNT)) {
                throw new IllegalStateException("a root file system of its own (minimalRoot, rootfs, bind, tmpfs) needs mountNs()");
            }
            if (hostname.isPresent() && !namespaces.contains(Namespace.UTS)) {
                throw new IllegalStateException("hostname(\"" + hostname.get() + "\") needs utsNs(): without it the host's hostname would change");
            }
            if (image.isPresent() && rootfs.isPresent()) {
                throw new IllegalStateException("image(" + image.get().reference() + ") and rootfs(" + rootfs.get() + "): choose one root");
            }
            if (entrypoint.isPresent() && image.isEmpty()) {
                throw new IllegalStateException("entrypoint(" + entrypoint.get() + ") needs image(...)");
            }
            if (image.isPresent() && jvmUid == 0 && namespaces.contains(Namespace.USER)) {
                throw new IllegalStateException("image(" + image.get().reference() + ") with userNs() in a JVM running as root: the"
                        + " layers unpacked by root belong to host ids that the sandbox's user namespace does not map, so overlayfs"
                        + " could not copy them up; drop userNs() (the program still runs as the sandbox's own unprivileged uid)");
            }
            SandboxIds.Range range = idRange.orElseGet(SandboxIds::defaultRange);
            Optional<Ids> given = runAs;
            Optional<Ids> effective = runAs.isPresent() ? runAs : image.flatMap(i -> ImageUser.resolve(i)).map(u -> new Ids(u[0], u[1]));
            if (given.isEmpty() && effective.isPresent() && namespaces.contains(Namespace.USER)
                    && uidMap.stream().noneMatch(r -> effective.get().uid() >= r.inside() && effective.get().uid() < r.inside() + r.count())) {
                throw new IllegalStateException("image " + image.get().reference() + " runs as User \"" + image.get().user().orElse("")
                        + "\" (uid " + effective.get().uid() + "), which this sandbox's user namespace does not map: add uidMap and"
                        + " gidMap ranges covering it, or runAs(0, 0)");
            }
            runAs = effective; // the checks judge the identity the program will have
            try {
                checkIdsOutsideRange(range);
                checkConfinement(jvmUid);
                return new Sandbox(this, range, effective);
            } finally {
                runAs = given;
            }
        }

        /** An explicit id inside the sandboxes' range would share a live sandbox's id, and be killed by its monitor. */
        private void checkIdsOutsideRange(SandboxIds.Range range) {
            runAs.filter(i -> !namespaces.contains(Namespace.USER) && (range.contains(i.uid()) || range.contains(i.gid())))
                    .ifPresent(i -> {
                        throw new IllegalStateException("runAs(" + i.uid() + ", " + i.gid() + ") is inside idRange " + range
                                + ", the ids leased to sandboxes: choose ids outside it, or another idRange");
                    });
            for (List<IdRange> map : List.of(uidMap, gidMap)) {
                for (IdRange r : map) {
                    if (r.outside() <= range.first() + range.count() - 1 && range.first() <= r.outside() + r.count() - 1) {
                        throw new IllegalStateException((map == uidMap ? "uidMap" : "gidMap") + "(" + r.inside() + ", " + r.outside()
                                + ", " + r.count() + ") maps host ids inside idRange " + range
                                + ", the ids leased to sandboxes: map ids outside it, or choose another idRange");
                    }
                }
            }
        }

        /**
         * Refuses what would let the program reach its monitor or the JVM (signal, stop, ptrace),
         * or write to cgroup files outside its own subtree (and so leave its limits).
         */
        private void checkConfinement(int jvmUid) {
            boolean root = jvmUid == 0;
            boolean userNs = namespaces.contains(Namespace.USER);
            // capabilities kept in the host's user namespace; in a user namespace of its own, a
            // capability reaches only what that namespace owns
            Set<String> hostCaps = root && !userNs ? keptCapabilities : Set.of();
            exposedCgroupMount().ifPresent(e -> {
                throw new IllegalStateException(e + ": a program able to write there could leave its cgroup; bind something else");
            });

            Optional<String> reachesJvm = mayRunAsHostUid(jvmUid, jvmUid)
                    ? Optional.of(root ? "may run as the JVM's uid 0"
                            : "runs as the JVM's own uid " + jvmUid + " (an ordinary JVM's sandboxes all do)")
                    : hostCaps.stream().filter(c -> c.equals("CAP_KILL") || c.equals("CAP_SYS_PTRACE")).findFirst().map(c -> "keeps " + c);
            if (reachesJvm.isPresent() && !namespaces.contains(Namespace.PID)) {
                throw new IllegalStateException("the program " + reachesJvm.get() + " and, without a pid namespace, could signal,"
                        + " stop or ptrace its monitor and the JVM: add pidNs()" + (root || userNs ? "" : " and userNs()"));
            }
            if (hostCaps.contains("CAP_SYS_PTRACE") && !namespaces.contains(Namespace.MOUNT)) {
                throw new IllegalStateException("the program keeps CAP_SYS_PTRACE and, without a mount namespace, sees the host's"
                        + " /proc (its monitor's /proc/PID/mem): add mountNs()");
            }

            Optional<String> writesCgroups = mayRunAsHostUid(0, jvmUid) ? Optional.of("may run as host root (uid 0)")
                    : hostCaps.stream().filter(c -> Set.of("CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN").contains(c)).findFirst()
                            .map(c -> "keeps " + c)
                            .or(() -> !root && cgroup ? Optional.of("runs as the JVM's own uid " + jvmUid
                                    + ", which owns the delegated cgroup subtree the sandbox's cgroup is in") : Optional.empty());
            if (writesCgroups.isEmpty()) {
                return;
            }
            if (!namespaces.contains(Namespace.MOUNT)) {
                throw new IllegalStateException("the program " + writesCgroups.get() + " and, without a mount namespace, sees the"
                        + " host's cgroup file system: it could move itself to another cgroup and leave its limits: add mountNs()");
            }
            if (keptCapabilities.contains("CAP_SYS_ADMIN")) {
                throw new IllegalStateException("the program " + writesCgroups.get() + " and keeps CAP_SYS_ADMIN: it could mount the"
                        + " cgroup file system again and leave its limits: drop CAP_SYS_ADMIN, or let it run as another uid");
            }
        }

        /** Whether the program could take host uid {@code uid}: by its own ids, or by a kept CAP_SETUID. */
        private boolean mayRunAsHostUid(long uid, int jvmUid) {
            boolean setuid = keptCapabilities.contains("CAP_SETUID");
            if (!namespaces.contains(Namespace.USER)) {
                if (jvmUid != 0) {
                    return uid == jvmUid; // an ordinary JVM cannot change its programs' uid
                }
                return setuid || runAs.map(i -> i.uid() == uid).orElse(false); // the default, a leased id, is neither 0 nor the JVM's
            }
            if (uidMap.isEmpty()) { // the namespace's root maps to the leased id (never 0), or to the JVM's own uid
                return jvmUid != 0 && uid == jvmUid;
            }
            long inside = runAs.map(Ids::uid).orElse(0);
            return uidMap.stream().anyMatch(r -> setuid ? uid >= r.outside() && uid < r.outside() + r.count()
                    : inside >= r.inside() && inside < r.inside() + r.count() && r.outside() + inside - r.inside() == uid);
        }

        /** A bind source or the rootfs that is, lies under, or contains a cgroup mount of the host. */
        private Optional<String> exposedCgroupMount() {
            if (binds.isEmpty() && rootfs.isEmpty()) {
                return Optional.empty();
            }
            List<Path> mounts = CgroupMounts.mountPoints();
            List<Map.Entry<String, Path>> sources = new ArrayList<>();
            rootfs.ifPresent(r -> sources.add(Map.entry("rootfs(" + r + ")", r)));
            binds.forEach(b -> sources.add(Map.entry((b.writable() ? "bindWritable(" : "bind(") + b.host() + ", " + b.inside() + ")", b.host())));
            for (Map.Entry<String, Path> src : sources) {
                Path real;
                try {
                    real = src.getValue().toAbsolutePath().toRealPath();
                } catch (java.io.IOException e) {
                    real = src.getValue().toAbsolutePath().normalize(); // a missing source fails when the sandbox is made
                }
                Optional<Path> m = CgroupMounts.exposedBy(real, mounts);
                if (m.isPresent()) {
                    return Optional.of(src.getKey() + " would show the host's cgroup file system at " + m.get());
                }
            }
            return Optional.empty();
        }
    }
}
