package dev.isolation.examples.scale;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.examples.judge.Judge;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Limits a submission sets in place of its problem's: any of CPU time, wall time, memory and
 * output, each within the bounds a worker accepts ({@link #MAX_TIME}, {@link #MAX_WALL},
 * {@link #MAX_MEMORY}, {@link #MAX_OUTPUT}). Its text form, as the queue stores it:
 * {@code time=0.5 wall=2 memory=67108864 output=1048576} (seconds and bytes), any subset.
 */
public record LimitOverrides(Optional<Duration> time, Optional<Duration> wall, Optional<ByteSize> memory,
        Optional<ByteSize> output) {
    public static final Duration MAX_TIME = Duration.ofSeconds(60);
    public static final Duration MAX_WALL = Duration.ofSeconds(300);
    public static final ByteSize MAX_MEMORY = ByteSize.gb(4);
    public static final ByteSize MAX_OUTPUT = ByteSize.mb(256);

    /** No override: the problem's limits. */
    public static final LimitOverrides NONE = new LimitOverrides(Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty());

    /** @throws IllegalArgumentException naming the limit that is out of its bounds */
    public LimitOverrides {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(wall, "wall");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(output, "output");
        time.ifPresent(t -> check("time", t, MAX_TIME));
        wall.ifPresent(t -> check("wall", t, MAX_WALL));
        memory.ifPresent(m -> check("memory", m, ByteSize.mb(1), MAX_MEMORY));
        output.ifPresent(o -> check("output", o, ByteSize.ofBytes(1), MAX_OUTPUT));
    }

    private static void check(String name, Duration d, Duration max) {
        if (d.isNegative() || d.isZero() || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(name + " limit " + seconds(d) + " s: must be more than 0 and at most "
                    + seconds(max) + " s");
        }
    }

    private static void check(String name, ByteSize s, ByteSize min, ByteSize max) {
        if (s.compareTo(min) < 0 || s.compareTo(max) > 0) {
            throw new IllegalArgumentException(name + " limit " + s + ": must be " + min + " to " + max);
        }
    }

    /** {@code base} with these overrides; the wall time follows an overridden CPU time (three times it) unless set too. */
    Judge.Limits applyTo(Judge.Limits base) {
        Duration cpu = time.orElse(base.cpuTime());
        Duration wallTime = wall.orElse(time.isPresent() ? cpu.multipliedBy(3) : base.wallTime());
        return new Judge.Limits(cpu, wallTime, memory.orElse(base.memory()), output.orElse(base.output()));
    }

    /** The text form; empty for {@link #NONE}. */
    String toText() {
        List<String> parts = new ArrayList<>();
        time.ifPresent(t -> parts.add("time=" + seconds(t)));
        wall.ifPresent(t -> parts.add("wall=" + seconds(t)));
        memory.ifPresent(m -> parts.add("memory=" + m.bytes()));
        output.ifPresent(o -> parts.add("output=" + o.bytes()));
        return String.join(" ", parts);
    }

    /**
     * Parses the text form; sizes may also be written with K, M, G (binary).
     *
     * @throws IllegalArgumentException naming the part that is wrong
     */
    public static LimitOverrides parse(String text) {
        Optional<Duration> time = Optional.empty();
        Optional<Duration> wall = Optional.empty();
        Optional<ByteSize> memory = Optional.empty();
        Optional<ByteSize> output = Optional.empty();
        for (String part : text.strip().split("[\\s,]+")) {
            if (part.isEmpty()) {
                continue;
            }
            String[] kv = part.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("limit \"" + part + "\": expected NAME=VALUE (time, wall, memory, output)");
            }
            switch (kv[0]) {
                case "time" -> time = Optional.of(parseSeconds(kv[0], kv[1]));
                case "wall" -> wall = Optional.of(parseSeconds(kv[0], kv[1]));
                case "memory" -> memory = Optional.of(parseSize(kv[0], kv[1]));
                case "output" -> output = Optional.of(parseSize(kv[0], kv[1]));
                default -> throw new IllegalArgumentException("limit \"" + kv[0] + "\": expected time, wall, memory or output");
            }
        }
        return new LimitOverrides(time, wall, memory, output);
    }

    static Duration parseSeconds(String name, String value) {
        try {
            BigDecimal nanos = new BigDecimal(value).movePointRight(9);
            if (nanos.signum() <= 0 || nanos.compareTo(BigDecimal.valueOf(86_400).movePointRight(9)) > 0) {
                throw new IllegalArgumentException(name + " limit " + value + ": must be more than 0 seconds");
            }
            return Duration.ofNanos(nanos.longValue());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " limit \"" + value + "\": expected seconds, e.g. 1 or 0.5", e);
        }
    }

    static ByteSize parseSize(String name, String value) {
        try {
            return ByteSize.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " limit \"" + value + "\": " + e.getMessage(), e);
        }
    }

    private static String seconds(Duration d) {
        return BigDecimal.valueOf(d.toNanos()).movePointLeft(9).stripTrailingZeros().toPlainString();
    }
}
