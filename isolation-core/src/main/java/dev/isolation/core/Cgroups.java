package dev.isolation.core;

import dev.isolation.cgroups.CgroupHost;
import java.io.IOException;

/** The host's cgroup layout, detected once per JVM from /proc/self/mountinfo. */
final class Cgroups {
    private static volatile CgroupHost host;

    private Cgroups() {}

    static CgroupHost host() throws IOException {
        CgroupHost h = host;
        if (h == null) {
            synchronized (Cgroups.class) {
                if (host == null) {
                    host = CgroupHost.detect();
                }
                h = host;
            }
        }
        return h;
    }
}
