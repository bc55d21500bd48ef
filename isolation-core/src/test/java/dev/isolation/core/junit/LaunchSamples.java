package dev.isolation.core.junit;

import java.util.Optional;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.engine.discovery.DiscoverySelectors;

/**
 * A JUnit launcher for the sample classes (the JUnit console launcher's job, in a form that needs
 * nothing beyond the test class path): prints one line per test, {@code SKIPPED name: reason},
 * {@code FAILED name: message} (with the suppressed exceptions) or {@code PASSED name}.
 */
public final class LaunchSamples {
    private LaunchSamples() {}

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        run(out, args);
        System.out.print(out);
        System.out.flush();
    }

    static void run(StringBuilder out, String... classes) {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String c : classes) {
            request.selectors(DiscoverySelectors.selectClass(c));
        }
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request.build(), new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier test, String reason) {
                out.append("SKIPPED ").append(test.getDisplayName()).append(": ").append(reason).append('\n');
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                if (!test.isTest()) {
                    result.getThrowable().ifPresent(t -> out.append("FAILED ").append(test.getDisplayName()).append(": ")
                            .append(t).append('\n'));
                    return;
                }
                Optional<Throwable> t = result.getThrowable();
                if (t.isEmpty()) {
                    out.append("PASSED ").append(test.getDisplayName()).append('\n');
                    return;
                }
                out.append("FAILED ").append(test.getDisplayName()).append(": ").append(t.get()).append('\n');
                for (Throwable s : t.get().getSuppressed()) {
                    out.append("  SUPPRESSED ").append(s.getClass().getSimpleName()).append(": ").append(s.getMessage()).append('\n');
                }
            }
        });
    }
}
