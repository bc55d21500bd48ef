package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupBackend;
import dev.isolation.cgroups.internal.MountInfo;
import dev.isolation.cgroups.internal.ProcCgroup;
import dev.isolation.cgroups.internal.v1.V1Backend;
import dev.isolation.cgroups.internal.v2.V2Backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The cgroup hierarchies of this host as this process sees them, and the factory of
 * {@link SandboxCgroup}s. Immutable and thread-safe.
 *
 * <p>Detection reads {@code /proc/self/mountinfo} (mount point, fs type {@code cgroup} or
 * {@code cgroup2}, and the v1 controllers in the super options) and {@code /proc/self/cgroup}
 * (this process's cgroup in each hierarchy), and combines the mount's root (mountinfo field 4)
 * with the cgroup path, so non-standard mount points, bind-mounted subtrees and containers with a
 * cgroup namespace work. Each controller is routed to the hierarchy that has it: a v1 hierarchy
 * when one is bound to it, else cgroup2 when the cgroup2 root lists it in
 * {@code cgroup.controllers}.
 *
 * <p><b>Where sandboxes are created.</b> Sandbox cgroups are named
 * {@code isolation-<jvm pid>-<counter>}. By default:
 * <ul>
 *   <li>v1: a child of this process's own cgroup in each hierarchy.
 *   <li>v2 when no v2 controller is needed (hybrid hosts: v2 only tracks, freezes, kills): a
 *       child of this process's own cgroup.
 *   <li>v2 when controllers are needed and this process is in the (namespace) root {@code /}: a
 *       child of the root; the controllers must already be enabled in the root's
 *       {@code cgroup.subtree_control} (this library never writes that file of a cgroup it did
 *       not create).
 *   <li>v2 when controllers are needed otherwise: the no-internal-processes rule forbids
 *       enabling controllers below our own (populated) cgroup, so sandboxes go in a sibling
 *       subtree {@code <parent of own cgroup>/isolation}, which holds no processes; it is created
 *       on first use, the needed controllers are enabled in its {@code cgroup.subtree_control},
 *       and it is left in place for later sandboxes (it is empty between runs).
 * </ul>
 * {@link #create(CgroupLimits, Path)} takes an explicit parent instead, and
 * {@link #create(CgroupLimits, SandboxCgroup)} nests a sandbox cgroup in another (a persistent
 * sandbox's runs in the session's cgroup). A nested cgroup has the same name pattern; leftovers
 * are removed with what is nested in them.
 *
 * @implNote cgroup2 {@code cgroup.freeze} needs Linux 5.2, {@code cgroup.kill} 5.14,
 *     {@code memory.peak} 5.19, {@code pids.peak} about 6.1; each is used when its file exists.
 * @since 0.1.0
 */
public final class CgroupHost {
    private static final Pattern LEFTOVER = Pattern.compile("isolation-(\\d+)-\\d+");
    private static final AtomicBoolean LEFTOVERS_CLEANED = new AtomicBoolean();

    private final CgroupLayout layout;
    private final List<Hierarchy> hierarchies;
    private final Hierarchy unified;
    private final Map<CgroupController, Hierarchy> routes;
    private final OptionalLong pidMax = HostChecks.readPidMax();

    private CgroupHost(CgroupLayout layout, List<Hierarchy> hierarchies) {
        this.layout = layout;
        this.hierarchies = List.copyOf(hierarchies);
        this.unified = hierarchies.stream().filter(Hierarchy::unified).findFirst().orElse(null);
        Map<CgroupController, Hierarchy> r = new EnumMap<>(CgroupController.class);
        for (CgroupController c : CgroupController.values()) {
            // hybrid: a v1 hierarchy bound to the controller has it, else cgroup2 when its root lists it
            hierarchies.stream().filter(h -> !h.unified() && h.has(c)).findFirst()
                    .or(() -> Optional.ofNullable(unified).filter(h -> h.has(c)))
                    .ifPresent(h -> r.put(c, h));
        }
        this.routes = Collections.unmodifiableMap(r);
    }

    /**
     * Detects the hierarchies from {@code /proc/self/mountinfo} and {@code /proc/self/cgroup}.
     *
     * @return this host's cgroup hierarchies, with the JVM's own cgroup in each
     * @throws CgroupUnavailableException if no cgroup filesystem is mounted
     * @throws IOException if the files cannot be read
     */
    public static CgroupHost detect() throws IOException {
        return detect(Path.of("/proc/self/mountinfo"), Path.of("/proc/self/cgroup"));
    }

    /**
     * Detects the hierarchies from the given files (fixtures in tests). Mount points need not
     * exist; v2 controllers are read from {@code <mount point>/cgroup.controllers} when it does.
     *
     * @param mountinfo a file in the format of {@code /proc/self/mountinfo}
     * @param procSelfCgroup a file in the format of {@code /proc/self/cgroup}
     * @return the hierarchies the files describe
     * @throws CgroupUnavailableException if the files show no cgroup hierarchy
     * @throws IOException if the files cannot be read
     */
    public static CgroupHost detect(Path mountinfo, Path procSelfCgroup) throws IOException {
        List<MountInfo.Mount> mounts = MountInfo.cgroupMounts(mountinfo);
        List<ProcCgroup.Entry> entries = ProcCgroup.parse(procSelfCgroup);
        List<Hierarchy> hierarchies = new ArrayList<>();
        for (ProcCgroup.Entry e : entries) {
            Optional<MountInfo.Mount> mount = mounts.stream()
                    .filter(m -> e.isV2() ? m.isV2() : !m.isV2() && m.superOptions().containsAll(e.controllers()))
                    // Prefer a mount that shows our cgroup (root is a prefix of our path).
                    .sorted((a, b) -> Boolean.compare(!covers(a.root(), e.path()), !covers(b.root(), e.path())))
                    .findFirst();
            if (mount.isEmpty()) {
                continue;
            }
            MountInfo.Mount m = mount.get();
            CgroupBackend backend = m.isV2() ? V2Backend.INSTANCE : V1Backend.INSTANCE;
            hierarchies.add(new Hierarchy(backend, m.mountPoint(), m.root(), backend.controllersOf(m.mountPoint(), e.controllers()),
                    e.path()));
        }
        boolean hasV1 = hierarchies.stream().anyMatch(h -> h.version() == 1);
        boolean hasV2 = hierarchies.stream().anyMatch(h -> h.version() == 2);
        if (!hasV1 && !hasV2) {
            throw new CgroupUnavailableException("no cgroup filesystem is mounted for this process (" + mountinfo
                    + " lists no cgroup/cgroup2 mount matching " + procSelfCgroup
                    + "): mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)");
        }
        CgroupLayout layout = hasV1 && hasV2 ? CgroupLayout.HYBRID : hasV1 ? CgroupLayout.LEGACY : CgroupLayout.UNIFIED;
        return new CgroupHost(layout, hierarchies);
    }

    private static boolean covers(String root, String path) {
        return root.equals("/") || path.equals(root) || path.startsWith(root + "/");
    }

    /** This host's {@code /proc/sys/kernel/pid_max}, when readable. */
    OptionalLong pidMax() {
        return pidMax;
    }

    /** {@return the host layout} */
    public CgroupLayout layout() {
        return layout;
    }

    List<Hierarchy> hierarchies() {
        return hierarchies;
    }

    Optional<Hierarchy> unified() {
        return Optional.ofNullable(unified);
    }

    Optional<Hierarchy> route(CgroupController c) {
        return Optional.ofNullable(routes.get(c));
    }

    /**
     * Describes the layout, the hierarchies and each controller's usability; reads files only.
     *
     * @return a readable report ({@link HostReport#toString()})
     */
    public HostReport probe() {
        List<HostReport.Hierarchy> hs = new ArrayList<>();
        for (Hierarchy h : hierarchies) {
            hs.add(new HostReport.Hierarchy(h.version(), h.mountPoint, h.controllers, h.ownPath, h.ownDir()));
        }
        List<HostReport.ControllerStatus> cs = new ArrayList<>();
        for (CgroupController c : CgroupController.values()) {
            cs.add(status(c));
        }
        String release;
        try {
            release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            release = "unknown";
        }
        return new HostReport(layout, release, hs, cs);
    }

    private HostReport.ControllerStatus status(CgroupController c) {
        Hierarchy h = routes.get(c);
        if (h == null) {
            String why = c == CgroupController.DEVICES && layout == CgroupLayout.UNIFIED
                    ? "cgroup v2 has no devices controller (eBPF device programs are not supported): device rules need a v1 devices hierarchy"
                    : "not available: mount it (mount -t cgroup -o " + c.v1Name() + " cgroup /sys/fs/cgroup/" + c.v1Name()
                    + ")" + (c.v2Name().isPresent() ? " or make it available in the cgroup2 root" : "");
            return new HostReport.ControllerStatus(c, Optional.empty(), Optional.empty(), false, why);
        }
        CgroupBackend.ParentStatus where = h.backend.parentStatus(c, h.ownDir(), h.ownIsRoot());
        if (!where.usable()) {
            return new HostReport.ControllerStatus(c, Optional.of(h.version()), Optional.of(where.dir()), false, where.detail());
        }
        return writable(c, h, where.dir(), where.detail());
    }

    private static HostReport.ControllerStatus writable(CgroupController c, Hierarchy h, Path dir, String detail) {
        Optional<Integer> v = Optional.of(h.version());
        if (!Files.isDirectory(dir)) {
            return new HostReport.ControllerStatus(c, v, Optional.of(dir), false, dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            return new HostReport.ControllerStatus(c, v, Optional.of(dir), false, dir
                    + " is not writable: run as root, delegate it to this user (chown), or remount /sys/fs/cgroup read-write");
        }
        return new HostReport.ControllerStatus(c, v, Optional.of(dir), true, detail);
    }

    /**
     * Creates a sandbox cgroup with these limits under the default parent (see the class
     * comment). On first use in this JVM it first calls {@link #cleanLeftovers()}, ignoring its
     * failures.
     *
     * @param limits the limits to write
     * @return the new cgroup, which the caller must close
     * @throws CgroupUnavailableException if a limit needs something this host lacks (unless
     *     best effort) or the parent is not writable
     * @throws CgroupException if a limit is outside this host's bounds (pid_max, the CPUs and memory nodes of
     *     the parent's cpuset, the memory limit of the parent or an ancestor), checked before anything is
     *     created, or if the kernel rejects a value (the message says what to do); nothing is left behind
     */
    public SandboxCgroup create(CgroupLimits limits) throws IOException {
        return createUnder(limits, null);
    }

    /**
     * Creates a sandbox cgroup under an explicit parent cgroup, e.g. {@code Path.of("/jobs")}:
     * a path relative to each hierarchy's root (as in /proc/self/cgroup), used in every
     * hierarchy. The parent must exist in each; on v2 the needed controllers must already be
     * enabled in its {@code cgroup.subtree_control} (it is not ours to change).
     *
     * @param limits the limits to write
     * @param parent the parent cgroup, relative to each hierarchy's root
     * @return the new cgroup, which the caller must close
     * @throws IOException as {@link #create(CgroupLimits)} does, and if the parent is missing in a
     *     hierarchy
     */
    public SandboxCgroup create(CgroupLimits limits, Path parent) throws IOException {
        String p = parent.toString();
        return createUnder(limits, p.startsWith("/") ? p : "/" + p);
    }

    /**
     * Creates a sandbox cgroup nested in {@code outer}, e.g. one run's cgroup inside a persistent
     * sandbox's: in each hierarchy where {@code outer} has a directory, a child of it, so that the
     * new cgroup's usage counts towards {@code outer}'s limits, and what stays charged to it once it
     * is removed (tmpfs pages its processes wrote) is charged to {@code outer}; in the other
     * hierarchies the new cgroup goes where {@code outer} would have gone. {@code outer} must not
     * be closed before it, and must hold no processes itself on cgroup v2 (the no-internal-processes
     * rule): on v2 the controllers the new cgroup needs are enabled in {@code outer}'s {@code
     * cgroup.subtree_control} (and, if {@code outer} lacks one, in the library's {@code isolation}
     * subtree it was created in; any other parent of {@code outer} is not ours to change).
     *
     * @param limits the limits to write
     * @param outer the open cgroup to nest the new one in
     * @return the new cgroup, which the caller must close before {@code outer}
     * @throws CgroupUnavailableException if a controller the limits need is not available to {@code outer}'s children
     * @throws IllegalStateException if {@code outer} is closed
     */
    public SandboxCgroup create(CgroupLimits limits, SandboxCgroup outer) throws IOException {
        return SandboxCgroup.createIn(this, limits, outer);
    }

    private SandboxCgroup createUnder(CgroupLimits limits, String parent) throws IOException {
        if (LEFTOVERS_CLEANED.compareAndSet(false, true)) {
            try {
                cleanLeftovers();
            } catch (IOException e) {
                // A leftover we cannot remove must not stop new sandboxes; the next JVM retries.
            }
        }
        return SandboxCgroup.create(this, limits, parent);
    }

    /** Directories in which default sandboxes (and so leftovers) live, with their hierarchy. */
    private List<Map.Entry<Hierarchy, Path>> sandboxParents() {
        List<Map.Entry<Hierarchy, Path>> out = new ArrayList<>();
        for (Hierarchy h : hierarchies) {
            for (Path dir : h.backend.defaultParents(h.ownDir(), h.ownIsRoot())) {
                out.add(Map.entry(h, dir));
            }
        }
        return out;
    }

    /**
     * Removes sandbox cgroups left by JVMs that died without closing them: directories named
     * {@code isolation-<pid>-<n>} in the default sandbox parents whose pid is no longer alive, with
     * the sandbox cgroups nested in them. One leftover's directories in every hierarchy are torn
     * down together, by the algorithm of {@link Teardown} (thaw, kill, remove; bounded). Directories
     * of live pids, including this JVM's, are never touched.
     *
     * @implNote A pid from another pid namespace may look dead from here; a recycled pid looks
     *     alive (the safe direction).
     * @return the directories removed
     * @throws CgroupException if some leftovers could not be removed (others are still removed)
     */
    public List<Path> cleanLeftovers() throws IOException {
        long self = ProcessHandle.current().pid();
        Map<String, List<Map.Entry<Hierarchy, Path>>> byName = new LinkedHashMap<>();
        for (Map.Entry<Hierarchy, Path> parent : sandboxParents()) {
            List<Path> children;
            try (Stream<Path> s = Files.list(parent.getValue())) {
                children = s.filter(Files::isDirectory).toList();
            } catch (IOException e) {
                continue;
            }
            for (Path dir : children) {
                Matcher m = LEFTOVER.matcher(dir.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                long pid;
                try {
                    pid = Long.parseLong(m.group(1));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (pid == self || ProcessHandle.of(pid).isPresent()) {
                    continue;
                }
                List<Map.Entry<Hierarchy, Path>> found = byName.computeIfAbsent(m.group(), k -> new ArrayList<>());
                if (found.stream().noneMatch(e -> e.getValue().equals(dir))) {
                    found.add(Map.entry(parent.getKey(), dir));
                }
            }
        }
        List<Path> removed = new ArrayList<>();
        CgroupException failure = null;
        for (List<Map.Entry<Hierarchy, Path>> found : byName.values()) {
            // Outer directories first: teardownOf removes in reverse, so nested ones go before their parents.
            List<Map.Entry<Hierarchy, Path>> all = new ArrayList<>();
            for (Map.Entry<Hierarchy, Path> e : found) {
                withNested(e.getKey(), e.getValue(), all);
            }
            try {
                Remover.killAndRemove(SandboxCgroup.teardownOf(all), Duration.ofSeconds(5));
                found.forEach(e -> removed.add(e.getValue()));
            } catch (CgroupException e) {
                if (failure == null) {
                    failure = new CgroupException("could not remove leftover sandbox cgroups", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        return removed;
    }

    /** {@code dir}, then the sandbox cgroups nested in it (a persistent sandbox's runs), outermost first. */
    private static void withNested(Hierarchy h, Path dir, List<Map.Entry<Hierarchy, Path>> out) {
        out.add(Map.entry(h, dir));
        List<Path> nested;
        try (Stream<Path> s = Files.list(dir)) {
            nested = s.filter(p -> p.getFileName().toString().startsWith("isolation-") && Files.isDirectory(p)).toList();
        } catch (IOException e) {
            return;
        }
        for (Path child : nested) {
            withNested(h, child, out);
        }
    }

    @Override
    public String toString() {
        return "CgroupHost{" + layout + ", " + hierarchies + "}";
    }
}
