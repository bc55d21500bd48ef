package dev.isolation.core;

import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.NativeCallException;
import java.io.IOException;

/**
 * Two sandboxed programs talking to each other, as interactive judge problems run: the
 * interactor's standard output is the solution's standard input and the other way round. Each
 * runs in its own sandbox with its own limits and has its own outcome. Standard error is as each
 * {@link ProcessBuilder} says. The output limit of either sandbox applies to its standard error and
 * its files, not to the connection: the other program reads that, at the speed of a direct pipe.
 *
 * <p>Thread-safe, as its two {@link IsolatedProcess}es are; {@link #close()} is idempotent.
 *
 * @since 0.1.0
 */
public final class Interaction implements AutoCloseable {
    private final IsolatedProcess interactor;
    private final IsolatedProcess solution;

    private Interaction(IsolatedProcess interactor, IsolatedProcess solution) {
        this.interactor = interactor;
        this.solution = solution;
    }

    /**
     * Starts both; if the second cannot start, the first is killed and nothing is left.
     *
     * @param interactorSandbox the policy of the interactor
     * @param interactor the interactor's command; its standard output goes to the solution's
     *     standard input
     * @param solutionSandbox the policy of the solution
     * @param solution the solution's command; its standard output goes to the interactor's
     *     standard input
     * @return both, running
     * @throws SandboxException if the sandbox cannot be set up (a {@link SandboxSetupException}
     *     names the failed call)
     */
    public static Interaction start(Sandbox interactorSandbox, ProcessBuilder interactor, Sandbox solutionSandbox,
            ProcessBuilder solution) throws SandboxException {
        Kernel k = Kernel.get();
        int[] toSolution = k.pipe();
        int[] toInteractor;
        try {
            toInteractor = k.pipe();
        } catch (NativeCallException e) {
            k.close(toSolution[0]);
            k.close(toSolution[1]);
            throw new SandboxSetupException(e);
        }
        try {
            IsolatedProcess i = Launcher.start(LaunchRequest.connected(interactorSandbox, interactorSandbox.execPlan(interactor),
                    interactor, toInteractor[0], toSolution[1]));
            try {
                IsolatedProcess s = Launcher.start(LaunchRequest.connected(solutionSandbox, solutionSandbox.execPlan(solution),
                        solution, toSolution[0], toInteractor[1]));
                return new Interaction(i, s);
            } catch (SandboxException | RuntimeException e) {
                try {
                    i.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } finally {
            for (int fd : new int[] {toSolution[0], toSolution[1], toInteractor[0], toInteractor[1]}) {
                k.close(fd); // the sandboxes have their own copies
            }
        }
    }

    /** {@return the interactor's process (the checker)} */
    public IsolatedProcess interactor() {
        return interactor;
    }

    /** {@return the solution's process} */
    public IsolatedProcess solution() {
        return solution;
    }

    /** Closes both (killing what is left of either). */
    @Override
    public void close() throws IOException {
        try {
            solution.close();
        } finally {
            interactor.close();
        }
    }
}
