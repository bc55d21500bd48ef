package dev.isolation.core;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.Step;
import dev.isolation.core.internal.linux.Kernel;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * Compiles a {@link Sandbox} and the host's facts into the helper's plans: ordered lists of typed
 * {@link Step}s, which the helper executes in the order listed (nsjail's {@code containProc}
 * order). Every decision is made here, none in C: which steps, in which order, and what the
 * monitor must do (kill rules, signals the init forwards, the seccomp mode, the securebits, where
 * the program is looked for). Reads nothing of the host but what {@link HostFacts} and {@link
 * Placement} say, and the paths the policy names (bind sources, a rootfs).
 *
 * <p>The setup plan's order: the monitor's records (with a user namespace, the cgroups the
 * monitor puts the first process in); then the sandbox's first process's steps (ids, cgroups,
 * namespaces, mounts, hostname, loopback); then the program's steps (init,
 * rlimits, capabilities, ids, directory, no_new_privs, seccomp, exec). The exec plan carries only
 * the data of one run (command, environment, directory, where to find the program).
 */
final class PlanCompiler {
    /** The signals a sandbox's init forwards to its program: SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM. */
    static final long FORWARDED_SIGNALS = bits(1, 2, 3, 10, 12, 15);

    /** How long a sandbox's init may take to end everything (KillRule.INIT) before the monitor kills it outright: 1 s. */
    static final long INIT_KILL_GRACE_NANOS = 1_000_000_000L;

    private PlanCompiler() {}

    /**
     * What the plan depends on besides the policy: whether the JVM is root, its ids, the leased
     * host id of the sandbox (if any), the host's cgroup mount points (hidden from a sandbox
     * that sees the host's file system), and whether overlayfs mounts in a user namespace (an
     * image's root with userNs).
     */
    record HostFacts(boolean root, int uid, int gid, OptionalInt leasedId, List<Path> cgroupMounts, boolean overlayInUserNs) {
        /** The facts without {@code overlayInUserNs}: Linux 5.11+ mounts overlayfs in a user namespace. */
        HostFacts(boolean root, int uid, int gid, OptionalInt leasedId, List<Path> cgroupMounts) {
            this(root, uid, gid, leasedId, cgroupMounts, KernelVersion.atLeast(5, 11));
        }

        static HostFacts of(Sandbox s, OptionalInt leasedId) {
            Kernel k = Kernel.get();
            boolean hostTree = s.namespaces().contains(Sandbox.Namespace.MOUNT) && !s.newRoot();
            return new HostFacts(k.getuid() == 0, k.getuid(), k.getgid(), leasedId,
                    hostTree ? CgroupMounts.toHide(CgroupMounts.mountPoints()) : List.of());
        }

        /** The facts of a plan that mounts nothing of the host's (a run in a persistent sandbox). */
        static HostFacts withoutMounts(OptionalInt leasedId) {
            Kernel k = Kernel.get();
            return new HostFacts(k.getuid() == 0, k.getuid(), k.getgid(), leasedId, List.of());
        }
    }

    /**
     * Where the sandbox's first process is placed and what its monitor does with the cgroup:
     * created in {@code cloneInto} (clone3 CLONE_INTO_CGROUP), else joining {@code procsFiles};
     * {@code teardown} the records of the cgroup library's Teardown, run if the JVM dies (one of
     * {@link Step.TeardownKill}, {@link Step.TeardownFreezer}, {@link Step.TeardownProcs}, {@link
     * Step.TeardownRemove} each); plus the CPU counter and output relays that watch it.
     */
    record Placement(Optional<String> cloneInto, List<String> procsFiles, List<Step> teardown, Optional<Step.CpuCounter> cpuCounter,
            List<Step.OutputRelay> relays) {
        static final Placement NONE = new Placement(Optional.empty(), List.of(), List.of(), Optional.empty(), List.of());

        Placement {
            procsFiles = List.copyOf(procsFiles);
            teardown = List.copyOf(teardown);
            relays = List.copyOf(relays);
            for (Step t : teardown) {
                if (!(t instanceof Step.TeardownKill || t instanceof Step.TeardownFreezer || t instanceof Step.TeardownProcs
                        || t instanceof Step.TeardownRemove)) {
                    throw new IllegalArgumentException("not a teardown record: " + t);
                }
            }
        }

        /** This placement's teardown, then {@code more} (a session's cgroup after its keeper's leaf: removed in that order). */
        Placement withTeardown(List<Step> more) {
            List<Step> all = new ArrayList<>(teardown);
            all.addAll(more);
            return new Placement(cloneInto, procsFiles, all, cpuCounter, relays);
        }

        Placement withCpuCounter(Optional<Step.CpuCounter> counter) {
            return new Placement(cloneInto, procsFiles, teardown, counter, relays);
        }

        Placement withRelays(List<Step.OutputRelay> more) {
            return new Placement(cloneInto, procsFiles, teardown, cpuCounter, more);
        }
    }

    /** A fresh sandbox: new namespaces, set up, then its program. {@code storageCap}: see {@link FilesystemPlan#append}. */
    static LaunchPlan fresh(Sandbox s, HostFacts host, Placement placement, Optional<ByteSize> storageCap)
            throws UnsupportedHostException {
        LaunchPlan plan = new LaunchPlan();
        monitor(plan, s, placement);
        host.leasedId().ifPresent(plan::sweepUid); // the sandbox's processes may run as it: nothing else may
        boolean userNs = s.namespaces().contains(Sandbox.Namespace.USER);
        if (userNs) {
            String uids = s.uidMap().isEmpty() ? "0 " + (host.root() ? leasedId(host) : host.uid()) + " 1\n"
                    : s.uidMap().stream().map(Sandbox.IdRange::toString).collect(Collectors.joining());
            String gids = s.gidMap().isEmpty() ? "0 " + (host.root() ? leasedId(host) : host.gid()) + " 1\n"
                    : s.gidMap().stream().map(Sandbox.IdRange::toString).collect(Collectors.joining());
            plan.setgroupsDeny().uidMap(uids).gidMap(gids).userNamespaceIds(0, 0);
            // born in its user namespace, the child is no longer the host's root (nor the JVM's
            // user) to the cgroup files: it may not join them itself (EACCES on v1, and on v2 outside
            // a subtree delegated to the namespace's owner). The monitor puts it there before its first step.
            placement.procsFiles().forEach(plan::placeInCgroup);
        } else {
            placement.procsFiles().forEach(plan::joinCgroup);
        }
        if (s.namespaces().contains(Sandbox.Namespace.CGROUP)) {
            plan.cgroupNamespace();
        }
        if (s.namespaces().contains(Sandbox.Namespace.MOUNT)) {
            plan.makeRootPrivate();
            if (s.newRoot()) {
                Sandbox.Ids owner = programIds(s, host).orElse(userNs ? new Sandbox.Ids(0, 0) : new Sandbox.Ids(host.uid(), host.gid()));
                if (s.image().isPresent() && userNs && !host.overlayInUserNs()) {
                    throw new UnsupportedHostException("image(" + s.image().get().reference() + ") in a user namespace needs overlayfs"
                            + " there, which Linux supports since 5.11 (this is " + System.getProperty("os.version") + "): run the JVM"
                            + " as root (without userNs), or on a newer kernel");
                }
                Optional<FilesystemPlan.ImageRoot> imageRoot = s.image().map(i -> new FilesystemPlan.ImageRoot(i.layerDirectories(),
                        i.keepsSetuid(), userNs));
                FilesystemPlan.append(plan, s.rootfs(), imageRoot, s.binds(), s.tmpfsMounts(), s.noexec(), s.tmpSize(), storageCap,
                        s.namespaces().contains(Sandbox.Namespace.PID), owner.uid(), owner.gid());
                plan.pivotRoot();
            } else {
                // the host's file system stays visible: not its cgroup file systems (a program able
                // to write there could leave its cgroup)
                for (Path dir : host.cgroupMounts()) {
                    plan.mount(LaunchPlan.MountKind.DIR, LaunchPlan.MS_RDONLY | LaunchPlan.MS_NOSUID | LaunchPlan.MS_NODEV
                            | LaunchPlan.MS_NOEXEC, "isolation-tmpfs", dir.toString(), "tmpfs", "mode=0555,size=4k",
                            "\"tmpfs\" -> \"" + dir + "\" (read-only, hides the cgroup file system)");
                }
                if (s.namespaces().contains(Sandbox.Namespace.PID)) {
                    plan.mountProc();
                }
            }
        }
        s.hostname().ifPresent(plan::hostname);
        if (s.namespaces().contains(Sandbox.Namespace.NETWORK)) {
            plan.loopbackUp();
        }
        return plan;
    }

    /** {@link #fresh} then the program's steps. */
    static LaunchPlan freshWithProgram(Sandbox s, HostFacts host, Placement placement, Optional<ByteSize> storageCap)
            throws UnsupportedHostException {
        LaunchPlan plan = fresh(s, host, placement, storageCap);
        boolean init = s.namespaces().contains(Sandbox.Namespace.PID);
        program(plan, s, host, init);
        return initOrSession(plan, init);
    }

    /**
     * A persistent sandbox's keeper: {@link #fresh}'s setup, then a PID 1 that runs no program
     * (the program's steps follow, never reached: the monitor reads the init and limits from them).
     */
    static LaunchPlan sessionKeeper(Sandbox layout, HostFacts host, Placement placement) throws UnsupportedHostException {
        LaunchPlan plan = fresh(layout, host, placement, Optional.empty()); // sized by open(workSize) and tmpSize alone
        plan.session();
        boolean init = layout.namespaces().contains(Sandbox.Namespace.PID);
        program(plan, layout, host, init);
        return initOrSession(plan, init);
    }

    /**
     * A run in a persistent sandbox whose keeper is {@code keeperPid}, started at {@code keeperStart}
     * ({@code /proc/PID/stat}'s 22nd field, so that the helper never joins a process that reused
     * the pid): it enters the session's
     * namespaces, gets a cgroup namespace and mounts of its own, and its init forks the program
     * inside the session's pid namespace.
     */
    static LaunchPlan sessionRun(Sandbox layout, Sandbox run, int keeperPid, long keeperStart, HostFacts host, Placement placement,
            boolean persistentWorkDir, boolean resetWorkDir) throws UnsupportedHostException {
        LaunchPlan plan = new LaunchPlan().cloneFlags(0).setupTimeout(run.setupTimeout().toNanos()).runEnd(true);
        placement.cloneInto().ifPresent(plan::cloneIntoCgroup);
        placement.teardown().forEach(plan::add);
        placement.cpuCounter().ifPresent(plan::add);
        placement.relays().forEach(plan::add);
        run.wallTimeLimit().ifPresent(w -> plan.wallLimit(w.toNanos()));
        boolean userNs = layout.namespaces().contains(Sandbox.Namespace.USER);
        // no ids to take before the join: this process is in the JVM's user namespace, with the JVM's ids
        placement.procsFiles().forEach(plan::joinCgroup);
        plan.join(keeperPid, keeperStart, layout.cloneFlags());
        if (userNs) {
            plan.userNamespaceIds(0, 0); // the ids of the session's user namespace, once in it
        }
        if (layout.namespaces().contains(Sandbox.Namespace.CGROUP)) {
            plan.cgroupNamespace(); // of its own, rooted at the run's cgroup
        }
        layout.appendRunMounts(plan, persistentWorkDir, resetWorkDir);
        program(plan, run, host, true); // the init forks the program inside the session's pid namespace, waits for it
        // the program alone: its reaper (this run's init) then kills what it left; killing the
        // reaper first would hand that to the session's init
        return plan.killRule(LaunchPlan.KillRule.PROGRAM, 0);
    }

    /**
     * A pooled sandbox's keeper: {@link #fresh}'s setup, with its monitor listening on {@code
     * socket} first; then its first process becomes the pooled sandbox's init, which forks each run
     * inside the sandbox's namespaces and cgroup (the program's steps follow, never reached: the
     * monitor reads the init from them, and ends the sandbox through it).
     */
    static LaunchPlan poolKeeper(Sandbox layout, HostFacts host, Placement placement, String socket) throws UnsupportedHostException {
        LaunchPlan plan = fresh(layout, host, placement, Optional.empty());
        plan.poolListen(socket).poolInit();
        program(plan, layout, host, true);
        return initOrSession(plan, true); // the pooled sandbox ends through its init
    }

    /**
     * A run in the pooled sandbox whose keeper listens on {@code socket}: no namespaces of its own
     * to create and no cgroup to join (the sandbox's init forks it where it is, or, with {@code
     * placement}'s cloneInto, into the run's own cgroup2 directory, which the run's monitor removes
     * with {@code placement}'s teardown if the JVM dies); its own IPC namespace (if the
     * layout has one), its own mount namespace with fresh tmpfs mounts at {@value
     * SandboxSession#WORK_DIR}, {@code /tmp}, {@code /dev/shm} and the layout's other tmpfs mounts,
     * then the program's steps without an init (the pooled sandbox's init reaps the run).
     */
    static LaunchPlan poolRun(Sandbox layout, Sandbox run, HostFacts host, Placement placement, String socket)
            throws UnsupportedHostException {
        if (!placement.procsFiles().isEmpty()) {
            throw new IllegalArgumentException("a pooled run is forked by its sandbox's init: it can be created in a cgroup2"
                    + " directory (cloneInto), never join one (" + placement.procsFiles() + ")");
        }
        LaunchPlan plan = new LaunchPlan().cloneFlags(0).setupTimeout(run.setupTimeout().toNanos()).runEnd(true).poolRun(socket);
        placement.cloneInto().ifPresent(plan::cloneIntoCgroup);
        placement.teardown().forEach(plan::add);
        placement.cpuCounter().ifPresent(plan::add);
        run.wallTimeLimit().ifPresent(w -> plan.wallLimit(w.toNanos()));
        if (layout.namespaces().contains(Sandbox.Namespace.IPC)) {
            plan.unshare(LaunchPlan.CLONE_NEWIPC);
        }
        layout.appendRunMounts(plan, false, false);
        program(plan, run, host, false);
        return plan.killRule(LaunchPlan.KillRule.POOL, 0); // the pooled sandbox's init kills the run and reaps it
    }

    /**
     * Whom the monitor of a sandbox of its own signals: with an {@code init} (PID 1 of its pid
     * namespace) that init, which ends and reaps everything, given {@link #INIT_KILL_GRACE_NANOS};
     * else the first process's session (the monitor, a subreaper, kills the rest).
     */
    private static LaunchPlan initOrSession(LaunchPlan plan, boolean init) {
        return init ? plan.killRule(LaunchPlan.KillRule.INIT, INIT_KILL_GRACE_NANOS) : plan.killRule(LaunchPlan.KillRule.SESSION, 0);
    }

    /** The monitor's records: namespaces, setup deadline, cgroup, limits, relays, and what ends the run. */
    private static void monitor(LaunchPlan plan, Sandbox s, Placement placement) {
        plan.cloneFlags(s.cloneFlags()).setupTimeout(s.setupTimeout().toNanos()).runEnd(true);
        placement.cloneInto().ifPresent(plan::cloneIntoCgroup);
        placement.teardown().forEach(plan::add);
        placement.cpuCounter().ifPresent(plan::add);
        placement.relays().forEach(plan::add);
        s.wallTimeLimit().ifPresent(w -> plan.wallLimit(w.toNanos()));
    }

    /**
     * The steps of the program's own process: init (with {@code init}), rlimits, capabilities,
     * identity, directory, no_new_privs, seccomp, exec.
     */
    static void program(LaunchPlan plan, Sandbox s, HostFacts host, boolean init) throws UnsupportedHostException {
        boolean userNs = s.namespaces().contains(Sandbox.Namespace.USER);
        if (init) {
            plan.init(FORWARDED_SIGNALS, true); // nothing outlives the program
        }
        Map<Rlimit, long[]> rlimits = s.rlimits();
        for (Map.Entry<Rlimit, long[]> r : rlimits.entrySet()) {
            plan.rlimit(r.getKey().resource, r.getValue()[0], r.getValue()[1]);
        }
        if (!rlimits.containsKey(Rlimit.CORE)) {
            plan.rlimit(Rlimit.CORE.resource, 0, 0);
        }
        if (s.outputLimit().isPresent() && !rlimits.containsKey(Rlimit.FSIZE)) { // the output limit of file redirects
            plan.rlimit(Rlimit.FSIZE.resource, s.outputLimit().get().bytes(), s.outputLimit().get().bytes());
        }
        if (s.cpuTimeLimit().isPresent() && !rlimits.containsKey(Rlimit.CPU)) {
            // a backstop per process; the monitor enforces the limit on the whole sandbox
            long seconds = (s.cpuTimeLimit().get().toMillis() + 999) / 1000 + 1;
            plan.rlimit(Rlimit.CPU.resource, seconds, seconds + 1);
        }
        boolean capabilities = host.root() || userNs; // only then are there capabilities to drop, and the right to drop them
        long keep = 0;
        for (String cap : s.keptCapabilities()) {
            keep |= 1L << Capabilities.number(cap);
        }
        if (capabilities) {
            plan.capabilities(keep, securebits(keep));
        }
        programIds(s, host).ifPresent(i -> plan.runAs(i.uid(), i.gid(), !userNs));
        if (capabilities) {
            plan.setCapabilities();
        }
        plan.enterWorkingDirectory().noNewPrivs();
        SeccompPolicy seccomp = s.seccomp();
        if (!seccomp.isNone() && seccomp.allows("sendmsg")) {
            // kills carried out by the monitor, which names the call; the listener travels by sendmsg
            plan.seccomp(LaunchPlan.SeccompMode.MONITOR_KILLS, seccomp.compileForMonitor());
        } else if (!seccomp.isNone()) {
            plan.seccomp(LaunchPlan.SeccompMode.KERNEL_KILLS, seccomp.compile()); // RESTRICTED_SYSCALL without the call's name
        }
        plan.exec();
    }

    /**
     * Securebits locked so that uid 0 never regains capabilities on exec and setuid changes never
     * fix them up; with capabilities kept, they survive the change of ids (KEEP_CAPS, cleared on
     * exec), else nothing may keep or raise any.
     */
    static long securebits(long keep) {
        long bits = LaunchPlan.SECBIT_NOROOT | LaunchPlan.SECBIT_NOROOT_LOCKED | LaunchPlan.SECBIT_NO_SETUID_FIXUP_LOCKED;
        return bits | (keep != 0 ? LaunchPlan.SECBIT_KEEP_CAPS
                : LaunchPlan.SECBIT_KEEP_CAPS_LOCKED | LaunchPlan.SECBIT_NO_CAP_AMBIENT_RAISE | LaunchPlan.SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED);
    }

    /**
     * The exec plan of one run: argv, environment, the program as named, the paths tried for it
     * (the command itself if it has a '/', else each directory of {@code PATH} in order, as
     * execvp does; an empty entry is the working directory) and the working directory.
     */
    static byte[] exec(List<String> command, Map<String, String> environment, File directory) {
        LaunchPlan plan = LaunchPlan.forExec();
        command.forEach(plan::arg);
        environment.forEach((k, v) -> plan.env(k + "=" + v));
        String file = command.get(0);
        plan.execFile(file);
        execPaths(file, environment.getOrDefault("PATH", Sandbox.DEFAULT_PATH)).forEach(plan::execPath);
        if (directory != null) {
            plan.workingDirectory(directory.getPath());
        }
        return plan.encode();
    }

    static List<String> execPaths(String file, String path) {
        if (file.contains("/")) {
            return List.of(file);
        }
        List<String> out = new ArrayList<>();
        for (String dir : path.split(":", -1)) {
            out.add(dir.isEmpty() ? file : dir + "/" + file);
        }
        return out;
    }

    /**
     * Who the program runs as: inside a user namespace its root unless told; a root JVM's program
     * as its sandbox's leased id unless told; an ordinary JVM's program as the JVM's user.
     */
    private static Optional<Sandbox.Ids> programIds(Sandbox s, HostFacts host) {
        return s.runAs().isPresent() ? s.runAs()
                : host.root() && !s.namespaces().contains(Sandbox.Namespace.USER)
                        ? Optional.of(new Sandbox.Ids(leasedId(host), leasedId(host)))
                        : Optional.empty();
    }

    private static int leasedId(HostFacts host) {
        return host.leasedId().orElseThrow(() -> new IllegalStateException("no sandbox id was leased for a root JVM's sandbox"));
    }

    private static long bits(int... signals) {
        long mask = 0;
        for (int sig : signals) {
            mask |= 1L << sig;
        }
        return mask;
    }
}
