/**
 * JUnit 5 support, as Testcontainers gives it for containers: conditions that skip a test, with
 * the reason and the fix, where this host cannot run sandboxes ({@link
 * dev.isolation.core.junit.EnabledIfSandboxAvailable}, {@link
 * dev.isolation.core.junit.EnabledIfCgroupsAvailable}, {@link
 * dev.isolation.core.junit.EnabledIfUserNamespacesAvailable}, {@link
 * dev.isolation.core.junit.EnabledIfSeccompAvailable}) and fail the test instead under CI, and
 * {@link dev.isolation.core.junit.SandboxedProcess} fixtures, started before each test and closed
 * after it, whose output is attached to a failing test's report.
 *
 * <p>Needs {@code org.junit.jupiter:junit-jupiter-api} 5.8 or later on the test class path; the
 * library declares it as an optional dependency, so code that does not use this package does not
 * need JUnit.
 *
 * @since 0.1.0
 */
package dev.isolation.core.junit;
