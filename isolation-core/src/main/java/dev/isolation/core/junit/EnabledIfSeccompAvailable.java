package dev.isolation.core.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test only where sandboxes can have a seccomp filter here: the kernel offers
 * the {@code kill_process} action (Linux 4.14+ with {@code CONFIG_SECCOMP_FILTER}) and {@code
 * libseccomp.so.2}, which compiles the filters, loads, and a sandbox with {@link
 * dev.isolation.core.SeccompPolicy#defaultPolicy()} starts. Elsewhere it is skipped with the reason
 * and how to fix it (e.g. {@code apt-get install libseccomp2}); under CI it fails instead (see
 * {@link EnabledIfSandboxAvailable}).
 *
 * @since 0.1.0
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(SandboxConditions.class)
public @interface EnabledIfSeccompAvailable {}
