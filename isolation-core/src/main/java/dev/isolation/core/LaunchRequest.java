package dev.isolation.core;

import dev.isolation.cgroups.SandboxCgroup;
import java.util.Objects;
import java.util.Optional;

/**
 * One start of a program, as every entry point hands it to {@link Launcher#start}: {@link
 * Sandbox#start}, a {@link SandboxSession}'s runs and an {@link Interaction}'s two programs. The
 * policy, the exec plan of the command, the caller's {@link ProcessBuilder} (its redirects), and
 * where the program runs: a fresh sandbox of the policy, or a run in a persistent sandbox (which
 * compiles its own setup plan and nests the run's cgroup in the session's); its standard input
 * and output may instead be descriptors connected to another sandbox.
 */
record LaunchRequest(Sandbox policy, byte[] execPlan, ProcessBuilder pb, boolean capture, Optional<InSession> session,
        Optional<Connection> connection) {
    /**
     * A run in a persistent or pooled sandbox: its setup plan, and the session's cgroup (the run's
     * nests in it); or {@code shared}, the pooled sandbox's cgroup the run runs in without one of
     * its own.
     */
    record InSession(Launcher.SetupCompiler setup, Optional<SandboxCgroup> outer, Optional<SharedCgroup> shared) {
        InSession(Launcher.SetupCompiler setup, Optional<SandboxCgroup> outer) {
            this(setup, outer, Optional.empty());
        }
    }

    /** Standard input and output from these descriptors (the JVM keeps its own copies; the caller closes them). */
    record Connection(int stdinFd, int stdoutFd) {}

    LaunchRequest {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(execPlan, "execPlan");
        Objects.requireNonNull(pb, "pb");
        if (capture && connection.isPresent()) {
            throw new IllegalArgumentException("a connected program's output is read by the other sandbox, not captured");
        }
    }

    /** A fresh sandbox of {@code policy}; with {@code capture}, the monitor thread collects its piped stdout and stderr. */
    static LaunchRequest fresh(Sandbox policy, byte[] execPlan, ProcessBuilder pb, boolean capture) {
        return new LaunchRequest(policy, execPlan, pb, capture, Optional.empty(), Optional.empty());
    }

    /** A run in a persistent sandbox. */
    static LaunchRequest inSession(Sandbox run, byte[] execPlan, ProcessBuilder pb, boolean capture, Launcher.SetupCompiler setup,
            Optional<SandboxCgroup> outer) {
        return new LaunchRequest(run, execPlan, pb, capture, Optional.of(new InSession(setup, outer)), Optional.empty());
    }

    /**
     * A run in a pooled sandbox: in a fresh cgroup nested in {@code outer}, or in the pooled
     * sandbox's own cgroup {@code shared} (counters reset, read from a baseline).
     */
    static LaunchRequest inPool(Sandbox run, byte[] execPlan, ProcessBuilder pb, boolean capture, Launcher.SetupCompiler setup,
            Optional<SandboxCgroup> outer, Optional<SharedCgroup> shared) {
        return new LaunchRequest(run, execPlan, pb, capture, Optional.of(new InSession(setup, outer, shared)), Optional.empty());
    }

    /** A fresh sandbox whose standard input and output are connected descriptors ({@code pb}'s stderr redirect counts). */
    static LaunchRequest connected(Sandbox policy, byte[] execPlan, ProcessBuilder pb, int stdinFd, int stdoutFd) {
        return new LaunchRequest(policy, execPlan, pb, false, Optional.empty(), Optional.of(new Connection(stdinFd, stdoutFd)));
    }
}
