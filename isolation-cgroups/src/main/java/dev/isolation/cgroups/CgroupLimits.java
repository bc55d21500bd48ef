package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.Units;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * The resource limits of one sandbox cgroup. Immutable, thread-safe and reusable; build with
 * {@link #builder()}, derive variants with {@link #toBuilder()}.
 *
 * <p>Every limit is optional; an unset limit is not written and the kernel default (no limit)
 * applies. Setting a memory limit without a swap limit means "no swap beyond memory" (v1
 * {@code memory.memsw.limit_in_bytes} = memory, v2 {@code memory.swap.max} = 0), because a
 * memory limit without a swap limit is no limit on a host with swap.
 *
 * <p>Setters validate eagerly and throw {@link IllegalArgumentException} naming the parameter and
 * its range; {@link Builder#build()} throws {@link IllegalStateException} on contradictions (both
 * cpu shares and weight, a swap limit without a memory limit).
 *
 * <p>By default the limits fail closed: {@link CgroupHost#create(CgroupLimits)} throws when a
 * limit cannot be applied. With {@link Builder#bestEffort(boolean) bestEffort(true)} a limit the
 * host cannot apply is skipped and reported in {@link SandboxCgroup#notApplied()}.
 *
 * @since 0.1.0
 */
public final class CgroupLimits {
    private static final Pattern CPU_LIST = Pattern.compile("\\d+(-\\d+)?(,\\d+(-\\d+)?)*");
    private static final Pattern ACCESS = Pattern.compile("[rwm]{1,3}");
    private static final CgroupLimits NONE = builder().build();
    /** The kernel's largest CFS quota ({@code max_cfs_runtime}, 2^44 - 1 µs: about 203 days). */
    static final long MAX_QUOTA_MICROS = (1L << 44) - 1;
    /** The kernel's largest pids.max ({@code PID_MAX_LIMIT} on 64-bit). */
    static final long MAX_PIDS = 4L << 20;
    /** v1 keeps iops throttles in an unsigned int (v2 clamps to it). */
    static final long MAX_IOPS = 0xffff_ffffL;
    /** Largest CPU or memory node number accepted in a cpuset list (the kernel's NR_CPUS is at most 8192). */
    static final int MAX_CPUSET_NUMBER = 65_535;

    private final ByteSize memory;
    private final ByteSize swap;
    private final Integer cpuShares;
    private final Integer cpuWeight;
    private final Long cpuQuotaMicros;
    private final Duration cpuPeriod;
    private final String cpusetCpus;
    private final String cpusetMems;
    private final Long pids;
    private final Integer ioWeight;
    private final Map<String, IoThrottle> ioThrottles;
    private final List<DeviceRule> deviceRules;
    private final boolean bestEffort;

    private CgroupLimits(Builder b) {
        memory = b.memory;
        swap = b.memory != null && b.swap == null ? ByteSize.ZERO : b.swap;
        cpuShares = b.cpuShares;
        cpuWeight = b.cpuWeight;
        cpuQuotaMicros = b.cpuQuotaMicros;
        cpuPeriod = b.cpuPeriod;
        cpusetCpus = b.cpusetCpus;
        cpusetMems = b.cpusetMems;
        pids = b.pids;
        ioWeight = b.ioWeight;
        ioThrottles = Collections.unmodifiableMap(new LinkedHashMap<>(b.ioThrottles));
        deviceRules = List.copyOf(b.deviceRules);
        bestEffort = b.bestEffort;
    }

    /**
     * A new builder with no limits set and fail-closed behaviour.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * No limits at all: the sandbox cgroup only tracks, measures, freezes and kills.
     *
     * @return limits that limit nothing
     */
    public static CgroupLimits none() {
        return NONE;
    }

    /**
     * A builder pre-filled with these limits.
     *
     * @return a new builder with these limits
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Memory limit (v1 memory.limit_in_bytes, v2 memory.max).
     *
     * @return the memory limit, or empty for none
     */
    public Optional<ByteSize> memoryLimit() {
        return Optional.ofNullable(memory);
    }

    /**
     * Swap allowed beyond the memory limit; {@code 0 B} when a memory limit is set and no swap
     * limit was given.
     *
     * @return the swap allowed beyond the memory limit, or empty without a memory limit
     */
    public Optional<ByteSize> swapLimit() {
        return Optional.ofNullable(swap);
    }

    /**
     * v1 cpu.shares as given (2..262144).
     *
     * @return the shares, or empty when not set
     */
    public OptionalInt cpuShares() {
        return cpuShares == null ? OptionalInt.empty() : OptionalInt.of(cpuShares);
    }

    /**
     * v2 cpu.weight as given (1..10000).
     *
     * @return the weight, or empty when not set
     */
    public OptionalInt cpuWeight() {
        return cpuWeight == null ? OptionalInt.empty() : OptionalInt.of(cpuWeight);
    }

    /**
     * CPU quota per period, when set.
     *
     * @return the CPU time allowed per {@link #cpuPeriod()}, or empty for no quota
     */
    public Optional<Duration> cpuQuota() {
        return cpuQuotaMicros == null ? Optional.empty() : Optional.of(Duration.ofNanos(cpuQuotaMicros * 1000));
    }

    /**
     * CPU period; {@link CgroupUnits#DEFAULT_CPU_PERIOD} unless set with a quota.
     *
     * @return the period, 1 ms..1 s
     */
    public Duration cpuPeriod() {
        return cpuPeriod;
    }

    /**
     * cpuset.cpus list, e.g. {@code "0-3,6"}.
     *
     * @return the CPU list, or empty for the parent's CPUs
     */
    public Optional<String> cpusetCpus() {
        return Optional.ofNullable(cpusetCpus);
    }

    /**
     * cpuset.mems list, e.g. {@code "0"}.
     *
     * @return the node list, or empty for the parent's nodes
     */
    public Optional<String> cpusetMems() {
        return Optional.ofNullable(cpusetMems);
    }

    /**
     * Maximum number of tasks (processes and threads), pids.max.
     *
     * @return the maximum, or empty for no limit
     */
    public OptionalLong pidsLimit() {
        return pids == null ? OptionalLong.empty() : OptionalLong.of(pids);
    }

    /**
     * Proportional I/O weight on the v2 scale 1..10000 (default 100).
     *
     * @return the weight, or empty when not set
     */
    public OptionalInt ioWeight() {
        return ioWeight == null ? OptionalInt.empty() : OptionalInt.of(ioWeight);
    }

    /**
     * Per-device I/O throttles, in the order first configured.
     *
     * @return the throttles, possibly empty
     */
    public List<IoThrottle> ioThrottles() {
        return List.copyOf(ioThrottles.values());
    }

    /**
     * v1 device allow rules; when non-empty everything else is denied.
     *
     * @return the rules, empty when every device is allowed
     */
    public List<DeviceRule> deviceRules() {
        return deviceRules;
    }

    /**
     * True when limits the host cannot apply are skipped rather than failing.
     *
     * @return whether limits are best effort (default {@code false})
     */
    public boolean bestEffort() {
        return bestEffort;
    }

    boolean needsCpu() {
        return cpuShares != null || cpuWeight != null || cpuQuotaMicros != null;
    }

    boolean needsCpuset() {
        return cpusetCpus != null || cpusetMems != null;
    }

    boolean needsIo() {
        return ioWeight != null || !ioThrottles.isEmpty();
    }

    /** Equal limits set to equal values, with the same fail-closed or best-effort choice. */
    @Override
    public boolean equals(Object o) {
        return o instanceof CgroupLimits l && Objects.equals(memory, l.memory) && Objects.equals(swap, l.swap)
                && Objects.equals(cpuShares, l.cpuShares) && Objects.equals(cpuWeight, l.cpuWeight)
                && Objects.equals(cpuQuotaMicros, l.cpuQuotaMicros) && Objects.equals(cpuPeriod, l.cpuPeriod)
                && Objects.equals(cpusetCpus, l.cpusetCpus) && Objects.equals(cpusetMems, l.cpusetMems)
                && Objects.equals(pids, l.pids) && Objects.equals(ioWeight, l.ioWeight) && ioThrottles.equals(l.ioThrottles)
                && deviceRules.equals(l.deviceRules) && bestEffort == l.bestEffort;
    }

    @Override
    public int hashCode() {
        return Objects.hash(memory, swap, cpuShares, cpuWeight, cpuQuotaMicros, cpuPeriod, cpusetCpus, cpusetMems, pids, ioWeight,
                ioThrottles, deviceRules, bestEffort);
    }

    /**
     * The limits that are set, in their units, e.g. {@code CgroupLimits{memory=64 MiB, swap=0 B,
     * cpuQuota=50 ms per 100 ms, pids=32, bestEffort=false}}.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("CgroupLimits{");
        if (memory != null) {
            sb.append("memory=").append(memory).append(", ");
        }
        if (swap != null) {
            sb.append("swap=").append(swap).append(", ");
        }
        if (cpuShares != null) {
            sb.append("cpuShares=").append(cpuShares).append(", ");
        }
        if (cpuWeight != null) {
            sb.append("cpuWeight=").append(cpuWeight).append(", ");
        }
        if (cpuQuotaMicros != null) {
            sb.append("cpuQuota=").append(micros(cpuQuotaMicros)).append(" per ").append(micros(Units.toMicros(cpuPeriod))).append(", ");
        }
        if (cpusetCpus != null) {
            sb.append("cpusetCpus=").append(cpusetCpus).append(", ");
        }
        if (cpusetMems != null) {
            sb.append("cpusetMems=").append(cpusetMems).append(", ");
        }
        if (pids != null) {
            sb.append("pids=").append(pids).append(", ");
        }
        if (ioWeight != null) {
            sb.append("ioWeight=").append(ioWeight).append(", ");
        }
        if (!ioThrottles.isEmpty()) {
            sb.append("ioThrottles=").append(ioThrottles.values()).append(", ");
        }
        if (!deviceRules.isEmpty()) {
            sb.append("devices=").append(deviceRules).append(", ");
        }
        return sb.append("bestEffort=").append(bestEffort).append('}').toString();
    }

    /** {@code 50 ms}, {@code 1500 us}. */
    private static String micros(long us) {
        return us % 1000 == 0 ? us / 1000 + " ms" : us + " us";
    }

    /**
     * I/O throttles for one block device ({@code major:minor}), v1
     * blkio.throttle.*_device, v2 io.max. Unset fields mean no throttle.
     *
     * @param major the device's major number, 0..4095
     * @param minor the device's minor number, 0..1048575
     * @param readBytesPerSecond the read bandwidth limit in bytes per second, or empty
     * @param writeBytesPerSecond the write bandwidth limit in bytes per second, or empty
     * @param readIops the limit on read operations per second, or empty
     * @param writeIops the limit on write operations per second, or empty
     * @since 0.1.0
     */
    public record IoThrottle(int major, int minor, OptionalLong readBytesPerSecond, OptionalLong writeBytesPerSecond,
                             OptionalLong readIops, OptionalLong writeIops) {
        /**
         * Checks the components.
         *
         * @param major the device's major number, 0..4095
         * @param minor the device's minor number, 0..1048575
         * @param readBytesPerSecond the read bandwidth limit in bytes per second, or empty
         * @param writeBytesPerSecond the write bandwidth limit in bytes per second, or empty
         * @param readIops the limit on read operations per second, or empty
         * @param writeIops the limit on write operations per second, or empty
         * @throws IllegalArgumentException if a device number is outside 0..4095:0..1048575
         * @throws NullPointerException if a component is null
         */
        public IoThrottle {
            checkDevice(major, minor);
            Objects.requireNonNull(readBytesPerSecond, "readBytesPerSecond");
            Objects.requireNonNull(writeBytesPerSecond, "writeBytesPerSecond");
            Objects.requireNonNull(readIops, "readIops");
            Objects.requireNonNull(writeIops, "writeIops");
        }

        /** As io.max writes it, e.g. {@code 8:16 rbps=1048576 wiops=100}. */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(device());
            readBytesPerSecond.ifPresent(v -> sb.append(" rbps=").append(v));
            writeBytesPerSecond.ifPresent(v -> sb.append(" wbps=").append(v));
            readIops.ifPresent(v -> sb.append(" riops=").append(v));
            writeIops.ifPresent(v -> sb.append(" wiops=").append(v));
            return sb.toString();
        }

        /** {@return {@code "MAJ:MIN"}} */
        public String device() {
            return major + ":" + minor;
        }
    }

    /**
     * A v1 device access rule, as written to devices.allow: {@code type major:minor access}, where
     * type is {@code a} (all), {@code b} (block) or {@code c} (char), an empty major or minor
     * means any ({@code *}), access is a combination of {@code r}, {@code w}, {@code m} (mknod).
     *
     * @param type {@code a} (all devices), {@code b} (block) or {@code c} (character)
     * @param major the major number, or empty for any
     * @param minor the minor number, or empty for any
     * @param access a combination of {@code r} (read), {@code w} (write) and {@code m} (mknod)
     * @since 0.1.0
     */
    public record DeviceRule(char type, OptionalInt major, OptionalInt minor, String access) {
        /**
         * Checks the components.
         *
         * @param type {@code a} (all devices), {@code b} (block) or {@code c} (character)
         * @param major the major number, or empty for any
         * @param minor the minor number, or empty for any
         * @param access a combination of {@code r} (read), {@code w} (write) and {@code m} (mknod)
         * @throws IllegalArgumentException if {@code type} is not {@code a}, {@code b} or {@code
         *     c}, or {@code access} is not a combination of {@code r}, {@code w} and {@code m}
         * @throws NullPointerException if {@code major} or {@code minor} is null
         */
        public DeviceRule {
            if (type != 'a' && type != 'b' && type != 'c') {
                throw new IllegalArgumentException("device rule type must be 'a', 'b' or 'c', was '" + type + "'");
            }
            Objects.requireNonNull(major, "major");
            Objects.requireNonNull(minor, "minor");
            if (access == null || !ACCESS.matcher(access).matches()) {
                throw new IllegalArgumentException("device rule access must be a combination of r, w, m, was " + access);
            }
        }

        /**
         * Parses {@code "c 1:3 rwm"}, {@code "c *:* m"} or {@code "a"}.
         *
         * @param rule the rule in {@code devices.allow} syntax
         * @return the rule
         * @throws IllegalArgumentException if it is not a rule
         */
        public static DeviceRule parse(String rule) {
            String[] f = rule.trim().split("\\s+");
            if (f.length == 1 && f[0].equals("a")) {
                return new DeviceRule('a', OptionalInt.empty(), OptionalInt.empty(), "rwm");
            }
            if (f.length != 3 || f[0].length() != 1 || !f[1].contains(":")) {
                throw new IllegalArgumentException("device rule must look like \"c 1:3 rwm\", was \"" + rule + "\"");
            }
            String[] mm = f[1].split(":", 2);
            return new DeviceRule(f[0].charAt(0), number(mm[0], rule), number(mm[1], rule), f[2]);
        }

        private static OptionalInt number(String s, String rule) {
            if (s.equals("*")) {
                return OptionalInt.empty();
            }
            try {
                int n = Integer.parseInt(s);
                if (n < 0) {
                    throw new NumberFormatException();
                }
                return OptionalInt.of(n);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("device number must be * or >= 0 in \"" + rule + "\"", e);
            }
        }

        /** The devices.allow syntax, e.g. {@code "c 1:3 rwm"}. */
        @Override
        public String toString() {
            return type + " " + (major.isPresent() ? major.getAsInt() : "*") + ":"
                    + (minor.isPresent() ? minor.getAsInt() : "*") + " " + access;
        }
    }

    /** dev_t has 12 bits of major and 20 of minor. */
    private static void checkDevice(int major, int minor) {
        if (major < 0 || minor < 0 || major > 4095 || minor > 1_048_575) {
            throw new IllegalArgumentException("device major:minor must be in 0..4095:0..1048575, was " + major + ":" + minor);
        }
    }

    /**
     * Builds {@link CgroupLimits}. Not thread-safe.
     *
     * @since 0.1.0
     */
    public static final class Builder {
        private ByteSize memory;
        private ByteSize swap;
        private Integer cpuShares;
        private Integer cpuWeight;
        private Long cpuQuotaMicros;
        private Duration cpuPeriod = CgroupUnits.DEFAULT_CPU_PERIOD;
        private String cpusetCpus;
        private String cpusetMems;
        private Long pids;
        private Integer ioWeight;
        private final Map<String, IoThrottle> ioThrottles = new LinkedHashMap<>();
        private final List<DeviceRule> deviceRules = new ArrayList<>();
        private boolean bestEffort;

        private Builder() {
        }

        private Builder(CgroupLimits l) {
            memory = l.memory;
            swap = l.memory != null && l.swap != null && l.swap.bytes() == 0 ? null : l.swap;
            cpuShares = l.cpuShares;
            cpuWeight = l.cpuWeight;
            cpuQuotaMicros = l.cpuQuotaMicros;
            cpuPeriod = l.cpuPeriod;
            cpusetCpus = l.cpusetCpus;
            cpusetMems = l.cpusetMems;
            pids = l.pids;
            ioWeight = l.ioWeight;
            ioThrottles.putAll(l.ioThrottles);
            deviceRules.addAll(l.deviceRules);
            bestEffort = l.bestEffort;
        }

        /**
         * Memory limit, at least 1 MiB (larger than the host's memory is no limit).
         *
         * @param limit the limit
         * @return this builder
         * @throws IllegalArgumentException if below 1 MiB
         */
        public Builder memoryLimit(ByteSize limit) {
            Objects.requireNonNull(limit, "memoryLimit");
            if (limit.bytes() < 1024 * 1024) {
                throw new IllegalArgumentException("memoryLimit must be >= 1 MiB, was " + limit);
            }
            memory = limit;
            return this;
        }

        /**
         * Swap allowed beyond the memory limit, {@code >= 0}; requires a memory limit.
         *
         * @param swapBeyondMemory the swap allowed on top of the memory limit (v1 {@code
         *     memory.memsw.limit_in_bytes} is set to both together, v2 {@code memory.swap.max} to
         *     this)
         * @return this builder
         * @throws IllegalArgumentException if negative
         */
        public Builder swapLimit(ByteSize swapBeyondMemory) {
            swap = Objects.requireNonNull(swapBeyondMemory, "swapLimit");
            return this;
        }

        /**
         * Relative CPU share, v1 scale 2..262144 (default 1024); exclusive with cpuWeight.
         *
         * @param shares the shares, 2..262144
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuShares(int shares) {
            if (shares < CgroupUnits.MIN_SHARES || shares > CgroupUnits.MAX_SHARES) {
                throw new IllegalArgumentException("cpuShares must be in 2..262144, was " + shares);
            }
            cpuShares = shares;
            return this;
        }

        /**
         * Relative CPU weight, v2 scale 1..10000 (default 100); exclusive with cpuShares.
         *
         * @param weight the weight, 1..10000
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder cpuWeight(int weight) {
            if (weight < CgroupUnits.MIN_WEIGHT || weight > CgroupUnits.MAX_WEIGHT) {
                throw new IllegalArgumentException("cpuWeight must be in 1..10000, was " + weight);
            }
            cpuWeight = weight;
            return this;
        }

        /**
         * CPU bandwidth in cores (e.g. 0.5, 2.0) per default 100 ms period.
         *
         * @param cores the number of CPUs' worth of time per period, above 0
         * @return this builder
         * @throws IllegalArgumentException if the quota is out of the kernel's range
         */
        public Builder cpuQuota(double cores) {
            return cpuQuota(cores, CgroupUnits.DEFAULT_CPU_PERIOD);
        }

        /**
         * CPU bandwidth in cores per {@code period} (1 ms..1 s); the quota must come to 1 ms..2^44 - 1
         * µs (about 203 days, the kernel's bound) per period.
         *
         * @param cores the number of CPUs' worth of time per period, above 0
         * @param period the CFS period
         * @return this builder
         * @throws IllegalArgumentException if the period or quota is out of range
         */
        public Builder cpuQuota(double cores, Duration period) {
            checkPeriod(period);
            if (!(cores > 0) || Double.isInfinite(cores)) {
                throw new IllegalArgumentException("cpuQuota cores must be a finite number > 0, was " + cores);
            }
            double quota = cores * Units.toMicros(period);
            if (quota < 1000 || quota > MAX_QUOTA_MICROS) {
                throw new IllegalArgumentException("cpuQuota must come to 1 ms..2^44 - 1 µs (>= 1 ms, about 203 days at"
                        + " most) per period, was " + cores + " cores of " + period.toMillis() + " ms");
            }
            return cpuQuota(Duration.ofNanos(Math.round(quota) * 1000), period);
        }

        /**
         * CPU time {@code quota}, 1 ms..2^44 - 1 µs (about 203 days, the kernel's bound), allowed per
         * {@code period} (1 ms..1 s).
         *
         * @param quota the CPU time per period
         * @param period the CFS period
         * @return this builder
         * @throws IllegalArgumentException if the period or quota is out of range
         */
        public Builder cpuQuota(Duration quota, Duration period) {
            checkPeriod(period);
            Objects.requireNonNull(quota, "cpuQuota");
            if (quota.compareTo(Duration.ofMillis(1)) < 0 || quota.compareTo(Duration.ofNanos(MAX_QUOTA_MICROS * 1000)) > 0) {
                throw new IllegalArgumentException("cpuQuota must be in 1 ms..2^44 - 1 µs (about 203 days), was " + quota);
            }
            cpuQuotaMicros = Units.toMicros(quota);
            cpuPeriod = period;
            return this;
        }

        private static void checkPeriod(Duration period) {
            Objects.requireNonNull(period, "cpuPeriod");
            if (period.compareTo(Duration.ofMillis(1)) < 0 || period.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("cpuQuota period (cpuPeriod) must be in 1 ms..1 s, was " + period);
            }
        }

        /**
         * CPUs the sandbox may run on, kernel list syntax such as {@code "0-3,6"}.
         *
         * @param cpus the CPU list, within the parent's {@code cpuset.cpus}
         * @return this builder
         * @throws IllegalArgumentException if not a CPU list
         */
        public Builder cpusetCpus(String cpus) {
            cpusetCpus = checkList("cpusetCpus", cpus);
            return this;
        }

        /**
         * NUMA memory nodes the sandbox may use, kernel list syntax such as {@code "0"}.
         *
         * @param mems the node list, within the parent's {@code cpuset.mems}
         * @return this builder
         * @throws IllegalArgumentException if not a node list
         */
        public Builder cpusetMems(String mems) {
            cpusetMems = checkList("cpusetMems", mems);
            return this;
        }

        private static String checkList(String name, String list) {
            Objects.requireNonNull(list, name);
            if (!CPU_LIST.matcher(list).matches()) {
                throw new IllegalArgumentException(name + " must be a list like \"0-3,6\", was \"" + list + "\"");
            }
            for (String part : list.split(",")) {
                String[] r = part.split("-");
                for (String n : r) {
                    if (n.length() > 5 || Integer.parseInt(n) > MAX_CPUSET_NUMBER) {
                        throw new IllegalArgumentException(name + ": numbers must be in 0.." + MAX_CPUSET_NUMBER + ", was \"" + n + "\"");
                    }
                }
                if (r.length == 2 && Integer.parseInt(r[0]) > Integer.parseInt(r[1])) {
                    throw new IllegalArgumentException(name + " has a descending range \"" + part + "\"");
                }
            }
            return list;
        }

        /**
         * Maximum number of tasks (processes and threads), 1..4194304 (the kernel's {@code PID_MAX_LIMIT}).
         *
         * @param max the maximum number of tasks
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder pidsLimit(long max) {
            if (max < 1 || max > MAX_PIDS) {
                throw new IllegalArgumentException("pidsLimit must be in 1.." + MAX_PIDS + ", was " + max);
            }
            pids = max;
            return this;
        }

        /**
         * Proportional I/O weight, v2 scale 1..10000 (converted to 10..1000 on v1).
         *
         * @param weight the weight, 1..10000 (the kernel's default is 100)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder ioWeight(int weight) {
            if (weight < CgroupUnits.MIN_WEIGHT || weight > CgroupUnits.MAX_WEIGHT) {
                throw new IllegalArgumentException("ioWeight must be in 1..10000, was " + weight);
            }
            ioWeight = weight;
            return this;
        }

        /**
         * Read bandwidth limit for block device {@code major:minor}, >= 1 byte per second.
         *
         * @param major the device's major number
         * @param minor the device's minor number
         * @param perSecond the bytes per second
         * @return this builder
         * @throws IllegalArgumentException if a number is out of range
         */
        public Builder ioReadBandwidth(int major, int minor, ByteSize perSecond) {
            long v = positive("ioReadBandwidth", Objects.requireNonNull(perSecond, "ioReadBandwidth").bytes());
            return throttle("ioReadBandwidth", major, minor, t -> new IoThrottle(major, minor, OptionalLong.of(v), t.writeBytesPerSecond(), t.readIops(), t.writeIops()));
        }

        /**
         * Write bandwidth limit for block device {@code major:minor}, >= 1 byte per second.
         *
         * @param major the device's major number
         * @param minor the device's minor number
         * @param perSecond the bytes per second
         * @return this builder
         * @throws IllegalArgumentException if a number is out of range
         */
        public Builder ioWriteBandwidth(int major, int minor, ByteSize perSecond) {
            long v = positive("ioWriteBandwidth", Objects.requireNonNull(perSecond, "ioWriteBandwidth").bytes());
            return throttle("ioWriteBandwidth", major, minor, t -> new IoThrottle(major, minor, t.readBytesPerSecond(), OptionalLong.of(v), t.readIops(), t.writeIops()));
        }

        /**
         * Read operations per second limit for block device {@code major:minor}, 1..4294967295.
         *
         * @param major the device's major number
         * @param minor the device's minor number
         * @param iops the operations per second
         * @return this builder
         * @throws IllegalArgumentException if a number is out of range
         */
        public Builder ioReadIops(int major, int minor, long iops) {
            long v = iops("ioReadIops", iops);
            return throttle("ioReadIops", major, minor, t -> new IoThrottle(major, minor, t.readBytesPerSecond(), t.writeBytesPerSecond(), OptionalLong.of(v), t.writeIops()));
        }

        /**
         * Write operations per second limit for block device {@code major:minor}, 1..4294967295.
         *
         * @param major the device's major number
         * @param minor the device's minor number
         * @param iops the operations per second
         * @return this builder
         * @throws IllegalArgumentException if a number is out of range
         */
        public Builder ioWriteIops(int major, int minor, long iops) {
            long v = iops("ioWriteIops", iops);
            return throttle("ioWriteIops", major, minor, t -> new IoThrottle(major, minor, t.readBytesPerSecond(), t.writeBytesPerSecond(), t.readIops(), OptionalLong.of(v)));
        }

        private static long positive(String name, long v) {
            if (v < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, was " + v);
            }
            return v;
        }

        private static long iops(String name, long v) {
            if (v < 1 || v > MAX_IOPS) {
                throw new IllegalArgumentException(name + " must be in 1.." + MAX_IOPS + ", was " + v);
            }
            return v;
        }

        private Builder throttle(String name, int major, int minor, java.util.function.UnaryOperator<IoThrottle> change) {
            try {
                checkDevice(major, minor);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
            String key = major + ":" + minor;
            IoThrottle old = ioThrottles.getOrDefault(key, new IoThrottle(major, minor,
                    OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty()));
            ioThrottles.put(key, change.apply(old));
            return this;
        }

        /**
         * Allows a device (v1 devices controller only); once any rule is given, every other
         * device is denied. Unsupported on cgroup v2.
         *
         * @param rule the rule to add
         * @return this builder
         */
        public Builder deviceAllow(DeviceRule rule) {
            deviceRules.add(Objects.requireNonNull(rule, "deviceAllow"));
            return this;
        }

        /**
         * Same as {@code deviceAllow(DeviceRule.parse(rule))}, e.g. {@code "c 1:3 rwm"}.
         *
         * @param rule the rule in {@code devices.allow} syntax
         * @return this builder
         * @throws IllegalArgumentException if it is not a rule
         */
        public Builder deviceAllow(String rule) {
            return deviceAllow(DeviceRule.parse(Objects.requireNonNull(rule, "deviceAllow")));
        }

        /**
         * {@code false} (default): fail closed, creation throws when a limit cannot be applied.
         * {@code true}: skip such limits and report them in {@link SandboxCgroup#notApplied()}.
         *
         * @param bestEffort whether to skip limits the host cannot apply
         * @return this builder
         */
        public Builder bestEffort(boolean bestEffort) {
            this.bestEffort = bestEffort;
            return this;
        }

        /**
         * Builds the limits, checking that they agree with each other.
         *
         * @return the limits
         * @throws IllegalStateException if both cpuShares and cpuWeight, or swap without memory
         */
        public CgroupLimits build() {
            if (cpuShares != null && cpuWeight != null) {
                throw new IllegalStateException("cpuShares and cpuWeight are mutually exclusive; set one");
            }
            if (swap != null && memory == null) {
                throw new IllegalStateException("swapLimit needs a memoryLimit (swap is allowed beyond memory)");
            }
            return new CgroupLimits(this);
        }
    }
}
