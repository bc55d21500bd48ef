package dev.isolation.core;

import org.opentest4j.TestAbortedException;

/**
 * How a test declines to run where this machine cannot run it: visibly, with the reason. Under CI
 * ({@link #underCi()}) a skip fails the test instead, since the CI machine and its guests are meant
 * to run every test; two kinds of skip stay skips there, because no machine of one kind can run
 * them, and their reasons start with a prefix that {@code .ci/summary.py} knows:
 * <ul>
 *   <li>{@link #LAYOUT}: the test needs this host's cgroups arranged otherwise: another layout
 *       ({@link RequiresLayout}), or the JVM placed otherwise in them ({@link #toTheseCgroups}).
 *       {@code .ci/vm-tests.sh} runs it in guests of other layouts, and the summary fails CI unless
 *       it passed in one of the runs;
 *   <li>{@link #ARCH}: the test is for another processor architecture.
 * </ul>
 */
final class Skip {
    /** The start of the reason of a skip on a host whose cgroups are arranged otherwise than the test needs. */
    static final String LAYOUT = "inapplicable to this host's cgroups: ";
    /** The start of the reason of a skip on a processor architecture the test is not for. */
    static final String ARCH = "inapplicable to this architecture: ";

    private Skip() {}

    /**
     * Whether this is a CI run: the environment variable {@code CI} is set to anything but
     * {@code false} or {@code 0} (CI services set {@code true}, {@code 1} or {@code TRUE}).
     */
    static boolean underCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isBlank() && !ci.strip().equalsIgnoreCase("false") && !ci.strip().equals("0");
    }

    /**
     * Skips the calling test, with the reason, unless {@code can}: this machine lacks what the test
     * needs. Under CI it fails the test instead.
     */
    static void unless(boolean can, String reason) {
        if (can) {
            return;
        }
        if (underCi()) {
            throw new AssertionError("CI=" + System.getenv("CI") + " but this machine cannot run the test: " + reason);
        }
        System.err.println("[skip] " + reason);
        throw new TestAbortedException("skipped: " + reason);
    }

    /**
     * Skips the calling test, even under CI, because this host's cgroups are arranged otherwise than
     * it needs ({@code reason} says how); CI must run it in a guest where they are.
     */
    static void toTheseCgroups(String reason) {
        System.err.println("[skip] " + LAYOUT + reason);
        throw new TestAbortedException(LAYOUT + reason);
    }

    /** Skips the calling test on every processor architecture but {@code osArch} (as {@code os.arch} names it), even under CI. */
    static void unlessArchitecture(String osArch, String why) {
        String arch = System.getProperty("os.arch");
        if (!arch.equals(osArch)) {
            throw new TestAbortedException(ARCH + why + " (this is " + arch + ")");
        }
    }
}
