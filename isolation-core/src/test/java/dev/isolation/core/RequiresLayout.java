package dev.isolation.core;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.cgroups.CgroupLayout;
import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Runs a kernel test only on hosts with one of these cgroup layouts; elsewhere it is skipped with
 * a reason starting {@link Skip#LAYOUT}, under CI too. This CI machine is hybrid, and
 * {@code .ci/vm-tests.sh} runs every class named {@code *Cgroup*IT} in pure v2 and pure v1 guests,
 * so a test for another layout runs there; {@code .ci/summary.py} fails CI unless it passed in one
 * of the runs. A host without cgroups is no layout: there the test fails under CI.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresLayout.Condition.class)
public @interface RequiresLayout {
    /** The layouts the test is for. */
    CgroupLayout[] value();

    /** The condition behind {@link RequiresLayout}. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Optional<RequiresLayout> annotation = context.getElement()
                    .flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresLayout.class));
            if (annotation.isEmpty()) {
                return ConditionEvaluationResult.enabled("no @RequiresLayout");
            }
            EnumSet<CgroupLayout> wanted = EnumSet.copyOf(Arrays.asList(annotation.get().value()));
            CgroupLayout here;
            try {
                here = CgroupHost.detect().layout();
            } catch (IOException | RuntimeException e) {
                if (Skip.underCi()) {
                    throw new IllegalStateException("CI, but this machine has no cgroups: " + e.getMessage(), e);
                }
                return ConditionEvaluationResult.disabled("skipped, needs a cgroup host: " + e.getMessage());
            }
            if (wanted.contains(here)) {
                return ConditionEvaluationResult.enabled("a " + here + " host");
            }
            String reason = Skip.LAYOUT + "needs a " + wanted + " host, this one is " + here
                    + " (.ci/vm-tests.sh runs it in its " + (wanted.contains(CgroupLayout.UNIFIED) ? "v2" : "v1") + " guest)";
            System.err.println("[RequiresLayout] SKIPPED " + context.getDisplayName() + ": " + reason);
            return ConditionEvaluationResult.disabled(reason);
        }
    }
}
