package dev.isolation.cgroups;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/** The condition behind {@link RequiresCgroups}; see there for the skip-or-fail rule. */
final class RequiresCgroupsCondition implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<RequiresCgroups> annotation = context.getElement()
                .flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresCgroups.class));
        if (annotation.isEmpty()) {
            return ConditionEvaluationResult.enabled("no @RequiresCgroups");
        }
        Optional<String> missing = missing(annotation.get().value());
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("root on a cgroup host");
        }
        String reason = "kernel test needs " + missing.get();
        if (underCi()) {
            throw new IllegalStateException(reason + " (CI=" + System.getenv("CI") + " turns this skip into a failure)");
        }
        System.err.println("[RequiresCgroups] SKIPPED " + context.getDisplayName() + ": " + reason);
        return ConditionEvaluationResult.disabled(reason);
    }

    /**
     * Whether this is a CI run: the environment variable {@code CI} is set to anything but
     * {@code false} or {@code 0} (CI services set {@code true}, {@code 1} or {@code TRUE}).
     */
    static boolean underCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isBlank() && !ci.strip().equalsIgnoreCase("false") && !ci.strip().equals("0");
    }

    private static Optional<String> missing(CgroupController[] controllers) {
        if (!isRoot()) {
            return Optional.of("root (effective uid 0)");
        }
        HostReport report;
        try {
            report = CgroupHost.detect().probe();
        } catch (IOException e) {
            return Optional.of("a cgroup host: " + e.getMessage());
        }
        List<String> problems = new ArrayList<>();
        for (CgroupController c : controllers) {
            HostReport.ControllerStatus s = report.controller(c);
            if (!s.usable()) {
                problems.add(c + ": " + s.detail());
            }
        }
        return problems.isEmpty() ? Optional.empty() : Optional.of("usable controllers: " + String.join("; ", problems));
    }

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
