package dev.isolation.core;

import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
 * @implNote Linux only. Namespaces need kernel support for each type (all mainstream kernels since
 *     4.6 have them); a user namespace is created unprivileged where the host allows it.
 */
public final class Sandbox {
    /** The namespace types a sandbox can have. */
    public enum Namespace {
        PID(LaunchPlan.CLONE_NEWPID),
        MOUNT(LaunchPlan.CLONE_NEWNS),
        UTS(LaunchPlan.CLONE_NEWUTS),
        IPC(LaunchPlan.CLONE_NEWIPC),
        NETWORK(LaunchPlan.CLONE_NEWNET),
        USER(LaunchPlan.CLONE_NEWUSER),
        CGROUP(LaunchPlan.CLONE_NEWCGROUP);

        final long cloneFlag;

        Namespace(long cloneFlag) {
            this.cloneFlag = cloneFlag;
        }
    }

    /** The host id the sandbox's root is mapped to in a user namespace when the JVM runs as root. */
    public static final int DEFAULT_OUTSIDE_ID = 65534;

    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final Pattern HOSTNAME =
            Pattern.compile("(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

    private final Set<Namespace> namespaces;
    private final Optional<String> hostname;
    private final Optional<CgroupLimits> cgroupLimits;
    private final Optional<Path> cgroupParent;
    private final byte[] setupRecords;

    private Sandbox(Builder b) {
        this.namespaces = Set.copyOf(b.namespaces);
        this.hostname = b.hostname;
        this.cgroupLimits = b.cgroup ? Optional.of(b.limits.build()) : Optional.empty();
        this.cgroupParent = b.cgroupParent;
        this.setupRecords = setupRecords();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this policy, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.namespaces.addAll(namespaces);
        b.hostname = hostname;
        cgroupLimits.ifPresent(l -> {
            b.limits = l.toBuilder();
            b.cgroup = true;
        });
        b.cgroupParent = cgroupParent;
        return b;
    }

    public Set<Namespace> namespaces() {
        return namespaces;
    }

    public Optional<String> hostname() {
        return hostname;
    }

    /** The limits of the sandbox's own cgroup; empty if it gets none (no limit was set and no {@link Builder#cgroup()}). */
    public Optional<CgroupLimits> cgroupLimits() {
        return cgroupLimits;
    }

    Optional<Path> cgroupParent() {
        return cgroupParent;
    }

    /**
     * Starts {@code command} in a new sandbox, with the JVM's environment and working directory and
     * all three streams piped, as {@code new ProcessBuilder(command).start()} would.
     *
     * @throws SandboxSetupException naming the system call, errno and path when the sandbox cannot
     *     be set up or the program cannot be executed; nothing is left behind then
     */
    public IsolatedProcess start(String... command) throws SandboxException {
        return start(new ProcessBuilder(command));
    }

    /**
     * Starts the command of {@code pb} in a new sandbox with its environment, working directory
     * (as seen inside the sandbox), redirects and {@code redirectErrorStream}. A command without
     * '/' is searched in the environment's {@code PATH}, inside the sandbox.
     */
    public IsolatedProcess start(ProcessBuilder pb) throws SandboxException {
        List<String> command = List.copyOf(pb.command());
        if (command.isEmpty()) {
            throw new IllegalArgumentException("command must not be empty");
        }
        return Launcher.start(this, setupRecords, execPlan(command, pb.environment(), pb.directory()), pb);
    }

    /** The part of the launch plan that is the same for every run: computed once. */
    private byte[] setupRecords() {
        LaunchPlan plan = new LaunchPlan();
        long flags = 0;
        for (Namespace ns : namespaces) {
            flags |= ns == Namespace.CGROUP ? 0 : ns.cloneFlag;
        }
        plan.cloneFlags(flags);
        if (namespaces.contains(Namespace.USER)) {
            Kernel k = Kernel.get();
            int uid = k.getuid() == 0 ? DEFAULT_OUTSIDE_ID : k.getuid();
            int gid = k.getuid() == 0 ? DEFAULT_OUTSIDE_ID : k.getgid();
            plan.setgroupsDeny().uidMap("0 " + uid + " 1\n").gidMap("0 " + gid + " 1\n").userNamespaceIds(0, 0);
        }
        if (namespaces.contains(Namespace.CGROUP)) {
            plan.cgroupNamespace();
        }
        if (namespaces.contains(Namespace.MOUNT)) {
            plan.makeRootPrivate();
            if (namespaces.contains(Namespace.PID)) {
                plan.mountProc();
            }
        }
        hostname.ifPresent(plan::hostname);
        if (namespaces.contains(Namespace.NETWORK)) {
            plan.loopbackUp();
        }
        if (namespaces.contains(Namespace.PID)) {
            plan.init();
        }
        return plan.records();
    }

    private static byte[] execPlan(List<String> command, Map<String, String> environment, File directory) {
        LaunchPlan plan = new LaunchPlan();
        command.forEach(plan::arg);
        environment.forEach((k, v) -> plan.env(k + "=" + v));
        plan.execFile(command.get(0));
        plan.searchPath(environment.getOrDefault("PATH", DEFAULT_PATH));
        if (directory != null) {
            plan.workingDirectory(directory.getPath());
        }
        return plan.encode();
    }

    /** Builds a {@link Sandbox}. Not thread-safe; setters validate eagerly. */
    public static final class Builder {
        private final EnumSet<Namespace> namespaces = EnumSet.noneOf(Namespace.class);
        private Optional<String> hostname = Optional.empty();
        private CgroupLimits.Builder limits = CgroupLimits.builder();
        private boolean cgroup;
        private Optional<Path> cgroupParent = Optional.empty();

        private Builder() {}

        /** A new PID namespace: the program sees only the sandbox's processes; a tiny init is PID 1. */
        public Builder pidNs() {
            namespaces.add(Namespace.PID);
            return this;
        }

        /** A new mount namespace (made private: mounts never propagate to the host); with {@link #pidNs()}, a fresh /proc. */
        public Builder mountNs() {
            namespaces.add(Namespace.MOUNT);
            return this;
        }

        /** A new UTS namespace: hostname changes stay inside. */
        public Builder utsNs() {
            namespaces.add(Namespace.UTS);
            return this;
        }

        /** A new IPC namespace: the host's System V IPC objects and POSIX message queues are invisible. */
        public Builder ipcNs() {
            namespaces.add(Namespace.IPC);
            return this;
        }

        /** A new network namespace with only a loopback interface, brought up: no way out. */
        public Builder netNs() {
            namespaces.add(Namespace.NETWORK);
            return this;
        }

        /**
         * A new user namespace in which the program is root, mapped to an unprivileged id outside:
         * {@value #DEFAULT_OUTSIDE_ID} when the JVM runs as root, the JVM's own uid and gid otherwise.
         */
        public Builder userNs() {
            namespaces.add(Namespace.USER);
            return this;
        }

        /** A new cgroup namespace, rooted at the sandbox's own cgroup. */
        public Builder cgroupNs() {
            namespaces.add(Namespace.CGROUP);
            return this;
        }

        /** The hostname inside the sandbox; needs {@link #utsNs()}. 1..64 characters of letters, digits, '-' and '.'. */
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
         * Gives every sandbox a cgroup of its own even without limits: for its figures (peak
         * memory, pids, CPU), {@link IsolatedProcess#pause()} and killing everything it started.
         * Setting any limit implies it.
         */
        public Builder cgroup() {
            cgroup = true;
            return this;
        }

        /**
         * Creates the sandboxes' cgroups under this parent cgroup (a path as in /proc/self/cgroup,
         * e.g. {@code /jobs}, existing in every hierarchy) instead of the default: the JVM's own
         * cgroup on v1 and hybrid hosts, a process-free {@code isolation} subtree beside it on v2.
         */
        public Builder cgroupParent(Path parent) {
            cgroupParent = Optional.of(Objects.requireNonNull(parent, "cgroupParent"));
            return cgroup();
        }

        /** Memory limit of the whole sandbox; past it the kernel's OOM killer ends a process. */
        public Builder memoryLimit(ByteSize limit) {
            limits.memoryLimit(limit);
            return cgroup();
        }

        /** Swap allowed beyond {@link #memoryLimit}; default none (a memory limit without it is no limit on a host with swap). */
        public Builder swapLimit(ByteSize swapBeyondMemory) {
            limits.swapLimit(swapBeyondMemory);
            return cgroup();
        }

        /** Relative CPU share, 2..262144 (default 1024); written as cpu.weight on cgroup v2 (512 → 59). */
        public Builder cpuShares(int shares) {
            limits.cpuShares(shares);
            return cgroup();
        }

        /** Relative CPU weight, 1..10000 (v2's own knob; default 100); converted to shares on v1. */
        public Builder cpuWeight(int weight) {
            limits.cpuWeight(weight);
            return cgroup();
        }

        /** At most this many CPUs' worth of time, e.g. 0.5, per 100 ms period. */
        public Builder cpuQuota(double cores) {
            limits.cpuQuota(cores);
            return cgroup();
        }

        /** At most {@code quota} of CPU time in every {@code period}. */
        public Builder cpuQuota(Duration quota, Duration period) {
            limits.cpuQuota(quota, period);
            return cgroup();
        }

        /** The CPUs the sandbox may run on, e.g. {@code "0"} or {@code "0-1,3"}. */
        public Builder cpuset(String cpus) {
            limits.cpusetCpus(cpus);
            return cgroup();
        }

        /** The memory nodes the sandbox may use, e.g. {@code "0"}. */
        public Builder cpusetMems(String mems) {
            limits.cpusetMems(mems);
            return cgroup();
        }

        /** At most this many processes and threads in the sandbox; one more fork fails with EAGAIN. */
        public Builder pidsLimit(long max) {
            limits.pidsLimit(max);
            return cgroup();
        }

        /** Relative block I/O weight, 1..10000 (v2 scale; converted for v1's blkio.weight 10..1000). */
        public Builder ioWeight(int weight) {
            limits.ioWeight(weight);
            return cgroup();
        }

        /** Reads from the block device at {@code device} (e.g. {@code /dev/vda}) limited to this many bytes per second. */
        public Builder ioReadBps(Path device, ByteSize perSecond) {
            int[] d = BlockDevice.numbers(device);
            limits.ioReadBandwidth(d[0], d[1], perSecond);
            return cgroup();
        }

        /** Writes to the block device at {@code device} limited to this many bytes per second. */
        public Builder ioWriteBps(Path device, ByteSize perSecond) {
            int[] d = BlockDevice.numbers(device);
            limits.ioWriteBandwidth(d[0], d[1], perSecond);
            return cgroup();
        }

        /** Read operations per second on the block device at {@code device}. */
        public Builder ioReadIops(Path device, long iops) {
            int[] d = BlockDevice.numbers(device);
            limits.ioReadIops(d[0], d[1], iops);
            return cgroup();
        }

        /** Write operations per second on the block device at {@code device}. */
        public Builder ioWriteIops(Path device, long iops) {
            int[] d = BlockDevice.numbers(device);
            limits.ioWriteIops(d[0], d[1], iops);
            return cgroup();
        }

        /**
         * Allows a device, as v1's devices.allow writes it: {@code "c 1:3 rwm"}. Setting one denies
         * every other device. Cgroup v1 only: on v2 this fails (device control there is an eBPF program).
         */
        public Builder deviceAllow(String rule) {
            limits.deviceAllow(rule);
            return cgroup();
        }

        /**
         * Starts sandboxes even where this host cannot apply some limit; {@link Outcome#limitsNotApplied()}
         * says which. The default fails closed: a limit that cannot be enforced is an error.
         */
        public Builder bestEffortLimits() {
            limits.bestEffort(true);
            return this;
        }

        /**
         * @throws IllegalStateException if the policy contradicts itself (e.g. a hostname without a UTS namespace)
         */
        public Sandbox build() {
            if (hostname.isPresent() && !namespaces.contains(Namespace.UTS)) {
                throw new IllegalStateException("hostname(\"" + hostname.get() + "\") needs utsNs(): without it the host's hostname would change");
            }
            return new Sandbox(this);
        }
    }
}
