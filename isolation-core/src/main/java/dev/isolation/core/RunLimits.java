package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.cgroups.CgroupLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The limits of one run in a {@link SandboxSession}: its cgroup limits, CPU and wall time, output
 * limit, identity, capabilities, seccomp policy, rlimits and environment policy. Nothing else: the
 * run's namespaces and file system are the session's, which no value of this type can change.
 * Immutable, thread-safe and reusable; built by {@link #builder()}, whose setters are {@link
 * Sandbox.Builder}'s of the same names, validated the same way, or taken from a policy by {@link
 * Sandbox#runLimits()}.
 *
 * <pre>{@code
 * RunLimits compiler = RunLimits.builder().memoryLimit(ByteSize.mb(512)).pidsLimit(64)
 *         .cpuTimeLimit(Duration.ofSeconds(10)).wallTimeLimit(Duration.ofSeconds(30)).build();
 * Outcome compiled = session.run(compiler, new ProcessBuilder("gcc", "-o", "sol", "sol.c"), new byte[0]);
 * }</pre>
 *
 * <p>What a value leaves unset has its default, as in a {@link Sandbox} on the session's root,
 * never the session policy's own setting: no {@code runAs} is the sandbox's default identity (an
 * image's {@code User} on an image), no {@code seccomp} is {@link SeccompPolicy#defaultPolicy()},
 * the environment starts from the fixed variables (with {@code HOME} = {@value
 * SandboxSession#WORK_DIR}, under an image's {@code Env}).
 *
 * @since 0.1.0
 */
public final class RunLimits {
    private static final RunLimits NONE = builder().build();

    private final Optional<CgroupLimits> cgroupLimits;
    private final Optional<Duration> cpuTimeLimit;
    private final Optional<Duration> wallTimeLimit;
    private final Optional<ByteSize> outputLimit;
    private final Optional<Sandbox.Ids> runAs;
    private final Set<String> keptCapabilities;
    private final Map<Rlimit, long[]> rlimits;
    private final SeccompPolicy seccomp;
    private final Environment environment;

    RunLimits(Optional<CgroupLimits> cgroupLimits, Optional<Duration> cpuTimeLimit, Optional<Duration> wallTimeLimit,
            Optional<ByteSize> outputLimit, Optional<Sandbox.Ids> runAs, Set<String> keptCapabilities, Map<Rlimit, long[]> rlimits,
            SeccompPolicy seccomp, Environment environment) {
        this.cgroupLimits = cgroupLimits;
        this.cpuTimeLimit = cpuTimeLimit;
        this.wallTimeLimit = wallTimeLimit;
        this.outputLimit = outputLimit;
        this.runAs = runAs;
        this.keptCapabilities = Set.copyOf(keptCapabilities);
        this.rlimits = Map.copyOf(rlimits);
        this.seccomp = seccomp;
        this.environment = environment;
    }

    /**
     * A builder with nothing set: no limit, the default identity, seccomp policy and environment.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(Sandbox.builder());
    }

    /**
     * No limit, the default identity, seccomp policy and environment: what {@code builder().build()} gives.
     *
     * @return the limits
     */
    public static RunLimits none() {
        return NONE;
    }

    /**
     * A builder holding these limits, to derive a variant.
     *
     * @return a new builder with these settings
     */
    public Builder toBuilder() {
        return new Builder(Sandbox.builder().runLimits(this));
    }

    /**
     * The limits of the run's own cgroup; empty if it sets none (and no {@link Builder#cgroup()}).
     *
     * @return the limits, or empty
     */
    public Optional<CgroupLimits> cgroupLimits() {
        return cgroupLimits;
    }

    /**
     * CPU time allowed to all processes of the run together; see {@link Builder#cpuTimeLimit}.
     *
     * @return the limit, or empty for none
     */
    public Optional<Duration> cpuTimeLimit() {
        return cpuTimeLimit;
    }

    /**
     * Time allowed from exec to the end; see {@link Builder#wallTimeLimit}.
     *
     * @return the limit, or empty for none
     */
    public Optional<Duration> wallTimeLimit() {
        return wallTimeLimit;
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
     * The system call filter installed right before exec.
     *
     * @return the policy (by default {@link SeccompPolicy#defaultPolicy()})
     */
    public SeccompPolicy seccomp() {
        return seccomp;
    }

    /**
     * The environment a program started from {@code pb} in a {@link SandboxSession} with these
     * limits gets, sorted by name: as {@link Sandbox#environmentFor} describes, from these limits'
     * environment policy, with {@code HOME} = {@value SandboxSession#WORK_DIR}. On a session whose
     * root is an image, the image's {@code Env} lies under the variables these limits set.
     *
     * @param pb the builder whose command would be started
     * @return the environment, a new unmodifiable map
     */
    public Map<String, String> environmentFor(ProcessBuilder pb) {
        return environment.resolve(pb.environment(), System.getenv(), Sandbox.DEFAULT_PATH, SandboxSession.WORK_DIR);
    }

    Optional<Sandbox.Ids> runAs() {
        return runAs;
    }

    Set<String> keptCapabilities() {
        return keptCapabilities;
    }

    Map<Rlimit, long[]> rlimits() {
        return rlimits;
    }

    Environment environment() {
        return environment;
    }

    /** Equal when every part is: the same limits, identity, capabilities, rlimits, seccomp policy and environment policy. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RunLimits r && cgroupLimits.equals(r.cgroupLimits) && cpuTimeLimit.equals(r.cpuTimeLimit)
                && wallTimeLimit.equals(r.wallTimeLimit) && outputLimit.equals(r.outputLimit) && runAs.equals(r.runAs)
                && keptCapabilities.equals(r.keptCapabilities) && rlimitsEqual(rlimits, r.rlimits) && seccomp.equals(r.seccomp)
                && environment.equals(r.environment);
    }

    private static boolean rlimitsEqual(Map<Rlimit, long[]> a, Map<Rlimit, long[]> b) {
        return a.keySet().equals(b.keySet()) && a.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), b.get(e.getKey())));
    }

    @Override
    public int hashCode() {
        int h = Objects.hash(cgroupLimits, cpuTimeLimit, wallTimeLimit, outputLimit, runAs, keptCapabilities, seccomp, environment);
        for (Map.Entry<Rlimit, long[]> e : rlimits.entrySet()) {
            h += e.getKey().hashCode() ^ Arrays.hashCode(e.getValue());
        }
        return h;
    }

    /**
     * The limits in words, for logs, leaving out what is at its default but the seccomp and
     * environment policies, e.g. {@code RunLimits{cpuTimeLimit=PT1S, cgroup=CgroupLimits{memory=64
     * MiB, swap=0 B, pids=16, bestEffort=false}, seccomp=SeccompPolicy[...], environment=...}}.
     * Names the variables the environment policy sets, never their values.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("RunLimits{");
        cpuTimeLimit.ifPresent(d -> sb.append("cpuTimeLimit=").append(d).append(", "));
        wallTimeLimit.ifPresent(d -> sb.append("wallTimeLimit=").append(d).append(", "));
        outputLimit.ifPresent(o -> sb.append("outputLimit=").append(o).append(", "));
        cgroupLimits.ifPresent(l -> sb.append("cgroup=").append(l).append(", "));
        runAs.ifPresent(ids -> sb.append("runAs=").append(ids.uid()).append(':').append(ids.gid()).append(", "));
        if (!keptCapabilities.isEmpty()) {
            sb.append("keptCapabilities=").append(new TreeSet<>(keptCapabilities)).append(", ");
        }
        new TreeMap<>(rlimits).forEach((r, v) -> sb.append(r).append('=').append(v[0]).append('/').append(v[1]).append(", "));
        sb.append("seccomp=").append(seccomp);
        sb.append(", environment=").append(environment);
        return sb.append('}').toString();
    }

    /**
     * Builds {@link RunLimits}. Not thread-safe. Each setter is {@link Sandbox.Builder}'s of the same
     * name, with its ranges and its messages: a value out of its documented range throws {@link
     * IllegalArgumentException} naming the setter and the range; {@link #build()} throws {@link
     * IllegalStateException} on contradictions (both CPU shares and weight, a swap limit without a
     * memory limit).
     *
     * @since 0.1.0
     */
    public static final class Builder {
        /** Holds and validates the values: the per-run setters of a policy, nothing else of it read. */
        private final Sandbox.Builder b;

        private Builder(Sandbox.Builder b) {
            this.b = b;
        }

        /**
         * CPU time of all the run's processes together, more than 0 and at most 24 days; past it
         * the run is killed (TIME_LIMIT). See {@link Sandbox.Builder#cpuTimeLimit}. Implies {@link #cgroup()}.
         *
         * @param limit the CPU time
         * @return this builder
         * @throws IllegalArgumentException if not more than 0 or above 24 days
         */
        public Builder cpuTimeLimit(Duration limit) {
            b.cpuTimeLimit(limit);
            return this;
        }

        /**
         * Time from exec to the end, more than 0 and at most 24 days; past it, WALL_TIME_LIMIT.
         *
         * @param limit the wall-clock time
         * @return this builder
         * @throws IllegalArgumentException if not more than 0 or above 24 days
         */
        public Builder wallTimeLimit(Duration limit) {
            b.wallTimeLimit(limit);
            return this;
        }

        /**
         * Bytes the program may write, 0 or more, to each output stream and each file; see {@link
         * Sandbox.Builder#outputLimit}. The session's tmpfs mounts keep their own sizes.
         *
         * @param limit the bytes per stream and per file
         * @return this builder
         */
        public Builder outputLimit(ByteSize limit) {
            b.outputLimit(limit);
            return this;
        }

        /**
         * Memory limit of the whole run, at least 1 MiB, at most the session's; past it the
         * kernel's OOM killer ends a process (MEMORY_LIMIT).
         *
         * @param limit the limit
         * @return this builder
         * @throws IllegalArgumentException if below 1 MiB
         */
        public Builder memoryLimit(ByteSize limit) {
            b.memoryLimit(limit);
            return this;
        }

        /**
         * Swap allowed beyond {@link #memoryLimit}; default none.
         *
         * @param swapBeyondMemory the swap on top of the memory limit
         * @return this builder
         */
        public Builder swapLimit(ByteSize swapBeyondMemory) {
            b.swapLimit(swapBeyondMemory);
            return this;
        }

        /**
         * Relative CPU share, 2..262144 (default 1024); written as cpu.weight on cgroup v2.
         *
         * @param shares the shares
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuShares(int shares) {
            b.cpuShares(shares);
            return this;
        }

        /**
         * Relative CPU weight, 1..10000 (default 100); converted to shares on v1.
         *
         * @param weight the weight
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuWeight(int weight) {
            b.cpuWeight(weight);
            return this;
        }

        /**
         * At most this many CPUs' worth of time, e.g. 0.5, per 100 ms period.
         *
         * @param cores the number of CPUs' worth of time, above 0
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuQuota(double cores) {
            b.cpuQuota(cores);
            return this;
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
            b.cpuQuota(quota, period);
            return this;
        }

        /**
         * The CPUs the run may use, e.g. {@code "0"} or {@code "0-1,3"}.
         *
         * @param cpus the CPU list, within the JVM's cgroup's
         * @return this builder
         * @throws IllegalArgumentException if not a CPU list
         */
        public Builder cpuset(String cpus) {
            b.cpuset(cpus);
            return this;
        }

        /**
         * The memory nodes the run may use, e.g. {@code "0"}.
         *
         * @param mems the node list
         * @return this builder
         * @throws IllegalArgumentException if not a node list
         */
        public Builder cpusetMems(String mems) {
            b.cpusetMems(mems);
            return this;
        }

        /**
         * At most this many processes and threads in the run; one more fork fails with EAGAIN.
         *
         * @param max the maximum, 1..4194304
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder pidsLimit(long max) {
            b.pidsLimit(max);
            return this;
        }

        /**
         * Relative block I/O weight, 1..10000.
         *
         * @param weight the weight
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder ioWeight(int weight) {
            b.ioWeight(weight);
            return this;
        }

        /**
         * Reads from the block device at {@code device} limited to this many bytes per second.
         *
         * @param device the block device's path on the host
         * @param perSecond the bytes per second, at least 1
         * @return this builder
         */
        public Builder ioReadBps(Path device, ByteSize perSecond) {
            b.ioReadBps(device, perSecond);
            return this;
        }

        /**
         * Writes to the block device at {@code device} limited to this many bytes per second.
         *
         * @param device the block device's path on the host
         * @param perSecond the bytes per second, at least 1
         * @return this builder
         */
        public Builder ioWriteBps(Path device, ByteSize perSecond) {
            b.ioWriteBps(device, perSecond);
            return this;
        }

        /**
         * Read operations per second on the block device at {@code device}.
         *
         * @param device the block device's path on the host
         * @param iops the operations per second, 1..4294967295
         * @return this builder
         */
        public Builder ioReadIops(Path device, long iops) {
            b.ioReadIops(device, iops);
            return this;
        }

        /**
         * Write operations per second on the block device at {@code device}.
         *
         * @param device the block device's path on the host
         * @param iops the operations per second, 1..4294967295
         * @return this builder
         */
        public Builder ioWriteIops(Path device, long iops) {
            b.ioWriteIops(device, iops);
            return this;
        }

        /**
         * Allows a device, as v1's devices.allow writes it: {@code "c 1:3 rwm"}; cgroup v1 only.
         *
         * @param rule the rule, {@code type major:minor access}
         * @return this builder
         */
        public Builder deviceAllow(String rule) {
            b.deviceAllow(rule);
            return this;
        }

        /**
         * Starts the run even where this host cannot apply some limit; {@link Outcome#limitsNotApplied()} says which.
         *
         * @return this builder
         */
        public Builder bestEffortLimits() {
            b.bestEffortLimits();
            return this;
        }

        /**
         * Gives the run a cgroup of its own even without limits (for its figures, {@link
         * IsolatedProcess#pause()}), also in a session without a cgroup; a session that has one
         * gives every run one anyway. Setting any limit implies it.
         *
         * @return this builder
         */
        public Builder cgroup() {
            b.cgroup();
            return this;
        }

        /**
         * The uid and gid the program runs as (ids of the session's user namespace when it has
         * one); see {@link Sandbox.Builder#runAs}. Starting the run fails with {@link
         * IllegalStateException} if the session's namespaces cannot confine that identity.
         *
         * @param uid the user id inside the sandbox, 0 or more
         * @param gid the group id inside the sandbox, 0 or more
         * @return this builder
         * @throws IllegalArgumentException if {@code uid} or {@code gid} is negative
         */
        public Builder runAs(int uid, int gid) {
            b.runAs(uid, gid);
            return this;
        }

        /**
         * Keeps one capability; every other one is dropped. See {@link Sandbox.Builder#keepCapability}.
         *
         * @param name the capability's name, with or without {@code CAP_}
         * @return this builder
         * @throws IllegalArgumentException if it names no capability
         */
        public Builder keepCapability(String name) {
            b.keepCapability(name);
            return this;
        }

        /**
         * The system calls the program may make (default {@link SeccompPolicy#defaultPolicy()}).
         *
         * @param policy the policy, e.g. {@link SeccompPolicy#strict()}
         * @return this builder
         */
        public Builder seccomp(SeccompPolicy policy) {
            b.seccomp(policy);
            return this;
        }

        /**
         * setrlimit before exec; {@link Rlimit#UNLIMITED} for no limit. {@code CORE} is 0 unless set.
         *
         * @param resource the resource
         * @param soft the soft limit, in the resource's unit (see {@link Rlimit})
         * @param hard the hard limit, at least {@code soft}
         * @return this builder
         * @throws IllegalArgumentException if {@code soft} is above {@code hard} or either is negative
         */
        public Builder rlimit(Rlimit resource, long soft, long hard) {
            b.rlimit(resource, soft, hard);
            return this;
        }

        /**
         * The same soft and hard limit.
         *
         * @param resource the resource
         * @param value the soft and hard limit, in the resource's unit (see {@link Rlimit})
         * @return this builder
         * @throws IllegalArgumentException if negative
         */
        public Builder rlimit(Rlimit resource, long value) {
            b.rlimit(resource, value);
            return this;
        }

        /**
         * The program gets the JVM's whole environment; see {@link Sandbox.Builder#inheritEnvironment()}.
         *
         * @return this builder
         */
        public Builder inheritEnvironment() {
            b.inheritEnvironment();
            return this;
        }

        /**
         * The program gets no variable but those of {@link #env}, {@link #passEnv} and the
         * caller's {@code ProcessBuilder}; see {@link Sandbox.Builder#emptyEnvironment()}.
         *
         * @return this builder
         */
        public Builder emptyEnvironment() {
            b.emptyEnvironment();
            return this;
        }

        /**
         * Sets {@code name} to {@code value} for the program; see {@link Sandbox.Builder#env}.
         *
         * @param name the variable's name
         * @param value its value
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty or contains '=' or NUL, or {@code value} a NUL
         */
        public Builder env(String name, String value) {
            b.env(name, value);
            return this;
        }

        /**
         * Passes the JVM's value of {@code name} to the program; see {@link Sandbox.Builder#passEnv}.
         *
         * @param name the variable's name
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty or contains '=' or NUL
         */
        public Builder passEnv(String name) {
            b.passEnv(name);
            return this;
        }

        /**
         * Builds the limits.
         *
         * @return the limits
         * @throws IllegalStateException if the cgroup limits contradict each other (both CPU
         *     shares and weight, a swap limit without a memory limit)
         */
        public RunLimits build() {
            return b.buildRunLimits();
        }
    }
}
