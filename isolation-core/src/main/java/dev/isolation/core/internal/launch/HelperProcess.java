package dev.isolation.core.internal.launch;

import dev.isolation.core.internal.linux.Kernel;
import dev.isolation.core.internal.linux.Kernel.FileAction;
import dev.isolation.core.internal.linux.NativeCallException;
import dev.isolation.core.internal.seccomp.BpfCompiler;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * One running native helper: the monitor of one sandbox. Owns the three pipes to it, one per
 * protocol: the plan pipe (the setup plan, read by the monitor, then the exec plan, read by the
 * sandbox), the control pipe (one-byte commands to the monitor; closing it kills the sandbox) and
 * the status pipe (reports). Its end is observed by {@link Monitor}'s single thread, not by a
 * thread of its own.
 */
public final class HelperProcess implements Monitor.Watched {
    static final int REPORT_ERROR = 1;
    static final int REPORT_STARTED = 2;
    static final int REPORT_EXIT = 3;

    private static final Kernel K = Kernel.get();

    private final int helperPid;
    private final int statusFd;
    private int planFd; // guarded by this; -1 once closed
    private int controlFd; // guarded by this; -1 once closed
    private int programPid;
    private ExitReport exit;
    private final Reports reports = new Reports();
    private final CompletableFuture<ExitReport> exited = new CompletableFuture<>();
    private volatile Runnable whenKilled;

    private HelperProcess(int helperPid, int planFd, int controlFd, int statusFd) {
        this.helperPid = helperPid;
        this.planFd = planFd;
        this.controlFd = controlFd;
        this.statusFd = statusFd;
    }

    /**
     * Starts a helper with the given stdio file actions and hands it the setup plan: it creates
     * and sets up the sandbox, which then waits for {@link #exec}.
     *
     * @throws NativeCallException if the helper cannot be started; setup failures come from {@link #awaitStarted()}
     */
    public static HelperProcess spawn(byte[] setupPlan, List<FileAction> stdio) {
        return spawn(setupPlan, stdio, OptionalInt.empty());
    }

    /**
     * Like {@link #spawn(byte[], List)}, handing the helper {@code lease}: a descriptor (a lock) it
     * keeps open, out of the sandbox's reach, until it exits. The caller may close its own copy.
     */
    public static HelperProcess spawn(byte[] setupPlan, List<FileAction> stdio, OptionalInt lease) {
        String path = HelperBinary.get().path();
        List<int[]> pipes = new ArrayList<>(3); // plan, status, control
        try {
            for (int i = 0; i < 3; i++) {
                pipes.add(K.pipe());
            }
        } catch (NativeCallException e) {
            pipes.forEach(p -> {
                K.close(p[0]);
                K.close(p[1]);
            });
            throw e;
        }
        int[] plan = pipes.get(0), status = pipes.get(1), control = pipes.get(2);
        int pid;
        try {
            List<FileAction> actions = new ArrayList<>(stdio);
            List<String> argv = new ArrayList<>(List.of("isolation-helper"));
            for (int fd : new int[] {plan[0], status[1], control[0]}) {
                actions.add(new FileAction.Dup2(fd, fd)); // same fd: clears close-on-exec
                argv.add(Integer.toString(fd));
            }
            lease.ifPresent(fd -> {
                actions.add(new FileAction.Dup2(fd, fd));
                argv.add(Integer.toString(fd));
            });
            pid = K.spawn(path, actions, argv.toArray(new String[0]), new String[0]);
        } catch (NativeCallException e) {
            K.close(plan[1]);
            K.close(status[0]);
            K.close(control[1]);
            throw e;
        } finally {
            K.close(plan[0]);
            K.close(status[1]);
            K.close(control[0]);
        }
        HelperProcess helper = new HelperProcess(pid, plan[1], control[1], status[0]);
        helper.sendPlan(setupPlan);
        return helper;
    }

    /** Hands the sandbox its exec plan: the program starts. */
    public void exec(byte[] execPlan) {
        sendPlan(execPlan);
    }

    private synchronized void sendPlan(byte[] message) {
        send(planFd, message);
    }

    private static void send(int fd, byte[] message) {
        if (fd >= 0) {
            try {
                K.write(fd, message);
            } catch (NativeCallException e) {
                // EPIPE: the helper is gone; its report says why
            }
        }
    }

    /**
     * Blocks until the program runs, then hands the helper to the monitor thread.
     *
     * @throws NativeCallException naming the step that failed; nothing of the sandbox is left then
     */
    public void awaitStarted() {
        NativeCallException failure = null;
        byte[] buf = new byte[4096];
        while (programPid == 0) {
            int n = K.read(statusFd, buf);
            if (n == 0) {
                break;
            }
            reports.append(buf, n);
            failure = reports.drain(this);
            if (failure != null) {
                break;
            }
        }
        if (programPid == 0) {
            int status = discard();
            if (failure == null) {
                failure = new NativeCallException("isolation-helper",
                        "ended before the program started (wait status " + status + ")", 5 /* EIO */);
            }
            throw failure;
        }
        Monitor.get().watch(statusFd, this);
    }

    /**
     * Ends a helper whose program never started (setup failed, or its streams could
     * not be opened): closing the control pipe makes it kill the sandbox and exit. Returns its wait status.
     */
    public int discard() {
        closeFds();
        byte[] buf = new byte[4096];
        while (K.read(statusFd, buf) > 0) {
            // drain until the helper is gone
        }
        int status = K.waitpid(helperPid);
        K.close(statusFd);
        exited.completeExceptionally(new IllegalStateException("the sandbox was discarded before its program started"));
        return status;
    }

    /** Called by {@link Monitor} when the status pipe is readable; returns false at end of file. */
    @Override
    public boolean onReadable(byte[] buf) {
        int n = K.read(statusFd, buf);
        if (n > 0) {
            reports.append(buf, n);
            reports.drain(this);
            return true;
        }
        return false;
    }

    /**
     * Called by {@link Monitor} once the helper closed the status pipe (it exited), or when
     * handling its reports failed: then the sandbox is killed, and the helper is waited for on the
     * library's pool rather than on the monitor thread.
     */
    @Override
    public void onEnd(Throwable failure) {
        if (failure == null && exit != null) {
            reap(null);
        } else if (failure == null) { // no report: killed, and whenKilled's action may start a sandbox
            Completions.run(() -> reap(null));
        } else {
            closeFds(); // the helper kills the sandbox and exits
            Completions.run(() -> reap(failure));
        }
    }

    /**
     * {@code action} runs, on the library's pool, if the helper is killed by a signal before it
     * reports the sandbox's end (it then never swept what the sandbox left), before {@link
     * #exited()} completes. Set right after the spawn: a helper killed before that has none.
     */
    public void whenKilled(Runnable action) {
        whenKilled = action;
    }

    private void reap(Throwable failure) {
        Throwable f = failure;
        int status = 0;
        try {
            status = K.waitpid(helperPid);
        } catch (Throwable e) {
            f = join(f, e);
        }
        boolean signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
        Runnable killed = whenKilled;
        if (f == null && exit == null && signaled && killed != null) {
            try {
                killed.run();
            } catch (Throwable e) {
                f = join(f, e);
            }
        }
        try {
            closeFds();
            K.close(statusFd);
        } catch (Throwable e) {
            f = join(f, e);
        }
        if (f != null) {
            exited.completeExceptionally(f);
        } else if (exit != null) {
            exited.complete(exit);
        } else {
            exited.completeExceptionally(new IllegalStateException(
                    "the sandbox monitor (pid " + helperPid + ") ended without a report, wait status " + status));
        }
    }

    private static Throwable join(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** The program's pid as seen from the JVM. */
    public int programPid() {
        return programPid;
    }

    /**
     * Completes when the sandbox is gone: every process in it has ended and the helper has exited;
     * exceptionally if it was {@linkplain #discard() discarded} before its program started.
     */
    public CompletableFuture<ExitReport> exited() {
        return exited;
    }

    /** SIGTERM to the program (through the sandbox's init when there is one). */
    public void terminate() {
        command('T');
    }

    /** SIGKILL to everything in the sandbox. */
    public void kill() {
        command('K');
    }

    private synchronized void command(char c) {
        send(controlFd, new byte[] {(byte) c});
    }

    /** Closing the control pipe makes the helper kill the sandbox. */
    public synchronized void closeFds() {
        if (planFd >= 0) {
            K.close(planFd);
            planFd = -1;
        }
        if (controlFd >= 0) {
            K.close(controlFd);
            controlFd = -1;
        }
    }

    /** Accumulates the status pipe's bytes and cuts them into records. */
    private static final class Reports {
        private ByteBuffer buf = ByteBuffer.allocate(8192).order(ByteOrder.nativeOrder());

        void append(byte[] bytes, int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(buf.capacity() * 2 + n).order(ByteOrder.nativeOrder());
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
            buf.put(bytes, 0, n);
        }

        /** Applies every whole record to {@code h}; returns a setup error if one was reported. */
        NativeCallException drain(HelperProcess h) {
            buf.flip();
            NativeCallException error = null;
            while (buf.remaining() >= 8) {
                int type = buf.getInt(buf.position());
                int len = buf.getInt(buf.position() + 4);
                if (buf.remaining() < 8 + len) {
                    break;
                }
                buf.position(buf.position() + 8);
                ByteBuffer rec = buf.slice().order(ByteOrder.nativeOrder()).limit(len);
                buf.position(buf.position() + len);
                switch (type) {
                    case REPORT_STARTED -> {
                        h.programPid = rec.getInt(); // then the sandbox's first process, unused here
                    }
                    case REPORT_EXIT -> h.exit = new ExitReport((int) rec.getLong(), (int) rec.getLong(), rec.getLong(),
                            rec.getLong(), rec.getLong(), rec.getLong(), rec.getLong(), rec.getLong(), rec.getLong());
                    case REPORT_ERROR -> error = parseError(rec);
                    default -> error = new NativeCallException("isolation-helper", "unknown report " + type, 71);
                }
            }
            buf.compact();
            return error;
        }

        private static NativeCallException parseError(ByteBuffer rec) {
            int errno = rec.getInt();
            byte[] rest = new byte[rec.remaining()];
            rec.get(rest);
            String[] parts = new String(rest, StandardCharsets.UTF_8).split("\0", -1);
            String argument = parts.length > 1 ? parts[1] : "";
            if (parts[0].equals("seccomp-denied") && argument.matches("\\d{1,6}")) {
                // a call the policy denies, made before the program ran (execve itself, or a step before it)
                return new NativeCallException(BpfCompiler.syscallName(Integer.parseInt(argument)),
                        "denied by the sandbox's seccomp policy before the program started", errno);
            }
            return new NativeCallException(parts[0], argument, errno);
        }
    }

}
