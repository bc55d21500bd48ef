package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolation.cgroups.AppliedLimit;
import dev.isolation.cgroups.CgroupUnits;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cgroup knobs beyond memory, pids and CPU time, in the kernel: {@code cpuset}, {@code
 * ioWeight}, {@code deviceAllow}, what {@code bestEffortLimits()} does with a limit the host cannot
 * apply, and {@code cgroupParent(...)}. Each test reads the kernel's own files to know what this
 * host offers, and checks the library's answer either way. Runs on this host and in the v1 and v2
 * guests of {@code .ci/vm-tests.sh}.
 */
@KernelTest
class CgroupControlsIT {
    private static final Sandbox BASE = Sandbox.builder().pidNs().mountNs().build();

    /** The first line of the program's output, waited for (bounded). */
    private static String firstLine(IsolatedProcess p) throws Exception {
        return Bounded.line(new BufferedReader(new InputStreamReader(p.getInputStream())));
    }

    /** Ends the program's input (it waits for it) and its outcome, waited for (bounded). */
    private static Outcome end(IsolatedProcess p) throws Exception {
        p.getOutputStream().close();
        return Bounded.collect(p).outcome();
    }

    @Test
    @Timeout(300)
    void cpusetPinsTheSandboxToItsCpus() throws Exception {
        int cpus = Runtime.getRuntime().availableProcessors();
        Skip.unless(cpus >= 2, "a test that pins to one of two CPUs: this machine has " + cpus);
        String last = Integer.toString(cpus - 1);
        String script = "grep Cpus_allowed_list /proc/self/status | cut -f2; read x; exit 0";
        try (IsolatedProcess p = BASE.toBuilder().cpuset(last).build().start("sh", "-c", script)) {
            assertThat(firstLine(p)).as("the CPUs the program may run on").isEqualTo(last);
            Path dir = CgroupPaths.directoryOf(p.pid(), "cpuset");
            assertThat(Files.readString(dir.resolve("cpuset.cpus")).trim()).isEqualTo(last);
            // v1 needs the memory nodes set too (a new v1 cpuset has none); v2 inherits them, as cpuset.mems.effective says
            Path mems = Files.exists(dir.resolve("cpuset.mems.effective")) ? dir.resolve("cpuset.mems.effective") : dir.resolve("cpuset.mems");
            assertThat(Files.readString(mems).trim()).as("%s", mems).isNotEmpty();
            assertThat(end(p).status()).isEqualTo(Outcome.Status.OK);
        }
        // without it, the CPUs of the JVM's own
        try (IsolatedProcess p = BASE.toBuilder().cgroup().build().start("sh", "-c", script)) {
            String own = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Cpus_allowed_list"))
                    .findFirst().orElseThrow().split("\\s+")[1];
            assertThat(firstLine(p)).isEqualTo(own).isNotEqualTo(last);
            end(p);
        }
    }

    /** The io weight files this kernel offers, in the order the library prefers them. */
    private static final List<String> WEIGHT_FILES = List.of("io.weight", "io.bfq.weight", "blkio.weight", "blkio.bfq.weight");

    @Test
    @Timeout(300)
    void ioWeightIsWrittenWhereTheKernelHasAWeightFileAndElseFailsClosedUnlessBestEffort() throws Exception {
        // what the kernel offers, seen in a sandbox's own io cgroup
        try (IsolatedProcess p = BASE.toBuilder().ioWeight(500).bestEffortLimits().build().start("sh", "-c", "echo up; read x; exit 0")) {
            assertThat(firstLine(p)).isEqualTo("up");
            Path dir = CgroupPaths.directoryOf(p.pid(), "blkio");
            Optional<String> file = WEIGHT_FILES.stream().filter(f -> Files.exists(dir.resolve(f))).findFirst();
            Optional<String> written = file.isEmpty() ? Optional.empty() : Optional.of(Files.readString(dir.resolve(file.get())).trim());
            Outcome o = end(p);
            if (file.isPresent()) {
                String expected = file.get().equals("io.weight") ? "default 500"
                        : Long.toString(CgroupUnits.ioWeightToBlkioWeight(500));
                assertThat(o.appliedLimits()).extracting(AppliedLimit::limit, l -> l.file().getFileName().toString())
                        .contains(org.assertj.core.groups.Tuple.tuple("ioWeight", file.get()));
                assertThat(written.orElseThrow()).as(file.get()).contains(expected);
                assertThat(o.limitsNotApplied()).isEmpty();
            } else {
                // no weight file in this kernel's io hierarchy (no BFQ, no io cost model): best effort runs and says so
                assertThat(o.status()).isEqualTo(Outcome.Status.OK);
                assertThat(o.limitsNotApplied()).singleElement().satisfies(n -> {
                    assertThat(n.limit()).isEqualTo("ioWeight");
                    assertThat(n.reason()).containsAnyOf(WEIGHT_FILES.toArray(String[]::new));
                });
                // and by default the start fails, naming the limit or the file it needs
                assertThatThrownBy(() -> BASE.toBuilder().ioWeight(500).build().start("true").close())
                        .isInstanceOf(UnsupportedHostException.class)
                        .satisfies(e -> assertThat(e.getMessage()).containsAnyOf(Stream.concat(Stream.of("ioWeight"),
                                WEIGHT_FILES.stream()).toArray(String[]::new)));
            }
        }
    }

    /** Whether this host has the cgroup v1 devices controller mounted. */
    private static boolean v1Devices() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" - ", 2)[1].split(" "))
                .anyMatch(t -> t[0].equals("cgroup") && List.of(t[2].split(",")).contains("devices"));
    }

    @Test
    @Timeout(300)
    void deviceRulesAreEnforcedOnV1AndFailClosedOnV2UnlessBestEffort() throws Exception {
        // The host's /dev (no mount namespace): /dev/zero and /dev/null are open to everyone, so only the cgroup stands
        // in the way. With "c 1:3 rwm" alone, /dev/null opens and /dev/zero (1:5) does not.
        String tryBoth = "head -c 1 /dev/zero > /dev/null && echo zero-opened || echo zero-refused; "
                + ": < /dev/null && echo null-opened || echo null-refused";
        Sandbox onlyNull = Sandbox.builder().pidNs().deviceAllow("c 1:3 rwm").build();
        assertThat(Bounded.ok(Sandbox.builder().pidNs().cgroup().build(), "sh", "-c", tryBoth).lines())
                .as("without device rules").containsExactly("zero-opened", "null-opened");
        if (v1Devices()) {
            Bounded.Result r = Bounded.run(onlyNull, "sh", "-c", tryBoth);
            assertThat(r.out().lines()).as(r.err()).containsExactly("zero-refused", "null-opened");
            assertThat(r.err()).contains("Operation not permitted");
            assertThat(r.outcome().appliedLimits()).extracting(AppliedLimit::limit, AppliedLimit::value)
                    .contains(org.assertj.core.groups.Tuple.tuple("deviceDenyAll", "a"),
                            org.assertj.core.groups.Tuple.tuple("deviceAllow", "c 1:3 rwm"));
        } else {
            // cgroup v2 filters devices with eBPF, which the library does not install: refused, saying so
            assertThatThrownBy(() -> onlyNull.start("true").close()).isInstanceOf(UnsupportedHostException.class)
                    .hasMessageContaining("devices").hasMessageContaining("eBPF");
            // best effort runs, without the rule, and says which limit it left out
            Bounded.Result r = Bounded.run(onlyNull.toBuilder().bestEffortLimits().build(), "sh", "-c", tryBoth);
            assertThat(r.out().lines()).containsExactly("zero-opened", "null-opened");
            assertThat(r.outcome().limitsNotApplied()).extracting(AppliedLimit.NotApplied::limit).containsExactly("deviceAllow");
        }
    }

    @Test
    @Timeout(300)
    void sandboxesGoUnderTheCgroupParentInEveryHierarchy() throws Exception {
        // Where the library puts a sandbox by default: the hierarchies it uses, and the parent in each.
        List<Path> used = new ArrayList<>();
        List<String> defaultParents = new ArrayList<>();
        try (IsolatedProcess p = BASE.toBuilder().pidsLimit(32).build().start("sh", "-c", "echo up; read x; exit 0")) {
            assertThat(firstLine(p)).isEqualTo("up");
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "cgroup"))) {
                String path = line.split(":", 3)[2];
                if (path.contains("/isolation-")) {
                    used.add(CgroupPaths.directoryOf(line).getParent());
                    defaultParents.add(path.lastIndexOf('/') == 0 ? "/" : path.substring(0, path.lastIndexOf('/')));
                }
            }
            end(p);
        }
        assertThat(used).isNotEmpty();
        // A parent of the test's own must exist at one path in each of them, under the JVM's own cgroups: possible
        // where those are one path in every hierarchy (the guests), not on a host that places the JVM differently in
        // each (this development machine: memory apart).
        if (defaultParents.stream().distinct().count() != 1) {
            Skip.toTheseCgroups("the JVM's cgroups are at different paths in the hierarchies a sandbox uses "
                    + defaultParents + ", so no parent below them is one path in each (.ci/vm-tests.sh runs it in its guests)");
        }
        String parent = (defaultParents.get(0).equals("/") ? "" : defaultParents.get(0)) + "/isolation-parent-"
                + ProcessHandle.current().pid();
        List<Path> created = new ArrayList<>();
        try {
            for (Path hierarchyParent : used) {
                Path d = Files.createDirectory(hierarchyParent.resolve(Path.of(parent).getFileName().toString()));
                created.add(d);
                if (Files.exists(d.resolve("cgroup.subtree_control"))) { // v2: the user enables what sandboxes need
                    Files.writeString(d.resolve("cgroup.subtree_control"), "+pids");
                }
            }
            Sandbox under = BASE.toBuilder().pidsLimit(32).cgroupParent(Path.of(parent)).build();
            try (IsolatedProcess p = under.start("sh", "-c", "cat /proc/self/cgroup; echo end; read x; exit 0")) {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
                List<String> lines = new ArrayList<>();
                for (String l = Bounded.line(out); l != null && !l.equals("end"); l = Bounded.line(out)) {
                    lines.add(l);
                }
                List<String> placed = lines.stream().filter(l -> l.contains("/isolation-")).toList();
                assertThat(placed).as("%s", lines).hasSameSizeAs(used)
                        .allSatisfy(l -> assertThat(l.split(":", 3)[2]).startsWith(parent + "/isolation-"));
                Path pids = CgroupPaths.directoryOf(p.pid(), "pids");
                assertThat(pids.getParent()).isIn(created);
                assertThat(Files.readString(pids.resolve("pids.max")).trim()).isEqualTo("32");
                assertThat(end(p).status()).isEqualTo(Outcome.Status.OK);
            }
            for (Path d : created) {
                try (Stream<Path> children = Files.list(d)) {
                    assertThat(children.filter(Files::isDirectory)).as("sandboxes left under %s", d).isEmpty();
                }
            }
        } finally {
            created.sort(Comparator.reverseOrder());
            for (Path d : created) {
                Files.deleteIfExists(d);
            }
        }
    }
}
