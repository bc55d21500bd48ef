package dev.isolation.core;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.TestAbortedException;

/**
 * Marks a test class that needs the real kernel: Linux, namespaces, and root. Where they are
 * missing the tests are skipped visibly with the reason, except under CI ({@link Skip#underCi()}:
 * the environment variable {@code CI} set, to anything but {@code false} or {@code 0}): CI runs on
 * a machine that can run them, so there a missing requirement fails the tests instead of silently
 * skipping them.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(KernelTest.Condition.class)
public @interface KernelTest {
    final class Condition implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            String missing = missingRequirement();
            if (missing == null) {
                return;
            }
            if (Skip.underCi()) {
                throw new AssertionError("kernel test cannot run on this CI machine: " + missing);
            }
            System.err.println("[KernelTest] SKIPPED " + context.getDisplayName() + ": needs the real kernel: " + missing);
            throw new TestAbortedException("skipped, needs the real kernel: " + missing);
        }

        static String missingRequirement() {
            if (!System.getProperty("os.name").equals("Linux")) {
                return "Linux (this is " + System.getProperty("os.name") + ")";
            }
            if (!Files.exists(Path.of("/proc/self/ns/pid"))) {
                return "namespaces (/proc/self/ns/pid is missing)";
            }
            if (!"root".equals(System.getProperty("user.name"))) {
                return "root (running as " + System.getProperty("user.name") + ")";
            }
            return null;
        }
    }
}
