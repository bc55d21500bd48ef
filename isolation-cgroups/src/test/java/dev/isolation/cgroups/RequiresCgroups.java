package dev.isolation.cgroups;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs a kernel test only where it can run: as root (effective uid 0) on a host whose cgroup
 * hierarchies are mounted and whose {@link #value() controllers} are usable by this process
 * ({@link CgroupHost#probe()}).
 *
 * <p>Elsewhere the test is <b>skipped visibly</b>: it is reported as skipped with the reason, and
 * the reason is also printed to standard error.
 *
 * <p><b>CI rule:</b> when the environment variable {@code CI} is set (to anything but {@code false}
 * or {@code 0}: CI services set {@code true}, {@code 1} or {@code TRUE}), a missing
 * capability <b>fails</b> the test instead of skipping it, so that a CI machine that should run
 * kernel tests cannot silently pass without running them.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresCgroupsCondition.class)
public @interface RequiresCgroups {
    /** Controllers that must be usable; memory, pids and cpu by default. */
    CgroupController[] value() default {CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPU};
}
