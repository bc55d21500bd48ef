package dev.isolation.examples.scale;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.examples.judge.Judge;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/**
 * The problems a worker judges against: {@code ROOT/ID/tests/} holds {@code N.in} and
 * {@code N.out}, and {@code ROOT/ID/limits.properties} (optional) the problem's limits:
 * {@code time} and {@code wall} in seconds, {@code memory} and {@code output} as sizes
 * ({@code 64M}). Missing limits are 1 s CPU, 3 x CPU wall, 64 MiB, 1 MiB. Every worker must see the
 * same directory (a shared filesystem, or the same files copied or baked into each host's image).
 */
final class ProblemStore {
    static final Judge.Limits DEFAULTS = Judge.Limits.of(Duration.ofSeconds(1), ByteSize.mb(64), ByteSize.mb(1));

    private final Path root;

    ProblemStore(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    /**
     * The tests directory of problem {@code id}.
     *
     * @throws NoSuchFileException if this worker has no such problem
     */
    Path tests(String id) throws IOException {
        Path dir = problem(id).resolve("tests");
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(dir.toString(), null, "problem " + id + " has no tests directory on this worker");
        }
        return dir;
    }

    /**
     * The limits of problem {@code id}, with {@code overrides} applied.
     *
     * @throws IOException if its limits.properties cannot be read or has a bad value
     */
    Judge.Limits limits(String id, LimitOverrides overrides) throws IOException {
        Path file = problem(id).resolve("limits.properties");
        Judge.Limits base = DEFAULTS;
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            }
            try {
                Duration time = p.containsKey("time") ? LimitOverrides.parseSeconds("time", p.getProperty("time").strip())
                        : base.cpuTime();
                Duration wall = p.containsKey("wall") ? LimitOverrides.parseSeconds("wall", p.getProperty("wall").strip())
                        : time.multipliedBy(3);
                ByteSize memory = p.containsKey("memory") ? LimitOverrides.parseSize("memory", p.getProperty("memory").strip())
                        : base.memory();
                ByteSize output = p.containsKey("output") ? LimitOverrides.parseSize("output", p.getProperty("output").strip())
                        : base.output();
                base = new Judge.Limits(time, wall, memory, output);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
        }
        return overrides.applyTo(base);
    }

    private Path problem(String id) throws IOException {
        Path dir = root.resolve(SubmissionRequest.checkProblemId(id));
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(dir.toString(), null, "no problem " + id + " on this worker (under " + root + ")");
        }
        return dir;
    }
}
