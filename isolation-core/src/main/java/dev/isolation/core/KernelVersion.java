package dev.isolation.core;

/** The running kernel's version, for features decided at run time. */
final class KernelVersion {
    private static final int[] VERSION = parse(System.getProperty("os.version", "0.0"));

    private KernelVersion() {}

    static boolean atLeast(int major, int minor) {
        return VERSION[0] > major || (VERSION[0] == major && VERSION[1] >= minor);
    }

    static int[] parse(String release) {
        String[] parts = release.split("[.-]");
        try {
            return new int[] {Integer.parseInt(parts[0]), parts.length > 1 ? Integer.parseInt(parts[1]) : 0};
        } catch (NumberFormatException e) {
            return new int[] {0, 0};
        }
    }
}
