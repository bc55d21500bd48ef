package dev.isolation.core.junit;

import dev.isolation.cgroups.CgroupController;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test only where sandboxes can have cgroup limits with each of {@link #value()}
 * here, as {@code isolation doctor} reports it ({@link dev.isolation.cgroups.CgroupHost#probe()}):
 * the controller is mounted, and this JVM may create cgroups for it (root, or a delegated subtree).
 * Elsewhere it is skipped with the probe's reason and fix per controller, e.g. {@code memory: ...
 * not writable by this user; delegate a subtree (systemd-run --user -p Delegate=yes ...)}; under
 * CI it fails instead (see {@link EnabledIfSandboxAvailable}).
 *
 * @since 0.1.0
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(SandboxConditions.class)
public @interface EnabledIfCgroupsAvailable {
    /**
     * The controllers the test's limits need; default memory, cpu and pids.
     *
     * @return the controllers that must be usable
     */
    CgroupController[] value() default {CgroupController.MEMORY, CgroupController.CPU, CgroupController.PIDS};
}
