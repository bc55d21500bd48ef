package dev.isolation.cgroups;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a sandbox cgroup counts the CPU time of its processes, as data a reader outside this
 * library (a native monitor) can follow without knowing cgroup files: read {@link #file()}; with a
 * {@link #key()}, take the number after that key at the start of a line ({@code key value}),
 * else the file's first number; multiply by {@link #nanosPerUnit()}. The counter only grows.
 *
 * <p>v1: {@code cpuacct.usage}, whole file, 1 ns per unit. v2: {@code cpu.stat}, key
 * {@code usage_usec}, 1000 ns per unit.
 *
 * @param file the file to read
 * @param key the line's key, or empty when the whole file is the number
 * @param nanosPerUnit nanoseconds per unit of the number, at least 1
 * @since 0.1.0
 */
public record CpuCounter(Path file, Optional<String> key, long nanosPerUnit) {
    /**
     * Checks the components.
     *
     * @param file the file to read
     * @param key the line's key, or empty when the whole file is the number
     * @param nanosPerUnit nanoseconds per unit of the number, at least 1
     * @throws NullPointerException if {@code file} or {@code key} is null
     * @throws IllegalArgumentException if {@code nanosPerUnit} is below 1
     */
    public CpuCounter {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(key, "key");
        if (nanosPerUnit < 1) {
            throw new IllegalArgumentException("nanosPerUnit must be >= 1, was " + nanosPerUnit);
        }
    }
}
