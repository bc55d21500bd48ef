/**
 * One interface over cgroup v1, v2 and hybrid hosts: create a cgroup for a sandbox, set its limits,
 * read its figures, freeze it, kill everything in it and remove it cleanly.
 *
 * <p>{@link dev.isolation.cgroups.CgroupHost#detect()} reads the host's layout from {@code
 * /proc/self/mountinfo} and the JVM's own cgroup from {@code /proc/self/cgroup}; {@link
 * dev.isolation.cgroups.CgroupHost#create(dev.isolation.cgroups.CgroupLimits)} makes a {@link
 * dev.isolation.cgroups.SandboxCgroup} under it with the {@link dev.isolation.cgroups.CgroupLimits}
 * written to the files of the host's cgroup version ({@link
 * dev.isolation.cgroups.CgroupUnits} converts between them, such as v1 {@code cpu.shares} and v2
 * {@code cpu.weight}). Sizes are {@link dev.isolation.cgroups.ByteSize} values, times are {@link
 * java.time.Duration}s; a limit the host cannot enforce is a {@link
 * dev.isolation.cgroups.CgroupUnavailableException} naming the controller and the fix, unless the
 * limits are best effort. Every error at run time is a {@link
 * dev.isolation.cgroups.CgroupException}, an {@link java.io.IOException}.
 *
 * <p>Plain Java file I/O: nothing here knows about namespaces or processes other than by pid.
 * Every cgroup it creates has {@code isolation} in its name. Writing limits and creating cgroups
 * needs write access to the parent cgroup (root, or a delegated subtree).
 *
 * <p>Kernel versions: cgroup v2 needs Linux 4.5 ({@code cgroup.kill} 5.14, {@code memory.peak}
 * 5.19, the v2 freezer 5.2); where a file is missing the library falls back as each type says.
 *
 * @since 0.1.0
 */
package dev.isolation.cgroups;
