package dev.isolation.core;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLimits;
import dev.isolation.cgroups.CgroupUnavailableException;
import dev.isolation.cgroups.SandboxCgroup;
import dev.isolation.cgroups.Teardown;
import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.Capture;
import dev.isolation.core.internal.launch.HelperProcess;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.Kernel.FileAction;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.time.Duration;

/**
 * Starts programs in sandboxes: each start spawns the monitor of a sandbox set up for that start
 * alone. Nothing is prepared ahead of a start the caller did not ask for; prepared sandboxes are
 * the caller's explicit, closeable {@link SandboxPool}.
 */
final class Launcher {
    private static final Kernel K = Kernel.get();
    /** What {@link Sandbox#run} keeps of a stream without an output limit (and within {@link Capture#budget()}). */
    private static final long DEFAULT_CAPTURE = 64L << 20;

    /** A spawned monitor, its sandbox set up and waiting for its exec plan. */
    private record Launched(HelperProcess helper, Stdio stdio, Optional<SandboxCgroup> cgroup, Optional<SharedCgroup> shared) {}

    private Launcher() {}

    /** Starts the program of {@code r}: the one path of every start. */
    static IsolatedProcess start(LaunchRequest r) throws SandboxException {
        if (r.capture()) {
            Capture.budget(); // a bad isolation.captureMemory fails here, before anything exists
        }
        Launched launched = launch(r);
        launched.helper.exec(r.execPlan());
        return started(r.policy(), launched, r.capture());
    }

    /**
     * A pooled run's monitor spawned ahead of the run, set up and waiting for its exec plan (in
     * {@code POOL_RUN} mode the monitor reads it before it reaches the pooled sandbox, and no
     * deadline runs until then), with the standard streams of the {@link ProcessBuilder} it was
     * prepared for. See {@link PooledSandbox#prepareNext}.
     */
    static final class Prepared {
        private final Launched entry;
        private final String stdio;

        private Prepared(Launched entry, String stdio) {
            this.entry = entry;
            this.stdio = stdio;
        }

        /** Whether it can serve {@code pb}: the same redirects as the one it was prepared for. */
        boolean fits(ProcessBuilder pb) {
            return stdio.equals(Stdio.signature(pb));
        }

        /** Ends its monitor (which never reached the sandbox) and closes its streams. */
        void discard() {
            Launcher.discard(entry);
        }
    }

    /** Spawns the monitor of the pooled run {@code r} now; {@link #start(Prepared, LaunchRequest)} gives it its program. */
    static Prepared prepare(LaunchRequest r) throws SandboxException {
        if (r.session().isEmpty()) {
            throw new IllegalArgumentException("only a pooled run is prepared ahead");
        }
        return new Prepared(launch(r), Stdio.signature(r.pb()));
    }

    /** Starts {@code r}'s program with the monitor {@code p} prepared for it ({@code r}'s setup is the one it was prepared with). */
    static IsolatedProcess start(Prepared p, LaunchRequest r) throws SandboxException {
        if (r.capture()) {
            Capture.budget();
        }
        p.entry.helper.exec(r.execPlan());
        return started(r.policy(), p.entry, r.capture());
    }

    private static IsolatedProcess started(Sandbox sandbox, Launched entry, boolean capture) throws SandboxException {
        try {
            entry.helper.awaitStarted();
        } catch (NativeCallException e) {
            entry.stdio.closeParentEnds();
            closeCgroup(entry.cgroup, e);
            throw HostDiagnostics.explain(e, sandbox);
        }
        Stdio stdio = entry.stdio;
        try {
            if (capture) {
                long limit = sandbox.outputLimit().map(ByteSize::bytes).orElse(DEFAULT_CAPTURE);
                return new IsolatedProcess(entry.helper, entry.cgroup, entry.shared, stdio.stdin(), InputStream.nullInputStream(),
                        InputStream.nullInputStream(), stdio.capture(1, limit, entry.helper), stdio.capture(2, limit, entry.helper),
                        sandbox);
            }
            return new IsolatedProcess(entry.helper, entry.cgroup, entry.shared, stdio.stdin(), stdio.stdout(), stdio.stderr(),
                    Optional.empty(), Optional.empty(), sandbox);
        } catch (IOException e) {
            entry.helper.closeFds(); // kills the sandbox; the monitor removes its cgroup
            throw new SandboxException("cannot open the sandbox's standard streams: " + e.getMessage(), e);
        } finally {
            stdio.closeParentEnds(); // the streams hold descriptors of their own
        }
    }

    /**
     * Spawns the monitor of {@code r}'s sandbox, set up and waiting for its exec plan. A fresh
     * sandbox leases its ids (the monitor holds the lease from here on); a run in a persistent
     * sandbox runs as the session's ids, leased by its keeper, and always gets a cgroup of its own
     * in the session's (without limits if the policy has none), so that whatever the run leaves
     * charged behind is the session's. A pooled run gets one in its pooled sandbox's cgroup where
     * the sandbox's init can create it there ({@link PooledSandbox#freshRunCgroups}: cgroup v2),
     * else it runs in the sandbox's cgroup itself, read through {@link SharedCgroup}.
     */
    private static Launched launch(LaunchRequest r) throws SandboxException {
        Sandbox sandbox = r.policy();
        Stdio stdio = new Stdio();
        Optional<SandboxIds.Lease> ids = Optional.empty();
        try {
            if (r.connection().isPresent()) {
                stdio.connect(r.connection().get(), r.pb());
            } else {
                stdio.prepare(r.pb());
            }
            if (r.session().isPresent()) {
                LaunchRequest.InSession in = r.session().get();
                return launch(sandbox, in.setup(), ids, stdio, in.outer(), in.shared());
            }
            ids = sandbox.leaseIds(false);
            Optional<SandboxIds.Lease> leased = ids;
            // may compile the seccomp filter, once per policy
            return launch(sandbox, placement -> sandbox.setupPlan(leased, placement), ids, stdio, Optional.empty(), Optional.empty());
        } catch (NativeCallException e) {
            stdio.closeParentEnds();
            throw new SandboxSetupException(e);
        } catch (SandboxException | RuntimeException e) {
            stdio.closeParentEnds();
            throw e;
        } finally {
            ids.ifPresent(SandboxIds.Lease::close); // unless the monitor holds it now
        }
    }

    /** Compiles the setup plan once the sandbox's cgroup exists: {@code placement} says where it is. */
    interface SetupCompiler {
        LaunchPlan compile(PlanCompiler.Placement placement) throws UnsupportedHostException;
    }

    /** Spawns the monitor; it inherits the lease of {@code ids}, which the caller closes after. */
    private static Launched launch(Sandbox sandbox, SetupCompiler compiler, Optional<SandboxIds.Lease> ids, Stdio stdio,
            Optional<SandboxCgroup> outer, Optional<SharedCgroup> shared) throws SandboxException {
        Optional<SandboxCgroup> cgroup;
        try {
            cgroup = shared.isPresent() ? Optional.empty() // a pooled run in its sandbox's cgroup, which it does not own
                    : outer.isPresent()
                    ? Optional.of(createCgroup(sandbox.cgroupLimits().orElse(CgroupLimits.none()), Optional.empty(), outer))
                    : createCgroup(sandbox);
        } catch (SandboxException | RuntimeException e) {
            stdio.closeParentEnds();
            throw e;
        }
        try { // from here on, whatever fails must remove the cgroup and close the descriptors
            // a pooled run's counter runs on from its sandbox's baseline
            Optional<Step.CpuCounter> cpu = shared.isPresent()
                    ? sandbox.cpuTimeLimit().flatMap(limit -> cpuCounter(shared.get().cgroup(), limit.plus(shared.get().baseline().cpuTotal())))
                    : cgroup.flatMap(cg -> sandbox.cpuTimeLimit().flatMap(limit -> cpuCounter(cg, limit)));
            List<Step.OutputRelay> relays = sandbox.outputLimit().map(limit -> stdio.relays(limit.bytes())).orElse(List.of());
            LaunchPlan setup = compiler.compile(placement(cgroup).withCpuCounter(cpu).withRelays(relays));
            HelperProcess helper = HelperProcess.spawn(setup.encode(), stdio.actions,
                    ids.map(l -> OptionalInt.of(l.fd())).orElse(OptionalInt.empty()));
            ids.ifPresent(l -> l.handedOver(helper));
            return new Launched(helper, stdio, cgroup, shared);
        } catch (NativeCallException e) {
            stdio.closeParentEnds();
            closeCgroup(cgroup, e);
            throw new SandboxSetupException(e);
        } catch (SandboxException | RuntimeException e) {
            stdio.closeParentEnds();
            closeCgroup(cgroup, e);
            throw e;
        } finally {
            stdio.closeChildEnds();
        }
    }

    /**
     * The monitor's CPU counter of {@code cg} (as the cgroup library names it), killing the sandbox
     * once it reaches {@code limit}; without a counter the RLIMIT_CPU backstop is all there is.
     */
    static Optional<Step.CpuCounter> cpuCounter(SandboxCgroup cg, Duration limit) {
        return cg.cpuCounter().map(c -> new Step.CpuCounter(limit.toNanos(), c.nanosPerUnit(), c.file().toString(),
                c.key().orElse("")));
    }

    /** The records that let the monitor kill what is in {@code cg} and remove it, as {@code cg.close()} would, if the JVM dies. */
    static List<Step> teardownOnJvmDeath(SandboxCgroup cg) {
        Teardown t = cg.teardown();
        List<Step> out = new ArrayList<>();
        t.killFile().ifPresent(f -> out.add(new Step.TeardownKill(f.toString())));
        t.freezers().forEach(f -> out.add(new Step.TeardownFreezer(f.file().toString(), f.freezeValue(), f.thawValue())));
        t.procsFiles().forEach(f -> out.add(new Step.TeardownProcs(f.toString())));
        t.directories().forEach(d -> out.add(new Step.TeardownRemove(d.toString())));
        return List.copyOf(out);
    }

    /**
     * Where the sandbox's first process goes: created in {@code cg} (clone3 {@code
     * CLONE_INTO_CGROUP} on cgroup v2 with Linux 5.7+), else it joins each hierarchy; the monitor
     * kills what is in it and removes it if the JVM dies ({@link #teardownOnJvmDeath}).
     */
    static PlanCompiler.Placement placement(Optional<SandboxCgroup> cgroup) {
        if (cgroup.isEmpty()) {
            return PlanCompiler.Placement.NONE;
        }
        SandboxCgroup cg = cgroup.get();
        Optional<Path> unified = cg.unifiedDirectory();
        boolean cloneInto = unified.isPresent() && KernelVersion.atLeast(5, 7);
        return new PlanCompiler.Placement(cloneInto ? unified.map(Path::toString) : Optional.empty(),
                cloneInto ? List.of() : cg.procsFiles().stream().map(Path::toString).toList(),
                teardownOnJvmDeath(cg), Optional.empty(), List.of());
    }

    private static Optional<SandboxCgroup> createCgroup(Sandbox sandbox) throws SandboxException {
        if (sandbox.cgroupLimits().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(createCgroup(sandbox.cgroupLimits().get(), sandbox.cgroupParent(), Optional.empty()));
    }

    /** A cgroup with {@code limits}: nested in {@code outer} if present, else under {@code parent} or the default parent. */
    static SandboxCgroup createCgroup(CgroupLimits limits, Optional<Path> parent, Optional<SandboxCgroup> outer)
            throws SandboxException {
        try {
            CgroupHost host = Cgroups.host();
            return outer.isPresent() ? host.create(limits, outer.get())
                    : parent.isPresent() ? host.create(limits, parent.get()) : host.create(limits);
        } catch (CgroupUnavailableException e) {
            throw new UnsupportedHostException(e.getMessage(), e);
        } catch (IOException e) {
            throw new SandboxException(e.getMessage(), e);
        }
    }

    private static void closeCgroup(Optional<SandboxCgroup> cgroup, Throwable failure) {
        cgroup.ifPresent(cg -> {
            try {
                cg.close();
            } catch (IOException e) {
                failure.addSuppressed(e);
            }
        });
    }

    private static void discard(Launched launched) {
        launched.stdio.closeParentEnds();
        launched.helper.discard();
        closeCgroup(launched.cgroup, new SandboxException("discarding a pooled run's monitor prepared ahead"));
    }

    /** The three standard streams: what the helper's child gets, and what the JVM keeps. */
    static final class Stdio {
        final List<FileAction> actions = new ArrayList<>();
        private final int[] parentEnds = {-1, -1, -1};
        private final List<Integer> childEnds = new ArrayList<>();
        private boolean errorIntoOutput;
        /** Standard output goes to another sandbox, the other side of an {@link Interaction}. */
        boolean outputReadByASandbox;

        /** The redirects of {@code pb}: a monitor prepared ahead serves a {@link ProcessBuilder} with the same. */
        static String signature(ProcessBuilder pb) {
            return pb.redirectInput() + "|" + pb.redirectOutput() + "|" + pb.redirectError() + "|" + pb.redirectErrorStream();
        }

        /** Standard input and output from the connection's descriptors; standard error as {@code pb} says. */
        void connect(LaunchRequest.Connection c, ProcessBuilder pb) throws SandboxException {
            actions.add(new FileAction.Dup2(c.stdinFd(), 0));
            actions.add(new FileAction.Dup2(c.stdoutFd(), 1));
            outputReadByASandbox = true;
            if (pb.redirectErrorStream()) {
                mergeErrorIntoOutput();
            } else {
                redirect(2, pb.redirectError());
            }
        }

        void prepare(ProcessBuilder pb) throws SandboxException {
            redirect(0, pb.redirectInput());
            redirect(1, pb.redirectOutput());
            if (pb.redirectErrorStream()) {
                mergeErrorIntoOutput();
            } else {
                redirect(2, pb.redirectError());
            }
        }

        void mergeErrorIntoOutput() {
            actions.add(new FileAction.Dup2(1, 2));
            errorIntoOutput = true;
        }

        /**
         * The output limit of the streams the JVM does not read itself (inherited, a file, a
         * FIFO, a terminal, a socket): the monitor relays them, counting, unless the helper finds
         * a regular file, which RLIMIT_FSIZE limits. Piped streams are counted by their reader
         * here ({@link Capture}, {@link LimitedInputStream}); an {@link Interaction}'s connection is
         * read by the other program, and a relay would make each exchange several times slower
         * (measured: 20000 round trips took 0.2 s direct, 0.6 to 3 s relayed, on 2 busy cores).
         */
        List<Step.OutputRelay> relays(long limit) {
            List<Step.OutputRelay> out = new ArrayList<>(2);
            if (parentEnds[1] < 0 && !outputReadByASandbox) {
                out.add(new Step.OutputRelay(1, errorIntoOutput, limit));
            }
            if (!errorIntoOutput && parentEnds[2] < 0) {
                out.add(new Step.OutputRelay(2, false, limit));
            }
            return out;
        }

        void redirect(int target, Redirect r) throws SandboxException {
            switch (r.type()) {
                case PIPE -> {
                    int[] p = K.pipe();
                    int child = target == 0 ? p[0] : p[1];
                    parentEnds[target] = target == 0 ? p[1] : p[0];
                    childEnds.add(child);
                    actions.add(new FileAction.Dup2(child, target));
                }
                case INHERIT -> {
                    // the JVM's own descriptor 0, 1 or 2 is inherited as it is
                }
                case READ -> {
                    File f = r.file();
                    // as ProcessBuilder: a file, a device such as /dev/null or a FIFO, never a directory
                    if (!f.exists() || f.isDirectory() || !f.canRead()) {
                        throw new SandboxSetupException(new NativeCallException("open", f.getPath(),
                                !f.exists() ? 2 : f.isDirectory() ? 21 : 13));
                    }
                    actions.add(new FileAction.Open(f.getPath(), target, Kernel.O_RDONLY, 0));
                }
                case WRITE, APPEND -> {
                    File f = r.file();
                    File parent = f.getAbsoluteFile().getParentFile();
                    if (f.isDirectory() || (parent != null && !parent.isDirectory())) {
                        throw new SandboxSetupException(new NativeCallException("open", f.getPath(), f.isDirectory() ? 21 : 2));
                    }
                    int append = r.type() == Redirect.Type.APPEND ? Kernel.O_APPEND : Kernel.O_TRUNC;
                    actions.add(new FileAction.Open(f.getPath(), target, Kernel.O_WRONLY | Kernel.O_CREAT | append, 0666));
                }
            }
        }

        void closeChildEnds() {
            childEnds.forEach(K::close);
            childEnds.clear();
        }

        void closeParentEnds() {
            closeChildEnds();
            for (int i = 0; i < 3; i++) {
                if (parentEnds[i] >= 0) {
                    K.close(parentEnds[i]);
                    parentEnds[i] = -1;
                }
            }
        }

        /*
         * The JVM's pipe ends become java.io streams by reopening them through /proc/self/fd, buffered
         * as Process's are (FileInputStream alone would try to seek the pipe in readAllBytes).
         */
        OutputStream stdin() throws IOException {
            return parentEnds[0] < 0 ? nullOutputStream() : new BufferedOutputStream(new FileOutputStream(reopen(0)));
        }

        /** ProcessBuilder's "null output stream" for an input not piped: a write fails with "Stream closed". */
        private static OutputStream nullOutputStream() throws IOException {
            OutputStream closed = OutputStream.nullOutputStream();
            closed.close();
            return closed;
        }

        InputStream stdout() throws IOException {
            return parentEnds[1] < 0 ? InputStream.nullInputStream() : new BufferedInputStream(new PipeInputStream(reopen(1)));
        }

        /** The monitor thread collects this pipe (1 or 2) instead of a stream; past the limit it kills the sandbox. */
        Optional<Capture> capture(int i, long limit, HelperProcess helper) {
            if (parentEnds[i] < 0) {
                return Optional.empty();
            }
            int fd = parentEnds[i];
            parentEnds[i] = -1; // the capture owns it now
            return Optional.of(Capture.start(fd, limit, helper::kill));
        }

        InputStream stderr() throws IOException {
            return parentEnds[2] < 0 ? InputStream.nullInputStream() : new BufferedInputStream(new PipeInputStream(reopen(2)));
        }

        /** A pipe cannot seek: skip() reads and discards, as the JDK's own process streams do. */
        private static final class PipeInputStream extends FileInputStream {
            PipeInputStream(String path) throws IOException {
                super(path);
            }

            @Override
            public long skip(long n) throws IOException {
                return LimitedInputStream.skipByReading(this, n);
            }
        }

        private String reopen(int i) {
            return "/proc/self/fd/" + parentEnds[i];
        }
    }
}
