package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Sandboxes of one policy set up ahead and reused, one run at a time each: for a judge that runs
 * many short programs. Made by {@link Sandbox#pool(int)}:
 *
 * <pre>{@code
 * try (SandboxPool pool = judge.pool(4)) {
 *     Outcome o = pool.run(new ProcessBuilder("/box/solution"), input);
 * }
 * }</pre>
 *
 * <p><b>What is set up ahead.</b> Each pooled sandbox is created as {@link Sandbox#start} would
 * create one (its namespaces, its root and mounts, its cgroup with the policy's limits), once,
 * with an init as PID 1 of its pid namespace that stays inside its cgroup. A run is forked by that
 * init: it needs no cgroup migration (on cgroup v1 a write to {@code cgroup.procs} waits for an
 * RCU grace period once the machine was idle: 5 to 20 ms), no new network namespace and no new
 * root. A run gets its own IPC namespace and mount namespace (a copy of the sandbox's), with fresh
 * tmpfs mounts at {@value SandboxSession#WORK_DIR}, {@code /tmp}, {@code /dev/shm} and the
 * policy's other tmpfs mounts; then the policy's per-run steps (rlimits, identity, capabilities,
 * seccomp) and its program.
 *
 * <p><b>Freshness: a run sees no trace of the ones before it.</b>
 * <ul>
 *   <li>Processes: once a run's program ended, its pooled sandbox's init kills everything else in
 *       the pid namespace and reaps it; the pool hands the sandbox out again only once the init
 *       has no child left and, with a cgroup, is all that is in it. A sandbox that fails this is
 *       closed, never reused ({@link Stats#discarded()}).
 *   <li>Files: {@value SandboxSession#WORK_DIR}, {@code /tmp}, {@code /dev/shm} and the policy's
 *       tmpfs mounts are new, empty tmpfs mounts in each run; the rest of the root is read-only.
 *   <li>System V IPC and POSIX message queues: each run has its own IPC namespace (with {@link
 *       Sandbox.Builder#ipcNs()}).
 *   <li>Counters: a run's {@link Outcome} reports its own figures. Its CPU time and context
 *       switches are the run's processes' own (rusage). Its cgroup figures: on cgroup v2 (Linux
 *       5.7+) each run has a fresh cgroup of its own, a child of the pooled sandbox's, created
 *       before the run (its process is created in it by the init: clone3 {@code
 *       CLONE_INTO_CGROUP}) and removed after it: its peak memory ({@code memory.peak}, Linux
 *       5.19+), CPU time and throttling ({@code cpu.stat}), OOM kills ({@code memory.events}) and
 *       peak of pids ({@code pids.peak}, Linux 6.1+) are the run's alone; the init sits in a leaf
 *       of its own beside the runs' cgroups. On cgroup v1 (and hybrid hosts) the runs run in the
 *       pooled sandbox's cgroup: the counters that can be reset are reset before the run (peak
 *       memory, failure counts, CPU time), the others (OOM kills, throttling) are read against
 *       their value when the run began; there is no peak of pids, and the peak memory includes
 *       what the init holds (a few hundred KiB) and page cache earlier runs left charged to the
 *       cgroup. So it is on cgroup v2 for a policy with {@link Sandbox.Builder#cgroupNs()}, or
 *       with {@link Sandbox.Builder#userNs()} in a root JVM (the init could not create the run
 *       in its cgroup), and there a run reports no peak memory ({@code memory.peak} cannot be
 *       reset).
 *   <li>Limits: every run gets the policy's limits: the cgroup's memory and pids limits (the
 *       pooled sandbox's pids limit is one higher, for the init; a run's own cgroup on cgroup v2
 *       has the policy's limits, its pids limit as given, inside the sandbox's, which bounds the
 *       run and the init together), the CPU and wall-time limits counted from the run's start,
 *       its output limit, rlimits and seccomp policy.
 *   <li>Binds: the pool refuses writable binds and binds of files. A read-only bind of a
 *       directory, like the system directories of {@link Sandbox.Builder#minimalRoot()}, shows the
 *       directory's contents at the time of each run. Before each run the pool checks that every
 *       host file and directory the sandbox bound is still the one it bound (device and inode, no
 *       symlink on its path): one that was replaced on the host (renamed over, a symlink, a mount
 *       placed on it) closes that sandbox ({@link Stats#discarded()}), and the run gets a new one,
 *       which binds what is there now, or fails naming a source that became a symlink.
 * </ul>
 *
 * <p>A pooled sandbox idle for {@link Options#idleTimeout()} is closed (a later run sets up a new
 * one); {@link #stats()} tells what the pool holds. Thread-safe: each caller's run gets a sandbox
 * of its own, waiting for one when all {@link Options#size()} are busy. {@link #close()} ends
 * every run still going, and removes every sandbox, its processes, mounts and cgroups. If the JVM
 * dies, each sandbox's monitor ends it and removes its cgroup.
 *
 * @implNote The pooled sandbox's helper listens on an abstract unix socket of the host's network
 * namespace; only processes of the JVM's user outside the sandbox's pid namespace are read from,
 * and only a request that carries the pool's secret (in the plans of its runs' monitors, never in a
 * name: every sandbox of an ordinary JVM is of the JVM's user too) is served.
 */
public final class SandboxPool implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static volatile ScheduledExecutorService expiry;

    private final Sandbox policy;
    private final Sandbox layout;
    private final Options options;
    private final String socketPrefix;
    /**
     * What each request to one of its sandboxes' inits carries (pool.c): the socket's peer
     * credentials cannot tell a run's monitor from a program of another sandbox of an ordinary
     * JVM that shares the host's network namespace (both are the JVM's user, outside the pooled
     * sandbox's pid namespace). In the plans only, never in a name or on a command line.
     */
    private final String secret;
    private final Object lock = new Object();
    /** Idle sandboxes, the most recently used first; guarded by {@link #lock}. */
    private final Deque<PooledSandbox> idle = new ArrayDeque<>();
    private final List<PooledSandbox> busy = new ArrayList<>();
    private int opening;
    private long created, expired, discarded, runs, sockets;
    private boolean closed;
    private final ScheduledFuture<?> sweeper;

    private SandboxPool(Sandbox policy, Sandbox layout, Options options) {
        this.policy = policy;
        this.layout = layout;
        this.options = options;
        byte[] name = new byte[12];
        RANDOM.nextBytes(name);
        this.socketPrefix = "@isolation-pool-" + HexFormat.of().formatHex(name) + "-";
        byte[] key = new byte[16];
        RANDOM.nextBytes(key);
        this.secret = HexFormat.of().formatHex(key);
        long period = Math.max(50, Math.min(1000, options.idleTimeout().toMillis() / 4));
        this.sweeper = expiry().scheduleAtFixedRate(this::expire, period, period, TimeUnit.MILLISECONDS);
    }

    static SandboxPool open(Sandbox policy, Sandbox layout, Options options) throws SandboxException {
        SandboxPool pool = new SandboxPool(policy, layout, options);
        try {
            for (int i = 0; i < options.size(); i++) {
                PooledSandbox s = pool.openOne();
                synchronized (pool.lock) {
                    s.idleSince = System.nanoTime();
                    pool.idle.push(s);
                }
            }
            return pool;
        } catch (SandboxException | RuntimeException e) {
            try {
                pool.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static ScheduledExecutorService expiry() {
        ScheduledExecutorService e = expiry;
        if (e == null) {
            synchronized (SandboxPool.class) {
                if (expiry == null) {
                    ScheduledThreadPoolExecutor x = new ScheduledThreadPoolExecutor(1, r -> {
                        Thread t = new Thread(r, "isolation-pool-expiry");
                        t.setDaemon(true);
                        return t;
                    });
                    x.setRemoveOnCancelPolicy(true);
                    expiry = x;
                }
                e = expiry;
            }
        }
        return e;
    }

    private PooledSandbox openOne() throws SandboxException {
        String socket;
        synchronized (lock) {
            socket = socketPrefix + sockets++;
        }
        PooledSandbox s = PooledSandbox.open(policy, layout, socket + " " + secret);
        synchronized (lock) {
            created++;
        }
        return s;
    }

    /**
     * Starts {@code pb}'s command in one of the pool's sandboxes, fresh as described above, with
     * the policy's limits and environment ({@code HOME} is {@value SandboxSession#WORK_DIR}, where
     * the program starts by default). Waits while every sandbox is busy. The sandbox goes back to
     * the pool once the program's {@link IsolatedProcess#outcome()} is known.
     *
     * @param pb the command, directory, environment and redirects, as for {@link Sandbox#start(ProcessBuilder)}
     * @return the running program
     * @throws IllegalStateException if the pool is closed
     * @throws IllegalArgumentException with an {@link Sandbox.Builder#outputLimit} and a standard
     *     output or error that is {@link ProcessBuilder.Redirect#INHERIT}ed (the limit is enforced on
     *     pipes, by their reader, and on files, by RLIMIT_FSIZE)
     * @throws SandboxException if setting up a sandbox fails, or the thread is interrupted while
     *     waiting for one (its interrupt status is set again)
     */
    public IsolatedProcess start(ProcessBuilder pb) throws SandboxException {
        return start(pb, false);
    }

    /**
     * Runs to the end, stdin from bytes, output captured; see {@link Sandbox#run(ProcessBuilder, byte[])}.
     *
     * @param pb the command, directory and environment
     * @param stdin the program's whole standard input
     * @return how the run ended, its figures and its output
     */
    public Outcome run(ProcessBuilder pb, byte[] stdin) {
        return Sandbox.runToEnd(pb, stdin, this::start);
    }

    /**
     * Runs {@code command} to the end with empty stdin, output captured.
     *
     * @param command the program and its arguments
     * @return how the run ended, its figures and its output
     */
    public Outcome run(String... command) {
        return run(new ProcessBuilder(command), new byte[0]);
    }

    private IsolatedProcess start(ProcessBuilder pb, boolean capture) throws SandboxException {
        if (pb.command().isEmpty()) {
            throw new IllegalArgumentException("command must not be empty");
        }
        if (policy.outputLimit().isPresent()) {
            for (ProcessBuilder.Redirect r : new ProcessBuilder.Redirect[] {pb.redirectOutput(), pb.redirectError()}) {
                if (r.type() == ProcessBuilder.Redirect.Type.INHERIT) {
                    // a fresh sandbox's monitor relays such a stream, counting; a pooled run's cannot yet
                    throw new IllegalArgumentException("a pooled run's output limit applies to pipes and files: redirect its"
                            + " standard output and error to a pipe or a file, not Redirect.INHERIT");
                }
            }
        }
        PooledSandbox s = acquireFresh();
        IsolatedProcess p;
        try {
            p = s.start(layout, policy, pb, capture);
        } catch (SandboxException | RuntimeException e) {
            giveBack(s);
            throw e;
        }
        p.outcome().whenComplete((o, e) -> giveBack(s));
        return p;
    }

    /** {@link #acquire()}'s sandbox, unless a source it bound was replaced on the host since: then a new one. */
    private PooledSandbox acquireFresh() throws SandboxException {
        PooledSandbox s = acquire();
        for (int stale = 0; !s.bindsUnchanged(); stale++) {
            // a bind source was replaced on the host since it was bound: never show the old one
            discard(s);
            if (stale > options.size()) {
                throw new SandboxException("the bind sources of the pool's policy keep being replaced on the host:"
                        + " each new pooled sandbox found one changed before its first run");
            }
            s = acquire();
        }
        return s;
    }

    /** An idle sandbox, or a new one while fewer than {@code size} exist; waits while all are busy. */
    private PooledSandbox acquire() throws SandboxException {
        synchronized (lock) {
            while (true) {
                checkOpen();
                PooledSandbox s = idle.poll();
                if (s != null) {
                    busy.add(s);
                    runs++;
                    return s;
                }
                if (busy.size() + opening < options.size()) {
                    opening++;
                    break;
                }
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SandboxException("interrupted while waiting for a pooled sandbox", e);
                }
            }
        }
        PooledSandbox s = null;
        boolean lateForClose = false;
        try {
            s = openOne();
        } finally {
            synchronized (lock) {
                opening--;
                if (s != null) {
                    lateForClose = closed;
                    if (!closed) {
                        busy.add(s);
                        runs++;
                    }
                }
                lock.notifyAll();
            }
        }
        if (lateForClose) {
            closeQuietly(s);
            throw new IllegalStateException("the pool is closed");
        }
        return s;
    }

    /** Back to the idle ones if it is clean (no process of the run is left), else closed. */
    private void giveBack(PooledSandbox s) {
        boolean clean = s.clean();
        if (clean) {
            s.prepareNext(layout, policy); // the next run's counter reset and monitor, made here rather than in its start
        }
        boolean close;
        synchronized (lock) {
            if (!busy.remove(s)) {
                return; // the pool was closed meanwhile, and closed it
            }
            close = closed || !clean;
            if (!clean) {
                discarded++;
            }
            if (!close) {
                s.idleSince = System.nanoTime();
                idle.push(s);
            }
            lock.notifyAll();
        }
        if (close) {
            closeQuietly(s);
        }
    }

    /** Closes a sandbox just handed out, before it ran anything (counted as discarded). */
    private void discard(PooledSandbox s) {
        synchronized (lock) {
            if (!busy.remove(s)) {
                return; // the pool was closed meanwhile, and closed it
            }
            runs--;
            discarded++;
            lock.notifyAll();
        }
        closeQuietly(s);
    }

    private static void closeQuietly(PooledSandbox s) {
        try {
            s.close();
        } catch (IOException | RuntimeException e) {
            // its monitor removes what is left of its cgroup as it exits
        }
    }

    /** Closes the sandboxes idle for longer than the idle timeout. */
    private void expire() {
        List<PooledSandbox> old = new ArrayList<>();
        long now = System.nanoTime();
        synchronized (lock) {
            idle.removeIf(s -> {
                boolean stale = now - s.idleSince >= options.idleTimeout().toNanos();
                if (stale) {
                    old.add(s);
                }
                return stale;
            });
            expired += old.size();
        }
        old.forEach(SandboxPool::closeQuietly);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the pool is closed");
        }
    }

    /**
     * What the pool holds now.
     *
     * @return the counts at this moment
     */
    public Stats stats() {
        synchronized (lock) {
            return new Stats(idle.size(), busy.size(), created, expired, discarded, runs);
        }
    }

    /** Every sandbox it holds now, idle or busy (tests). */
    List<PooledSandbox> sandboxes() {
        synchronized (lock) {
            List<PooledSandbox> all = new ArrayList<>(idle);
            all.addAll(busy);
            return all;
        }
    }

    /**
     * The options it was made with.
     *
     * @return the options
     */
    public Options options() {
        return options;
    }

    /**
     * Ends every run still going (it ends {@link Outcome.Status#SIGNALED} by {@code SIGKILL}) and
     * removes every sandbox of the pool: its processes, mounts and cgroups; waits until they are
     * gone. Idempotent.
     *
     * @throws UncheckedIOException wrapping a {@link SandboxException} if a cgroup cannot be removed
     */
    @Override
    public void close() {
        List<PooledSandbox> all;
        synchronized (lock) {
            closed = true;
            all = new ArrayList<>(idle);
            all.addAll(busy);
            idle.clear();
            busy.clear();
            lock.notifyAll();
        }
        sweeper.cancel(false);
        IOException failure = null;
        for (PooledSandbox s : all) {
            try {
                s.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw new UncheckedIOException(new SandboxException("cannot remove a pooled sandbox's cgroup: " + failure.getMessage(), failure));
        }
    }

    /**
     * The pool's sandboxes ({@link SandboxPool#stats()}): counts now, and totals since the pool was made.
     *
     * @param idle set up and waiting for a run
     * @param busy serving a run
     * @param created set up since the pool was made (the first ones included)
     * @param expired closed after {@link Options#idleTimeout()} without a run
     * @param discarded closed after a run because something of it was left or its init was gone, or
     *     before a run because a source it bound was replaced on the host (never reused)
     * @param runs runs started
     */
    public record Stats(int idle, int busy, long created, long expired, long discarded, long runs) {}

    /** How many sandboxes a pool keeps and for how long: immutable; built by {@link #builder()}. */
    public static final class Options {
        private final int size;
        private final Duration idleTimeout;
        private final ByteSize workSize;

        private Options(Builder b) {
            this.size = b.size;
            this.idleTimeout = b.idleTimeout;
            this.workSize = b.workSize;
        }

        /**
         * A builder with the defaults: 1 sandbox, 60 s idle timeout, a 256 MB work directory.
         *
         * @return a new builder
         */
        public static Builder builder() {
            return new Builder();
        }

        /**
         * How many sandboxes the pool holds at most (all set up when it is made), so how many runs go on at once.
         *
         * @return the number of sandboxes
         */
        public int size() {
            return size;
        }

        /**
         * How long a sandbox may stay idle before it is closed.
         *
         * @return the idle timeout
         */
        public Duration idleTimeout() {
            return idleTimeout;
        }

        /**
         * The size of each run's {@value SandboxSession#WORK_DIR} tmpfs.
         *
         * @return the work directory's size
         */
        public ByteSize workSize() {
            return workSize;
        }

        @Override
        public String toString() {
            return "SandboxPool.Options{size=" + size + ", idleTimeout=" + idleTimeout + ", workSize=" + workSize + "}";
        }

        /** Builds {@link Options}; not thread-safe. */
        public static final class Builder {
            private int size = 1;
            private Duration idleTimeout = Duration.ofSeconds(60);
            private ByteSize workSize = ByteSize.mb(256);

            private Builder() {}

            /**
             * 1 to 1024 sandboxes (default 1).
             *
             * @param size the number of sandboxes
             * @return this builder
             * @throws IllegalArgumentException outside 1 to 1024
             */
            public Builder size(int size) {
                if (size < 1 || size > 1024) {
                    throw new IllegalArgumentException("size must be 1 to 1024, was " + size);
                }
                this.size = size;
                return this;
            }

            /**
             * At least 10 ms (default 60 s).
             *
             * @param timeout how long a sandbox may stay idle
             * @return this builder
             */
            public Builder idleTimeout(Duration timeout) {
                Objects.requireNonNull(timeout, "idleTimeout");
                if (timeout.toMillis() < 10) {
                    throw new IllegalArgumentException("idleTimeout must be at least 10 ms, was " + timeout);
                }
                this.idleTimeout = timeout;
                return this;
            }

            /**
             * At least 4 KiB (default 256 MB).
             *
             * @param size the size of each run's {@code /box} tmpfs
             * @return this builder
             */
            public Builder workSize(ByteSize size) {
                this.workSize = Sandbox.Builder.tmpfsSize(size, "workSize");
                return this;
            }

            /**
             * The options.
             *
             * @return the options set on this builder
             */
            public Options build() {
                return new Options(this);
            }
        }
    }
}
