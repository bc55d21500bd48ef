package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupBackend;

import java.nio.file.Path;
import java.util.Set;

/** One mounted cgroup hierarchy and this process's place in it. Immutable. */
final class Hierarchy {
    /** What this hierarchy's cgroup version knows: file names, syntax, units. */
    final CgroupBackend backend;
    final Path mountPoint;
    /** The hierarchy path mounted at {@link #mountPoint} (mountinfo field 4). */
    final String mountRoot;
    /** v1: controllers bound here (or {@code name=...}); v2: the mount root's cgroup.controllers. */
    final Set<String> controllers;
    /** This process's cgroup path, as /proc/self/cgroup shows it. */
    final String ownPath;

    Hierarchy(CgroupBackend backend, Path mountPoint, String mountRoot, Set<String> controllers, String ownPath) {
        this.backend = backend;
        this.mountPoint = mountPoint;
        this.mountRoot = mountRoot;
        this.controllers = Set.copyOf(controllers);
        this.ownPath = ownPath;
    }

    /**
     * The directory of cgroup {@code cgroupPath}. The path is relative to the hierarchy root as
     * this process sees it (its cgroup namespace); the mount may show only a subtree of it
     * (bind mounts, containers without a cgroup namespace), so the mount root is stripped first.
     */
    Path dirOf(String cgroupPath) {
        String rel;
        if (mountRoot.equals("/")) {
            rel = cgroupPath;
        } else if (cgroupPath.equals(mountRoot) || cgroupPath.startsWith(mountRoot + "/")) {
            rel = cgroupPath.substring(mountRoot.length());
        } else {
            // Our cgroup is outside the mounted subtree (e.g. moved after a namespace was made):
            // the mount point is the closest directory we can see.
            rel = "/";
        }
        Path p = mountPoint;
        for (String seg : rel.split("/")) {
            if (!seg.isEmpty()) {
                p = p.resolve(seg);
            }
        }
        return p;
    }

    Path ownDir() {
        return dirOf(ownPath);
    }

    boolean ownIsRoot() {
        return ownDir().equals(mountPoint);
    }

    boolean has(CgroupController c) {
        return backend.has(c, controllers);
    }

    int version() {
        return backend.version();
    }

    /** The cgroup2 hierarchy (see {@link CgroupBackend#unified()}). */
    boolean unified() {
        return backend.unified();
    }

    /** How messages name this hierarchy. */
    String label() {
        return backend.label(controllers);
    }

    @Override
    public String toString() {
        return "v" + version() + " " + mountPoint + " " + controllers;
    }
}
