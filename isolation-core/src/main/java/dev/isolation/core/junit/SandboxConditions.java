package dev.isolation.core.junit;

import dev.isolation.cgroups.CgroupController;
import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.HostReport;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SeccompPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The condition behind {@link EnabledIfSandboxAvailable}, {@link EnabledIfCgroupsAvailable},
 * {@link EnabledIfUserNamespacesAvailable} and {@link EnabledIfSeccompAvailable}; registered by
 * those annotations, not used directly. Each check runs once per JVM; its answer is kept.
 *
 * @since 0.1.0
 */
public final class SandboxConditions implements ExecutionCondition {
    /** What each check found missing, empty if nothing; computed once per JVM. */
    private static final ConcurrentMap<String, Optional<String>> FOUND = new ConcurrentHashMap<>();

    /** Made by JUnit, from the annotations. */
    public SandboxConditions() {}

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        List<String> missing = new java.util.ArrayList<>();
        Optional<java.lang.reflect.AnnotatedElement> element = context.getElement();
        if (element.isEmpty()) {
            return ConditionEvaluationResult.enabled("no element");
        }
        java.lang.reflect.AnnotatedElement e = element.get();
        if (AnnotationSupport.isAnnotated(e, EnabledIfSandboxAvailable.class)) {
            check("sandbox", SandboxConditions::sandbox).ifPresent(missing::add);
        }
        if (AnnotationSupport.isAnnotated(e, EnabledIfUserNamespacesAvailable.class)) {
            check("userns", SandboxConditions::userNamespaces).ifPresent(missing::add);
        }
        if (AnnotationSupport.isAnnotated(e, EnabledIfSeccompAvailable.class)) {
            check("seccomp", SandboxConditions::seccomp).ifPresent(missing::add);
        }
        AnnotationSupport.findAnnotation(e, EnabledIfCgroupsAvailable.class).ifPresent(a -> {
            List<CgroupController> controllers = Arrays.asList(a.value());
            check("cgroups " + controllers, () -> cgroups(controllers)).ifPresent(missing::add);
        });
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("the sandbox features the test needs are available");
        }
        String reason = String.join("; ", missing);
        if (underCi()) {
            throw new AssertionError("CI=" + System.getenv("CI") + " but this machine cannot run " + context.getDisplayName()
                    + ": " + reason + " (outside CI the test would be skipped)");
        }
        return ConditionEvaluationResult.disabled(reason);
    }

    /**
     * Whether this is a CI run: {@code CI} set to anything but {@code false} or {@code 0} (CI
     * services set {@code true}, {@code 1} or {@code TRUE}).
     */
    static boolean underCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isBlank() && !ci.strip().equalsIgnoreCase("false") && !ci.strip().equals("0");
    }

    private static Optional<String> check(String key, Supplier<Optional<String>> probe) {
        return FOUND.computeIfAbsent(key, k -> probe.get());
    }

    private static Optional<String> linux() {
        if (!System.getProperty("os.name").equals("Linux")) {
            return Optional.of("no sandbox on this host: isolation needs Linux (this is " + System.getProperty("os.name") + ")");
        }
        if (!Files.exists(Path.of("/proc/self/ns/pid"))) {
            return Optional.of("no sandbox on this host: the kernel has no namespaces (/proc/self/ns/pid is missing);"
                    + " use a kernel built with CONFIG_NAMESPACES, CONFIG_PID_NS, CONFIG_NET_NS");
        }
        return Optional.empty();
    }

    static boolean root() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
                    .map(l -> l.split("\\s+")).anyMatch(f -> f.length > 2 && f[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs {@code true} under {@code policy}: empty if it ran, else the library's reason (with its fix). */
    private static Optional<String> runs(Sandbox.Builder policy, String what) {
        Optional<String> os = linux();
        if (os.isPresent()) {
            return os;
        }
        Sandbox sandbox;
        try {
            sandbox = policy.build();
        } catch (RuntimeException e) {
            return Optional.of(what + ": " + e.getMessage());
        }
        Outcome o = sandbox.run("true");
        if (o.status() == Outcome.Status.OK) {
            return Optional.empty();
        }
        String detail = o.setupFailure().map(Throwable::getMessage).orElse(o.toString());
        return Optional.of(what + " (" + (root() ? "as root" : "as " + System.getProperty("user.name") + ", not root") + "): "
                + detail);
    }

    private static Optional<String> sandbox() {
        Sandbox.Builder b = Sandbox.builder().pidNs().mountNs().netNs().ipcNs().utsNs().seccomp(SeccompPolicy.none());
        if (!root()) {
            b.userNs();
        }
        return runs(b, "no sandbox on this host");
    }

    private static Optional<String> userNamespaces() {
        return runs(Sandbox.builder().userNs().pidNs().mountNs().seccomp(SeccompPolicy.none()), "no user namespaces for sandboxes");
    }

    private static Optional<String> seccomp() {
        Path actions = Path.of("/proc/sys/kernel/seccomp/actions_avail");
        try {
            if (Files.exists(actions) && !Arrays.asList(Files.readString(actions).trim().split("\\s+")).contains("kill_process")) {
                return Optional.of("no seccomp filters for sandboxes: the kernel lacks the kill_process action; use Linux 4.14 or later");
            }
        } catch (IOException e) {
            // the sandbox below says what is wrong
        }
        if (Files.exists(Path.of("/proc/self")) && !Files.exists(actions)) {
            return Optional.of("no seccomp filters for sandboxes: " + actions + " is missing: this kernel has no seccomp filters"
                    + " or is older than 4.14; use Linux 4.14 or later built with CONFIG_SECCOMP_FILTER=y");
        }
        Sandbox.Builder b = Sandbox.builder().pidNs().seccomp(SeccompPolicy.defaultPolicy());
        if (!root()) {
            b.userNs();
        }
        return runs(b, "no seccomp filters for sandboxes (libseccomp 2.4 or later compiles them: apt-get install libseccomp2,"
                + " or dnf install libseccomp)");
    }

    private static Optional<String> cgroups(List<CgroupController> controllers) {
        HostReport report;
        try {
            report = CgroupHost.detect().probe();
        } catch (IOException | RuntimeException e) {
            return Optional.of("no cgroups for sandboxes: " + e.getMessage());
        }
        String missing = controllers.stream().map(report::controller).filter(c -> !c.usable())
                .map(c -> c.controller().name().toLowerCase(java.util.Locale.ROOT) + ": " + c.detail())
                .collect(Collectors.joining("; "));
        return missing.isEmpty() ? Optional.empty()
                : Optional.of("no cgroup limits for sandboxes (as " + (root() ? "root" : System.getProperty("user.name") + ", not root")
                        + "; `isolation doctor` reports the same): " + missing);
    }
}
