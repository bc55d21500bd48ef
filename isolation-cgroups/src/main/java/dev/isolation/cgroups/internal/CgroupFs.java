package dev.isolation.cgroups.internal;

import dev.isolation.cgroups.CgroupException;
import dev.isolation.cgroups.CgroupUnavailableException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * File operations on cgroupfs, turning Java I/O errors into {@link CgroupException}s that name the
 * controller, file and value, and the errno the kernel returned.
 */
public final class CgroupFs {
    private static final String HOST_FIX = "run as root, or delegate the cgroup subtree to this user"
            + " (chown the directory and the files in it), and make sure"
            + " /sys/fs/cgroup is not mounted read-only (containers: --cgroupns=private and a writable cgroup mount)";

    // strerror(3) texts as the JDK reports them, to name the errno like the C tools do.
    private static final Map<String, String> ERRNO = Map.ofEntries(
            Map.entry("Operation not permitted", "EPERM"),
            Map.entry("No such file or directory", "ENOENT"),
            Map.entry("No such process", "ESRCH"),
            Map.entry("Permission denied", "EACCES"),
            Map.entry("Device or resource busy", "EBUSY"),
            Map.entry("File exists", "EEXIST"),
            Map.entry("No such device", "ENODEV"),
            Map.entry("Invalid argument", "EINVAL"),
            Map.entry("No space left on device", "ENOSPC"),
            Map.entry("Read-only file system", "EROFS"),
            Map.entry("Directory not empty", "ENOTEMPTY"),
            Map.entry("Operation not supported", "EOPNOTSUPP"),
            Map.entry("Resource temporarily unavailable", "EAGAIN"),
            Map.entry("Numerical result out of range", "ERANGE"));

    private CgroupFs() {
    }

    /**
     * The file's content without the trailing newline. {@link Files#readString} also on an
     * interrupted thread (a sandbox closed by a thread being stopped must still read its cgroup
     * files): it reads through a channel the JDK makes uninterruptible, where a plain {@link
     * FileChannel} fails with {@link java.nio.channels.ClosedByInterruptException}.
     */
    public static String read(Path file, String controller) throws CgroupException {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw failure("read", null, file, controller, e);
        }
    }

    /** The file's content, or empty when it does not exist (kernel too old, controller off). */
    public static Optional<String> readIfExists(Path file, String controller) throws CgroupException {
        try {
            return Optional.of(Files.readString(file).strip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw failure("read", null, file, controller, e);
        }
    }

    /** A flat-keyed file ({@code key value} per line, e.g. cpu.stat, memory.events), or empty. */
    public static Optional<Map<String, Long>> readKeyedIfExists(Path file, String controller) throws CgroupException {
        Optional<String> text = readIfExists(file, controller);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Long> out = new HashMap<>();
        for (String line : text.get().split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2) {
                try {
                    out.put(kv[0], Long.parseLong(kv[1]));
                } catch (NumberFormatException ignored) {
                    // Non-numeric keys (none today) are not counters.
                }
            }
        }
        return Optional.of(out);
    }

    /** A single-number file, or empty when it does not exist. */
    public static Optional<Long> readLongIfExists(Path file, String controller) throws CgroupException {
        Optional<String> s = readIfExists(file, controller);
        if (s.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(s.get().equals("max") ? -1L : Long.parseLong(s.get()));
        } catch (NumberFormatException e) {
            throw new CgroupException("read(" + file + "): not a number: \"" + s.get() + "\"", controller, file, null, e);
        }
    }

    /** The pids listed in a cgroup.procs file; empty when the directory is gone. */
    public static List<Long> pids(Path procsFile) throws CgroupException {
        List<Long> out = new ArrayList<>();
        for (String line : readIfExists(procsFile, null).orElse("").split("\n")) {
            if (!line.isBlank()) {
                out.add(Long.parseLong(line.trim()));
            }
        }
        return out;
    }

    /**
     * Writes {@code value} with a single write(2), as cgroupfs parses each write as one value.
     *
     * @throws CgroupUnavailableException on EACCES, EPERM, EROFS, ENOENT (not writable, or the
     *     kernel lacks the file)
     * @throws CgroupException on other errors, e.g. EINVAL for a value the kernel rejects
     */
    public static void write(Path file, String value, String controller) throws CgroupException {
        write(file, value, controller, errno -> Optional.empty());
    }

    /**
     * {@link #write(Path, String, String)}, and when the kernel rejects the value (an error other
     * than the host's), the message goes on with {@code advice} for the errno name (e.g.
     * {@code "ERANGE"}): what to do.
     */
    public static void write(Path file, String value, String controller, Function<String, Optional<String>> advice)
            throws CgroupException {
        // a FileChannel of an interrupted thread fails at once (ClosedByInterruptException); a
        // sandbox closed by a thread being stopped must still kill and remove what it made
        boolean interrupted = Thread.interrupted();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(value.getBytes(StandardCharsets.UTF_8));
            ch.write(buf);
            if (buf.hasRemaining()) {
                throw new IOException("short write");
            }
        } catch (IOException e) {
            CgroupException f = failure("write", value, file, controller, e);
            if (f instanceof CgroupUnavailableException) {
                throw f;
            }
            Optional<String> what = advice.apply(errnoOf(e).split(" ")[0]);
            throw what.isEmpty() ? f : new CgroupException(f.getMessage() + ": the kernel rejected the value; "
                    + what.get(), controller, file, value, e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** mkdir(2); a directory that already exists is an error, as it might not be ours. */
    public static void mkdir(Path dir, String controller) throws CgroupException {
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            throw new CgroupException("mkdir(" + dir + "): EEXIST (File exists)", controller, dir, null, e);
        } catch (IOException e) {
            throw failure("mkdir", null, dir, controller, e);
        }
    }

    /**
     * rmdir(2), retrying on EBUSY for up to {@code patience} while the kernel releases the cgroup
     * (exiting tasks still charged to it). A directory already gone counts as removed.
     */
    public static void rmdir(Path dir, Duration patience) throws CgroupException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                Files.delete(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (IOException e) {
                String errno = errnoOf(e);
                if (errno.startsWith("EBUSY") && System.nanoTime() < deadline) {
                    sleep(10);
                    continue;
                }
                throw failure("rmdir", null, dir, null, e);
            }
        }
    }

    /**
     * One rmdir(2) attempt: true when the directory is gone (removed now or before), false while
     * the kernel still reports it busy (EBUSY: tasks or child cgroups left).
     */
    public static boolean tryRmdir(Path dir) throws CgroupException {
        try {
            Files.delete(dir);
            return true;
        } catch (NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            if (errnoOf(e).startsWith("EBUSY")) {
                return false;
            }
            throw failure("rmdir", null, dir, null, e);
        }
    }

    /** Writes {@code value} if {@code file} exists and takes it; whether it did. */
    public static boolean tryWrite(Path file, String value) {
        try {
            write(file, value, null);
            return true;
        } catch (CgroupException e) {
            return false;
        }
    }

    /** Sleeps, keeping the interrupt flag set for the caller. */
    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static CgroupException failure(String op, String value, Path file, String controller, IOException e) {
        String errno = errnoOf(e);
        String call = op + "(" + (value == null ? "" : "\"" + value.strip() + "\" -> ") + file + "): " + errno;
        String name = errno.split(" ")[0];
        if (name.equals("EACCES") || name.equals("EPERM") || name.equals("EROFS")) {
            return new CgroupUnavailableException(call + "; the cgroup is not writable: " + HOST_FIX,
                    controller, file, value, e);
        }
        if (name.equals("ENOENT") && !op.equals("rmdir")) {
            return new CgroupUnavailableException(call + "; the kernel or the cgroup lacks this file"
                    + (controller == null ? "" : ": mount the " + controller + " controller (v1) or enable it for the"
                    + " children of the parent cgroup (v2)"), controller, file, value, e);
        }
        return new CgroupException(call, controller, file, value, e);
    }

    /** {@code "EINVAL (Invalid argument)"}, or the JDK's text when the errno is not recognised. */
    static String errnoOf(IOException e) {
        String reason = e instanceof FileSystemException ? ((FileSystemException) e).getReason() : e.getMessage();
        if (reason == null && e instanceof NoSuchFileException) {
            reason = "No such file or directory";
        }
        if (reason == null && e instanceof java.nio.file.AccessDeniedException) {
            reason = "Permission denied";
        }
        if (reason == null) {
            reason = e.getClass().getSimpleName();
        }
        String name = ERRNO.get(reason);
        return name == null ? reason : name + " (" + reason + ")";
    }
}
