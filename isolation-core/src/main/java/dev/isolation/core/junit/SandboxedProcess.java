package dev.isolation.core.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A sandboxed program as a test fixture, the way Testcontainers' {@code @Container} is one: a field
 * or test-method parameter of type {@link dev.isolation.core.IsolatedProcess}, started before each
 * test (before the test class's {@code @BeforeEach} methods, for a field) and closed after it,
 * which kills it and everything it started and removes its cgroup.
 *
 * <pre>{@code
 * @EnabledIfSandboxAvailable
 * class ServerTest {
 *     static final Sandbox SANDBOX = Sandbox.builder().pidNs().mountNs().netNs().minimalRoot().build();
 *
 *     @SandboxedProcess(sandbox = "SANDBOX", command = {"sh", "-c", "while read l; do echo $l; done"})
 *     IsolatedProcess server;
 *
 *     @Test
 *     void echoes() throws Exception { ... server.getOutputStream() ... server.getInputStream() ... }
 * }
 * }</pre>
 *
 * <p>The test talks to the program through its standard input and output. Its standard error is
 * captured by the extension (the last 64 KiB); when the test fails, that and the program's outcome
 * (exit status, or the limit that ended it) are attached to the failure as a suppressed exception,
 * so they appear in the test's report, and are published as report entries ({@code
 * isolation.stderr}, {@code isolation.outcome}). With {@link #captureStdout()} standard output is
 * captured and attached the same way (and the test must not read it).
 * @since 0.1.0
 */
@Target({ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(SandboxExtension.class)
public @interface SandboxedProcess {
    /**
     * The program and its arguments; a name without '/' is looked up in the sandbox's {@code PATH}.
     *
     * @return the command, at least the program
     */
    String[] command();

    /**
     * The name of a field (static, or of the test instance) of type {@link dev.isolation.core.Sandbox},
     * or of a method without parameters returning one, in the test class or its enclosing classes:
     * the policy to start the program with. Default: {@code Sandbox.builder().pidNs().mountNs()
     * .netNs().ipcNs().utsNs()}, with {@code userNs()} when the JVM is not root.
     *
     * @return the name of the field or method, or empty for the default policy
     */
    String sandbox() default "";

    /**
     * Whether standard output is captured for the report too (then the test does not read it).
     *
     * @return whether standard output goes to the report (default {@code false})
     */
    boolean captureStdout() default false;
}
