package dev.isolation.core.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test class or method only where a sandbox can start here: Linux, and a
 * program started with pid, mount, network, IPC and UTS namespaces (and a user namespace, when the
 * JVM is not root) runs. Elsewhere the test is skipped with a reason that says what is missing and
 * how to fix it, e.g. {@code no sandbox on this host: clone3(...): EPERM (Operation not
 * permitted): this host refuses to create the namespaces. Unprivileged user namespaces look
 * disabled: user.max_user_namespaces=0 (must be > 0) ...}.
 *
 * <p>Under CI (the environment variable {@code CI} set to anything but {@code false} or {@code
 * 0}) the test fails instead of being skipped, with the same reason: a CI machine that silently
 * skipped every sandbox test would report green while proving nothing.
 *
 * <p>The check runs a sandbox once per JVM (a few milliseconds) and remembers the answer. The
 * {@code EnabledIf...} annotations combine: a test with several runs where all hold.
 *
 * @see EnabledIfCgroupsAvailable
 * @see EnabledIfUserNamespacesAvailable
 * @see EnabledIfSeccompAvailable
 * @since 0.1.0
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(SandboxConditions.class)
public @interface EnabledIfSandboxAvailable {}
