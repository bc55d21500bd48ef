package dev.isolation.core.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test only where a sandbox with a user namespace ({@code userNs()}) starts
 * here, as this JVM's user. Elsewhere it is skipped with the reason and the sysctl to change
 * ({@code user.max_user_namespaces}, Debian's {@code kernel.unprivileged_userns_clone}, Ubuntu's
 * {@code kernel.apparmor_restrict_unprivileged_userns}); under CI it fails instead (see {@link
 * EnabledIfSandboxAvailable}).
 *
 * @since 0.1.0
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(SandboxConditions.class)
public @interface EnabledIfUserNamespacesAvailable {}
