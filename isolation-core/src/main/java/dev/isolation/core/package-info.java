/**
 * Sandboxes for untrusted programs: Linux namespaces, a file system of their own, dropped
 * privileges, a seccomp filter and cgroup limits, with a {@link java.lang.Process} to talk to the
 * program and an exact {@link dev.isolation.core.Outcome} of how it ended.
 *
 * <p>A {@link dev.isolation.core.Sandbox} is the policy: an immutable, thread-safe, reusable value
 * built by {@link dev.isolation.core.Sandbox#builder()}. {@link
 * dev.isolation.core.Sandbox#start(String...)} runs a program in a fresh sandbox under it and
 * returns an {@link dev.isolation.core.IsolatedProcess}; {@link
 * dev.isolation.core.Sandbox#run(String...)} runs one to its end; {@link
 * dev.isolation.core.Sandbox#open()} sets a sandbox up once for many runs (a {@link
 * dev.isolation.core.SandboxSession}); {@link dev.isolation.core.Interaction} connects an
 * interactor and a solution, as judges of interactive problems do. {@link
 * dev.isolation.core.SeccompPolicy} says which system calls the program may make, {@link
 * dev.isolation.core.Rlimit} names the resource limits.
 *
 * <p>Every failure at run time is a {@link dev.isolation.core.SandboxException} (an {@link
 * java.io.IOException}); a failed system call during setup is a {@link
 * dev.isolation.core.SandboxSetupException} with the call, its argument and errno; "this host
 * cannot do that" is an {@link dev.isolation.core.UnsupportedHostException}. A builder value out of
 * range is an {@link java.lang.IllegalArgumentException} naming the setter.
 *
 * <p>Linux only, on x86_64 and aarch64, kernel 5.3 or later (the sandbox is cloned with a pidfd;
 * with {@code CLONE_INTO_CGROUP} on cgroup v2 from 5.7). A root of its own ({@code minimalRoot},
 * {@code rootfs}, {@code bind}, {@code tmpfs}, images) needs the mount API of Linux 5.12; seccomp
 * actions other than kill and errno need 4.14. Namespaces other than a user namespace, and every
 * cgroup limit, need root; a user namespace does not, where the host allows it.
 *
 * @since 0.1.0
 */
package dev.isolation.core;
