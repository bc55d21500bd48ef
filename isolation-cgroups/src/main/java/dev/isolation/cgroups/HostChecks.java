package dev.isolation.cgroups;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.BitSet;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Checks limits against what this host allows, before any cgroup is created, so that a value the
 * kernel would reject (or silently not enforce) is a {@link CgroupException} naming the limit, the
 * value, the host's bound and where it comes from, instead of an errno at write time.
 */
final class HostChecks {
    private HostChecks() {
    }

    /** Checks that need no parent cgroup: pids against {@code pid_max}. */
    static void check(CgroupLimits limits, OptionalLong pidMax) throws CgroupException {
        if (limits.pidsLimit().isPresent() && pidMax.isPresent()) {
            checkPids(limits.pidsLimit().getAsLong(), pidMax.getAsLong());
        }
    }

    static void checkPids(long limit, long pidMax) throws CgroupException {
        if (limit > pidMax) {
            Path file = Path.of("/proc/sys/kernel/pid_max");
            throw new CgroupException("pidsLimit " + limit + " is above this host's pid_max " + pidMax
                    + " (" + file + "), so it would limit nothing: use at most " + pidMax, "pids", file, Long.toString(limit), null);
        }
    }

    /** Checks against the parent the sandbox is created in: cpuset lists, the memory limit in force there. */
    static void checkAgainstParent(CgroupLimits limits, Hierarchy h, CgroupHost host, Path parentDir) throws CgroupException {
        if (h.has(CgroupController.CPUSET) && host.route(CgroupController.CPUSET).orElse(null) == h) {
            Optional<String> cpus = limits.cpusetCpus().isPresent() ? h.backend.cpusetAllowed(parentDir, false) : Optional.empty();
            if (cpus.isPresent()) {
                checkSubset("cpusetCpus", limits.cpusetCpus().get(), cpus.get(), parentDir, "CPUs");
            }
            Optional<String> mems = limits.cpusetMems().isPresent() ? h.backend.cpusetAllowed(parentDir, true) : Optional.empty();
            if (mems.isPresent()) {
                checkSubset("cpusetMems", limits.cpusetMems().get(), mems.get(), parentDir, "memory nodes");
            }
        }
        if (limits.memoryLimit().isPresent() && host.route(CgroupController.MEMORY).orElse(null) == h) {
            ByteSize want = limits.memoryLimit().get();
            for (Path d = parentDir; d != null && d.startsWith(h.mountPoint); d = d.getParent()) {
                Optional<ByteSize> there = h.backend.memoryLimit(d);
                if (there.isPresent()) {
                    checkMemory(want, there.get(), d);
                }
                if (d.equals(h.mountPoint)) {
                    break;
                }
            }
        }
    }


    static void checkMemory(ByteSize want, ByteSize parentLimit, Path parent) throws CgroupException {
        if (want.compareTo(parentLimit) > 0) {
            throw new CgroupException("memoryLimit " + want + " is above the limit of the parent cgroup " + parent
                    + " (" + parentLimit + "), which applies first, so it would limit nothing: use at most " + parentLimit
                    + ", or create the sandbox under another parent", "memory", parent, Long.toString(want.bytes()), null);
        }
    }

    static void checkSubset(String limit, String requested, String allowed, Path parent, String what) throws CgroupException {
        BitSet want = parseList(requested);
        BitSet have = parseList(allowed);
        BitSet extra = (BitSet) want.clone();
        extra.andNot(have);
        if (!extra.isEmpty()) {
            throw new CgroupException(limit + " \"" + requested + "\" names " + what + " " + toList(extra)
                    + " that the parent cgroup " + parent + " does not have (it allows \"" + allowed + "\"): use a subset of \""
                    + allowed + "\"", "cpuset", parent, requested, null);
        }
    }

    /** A kernel list such as {@code 0-3,6} as a set; the empty string is the empty set. */
    static BitSet parseList(String list) {
        BitSet out = new BitSet();
        for (String part : list.strip().split(",")) {
            if (part.isEmpty()) {
                continue;
            }
            String[] r = part.split("-");
            int from = Integer.parseInt(r[0].strip());
            int to = r.length == 2 ? Integer.parseInt(r[1].strip()) : from;
            out.set(from, to + 1);
        }
        return out;
    }

    private static String toList(BitSet s) {
        StringBuilder sb = new StringBuilder();
        for (int i = s.nextSetBit(0); i >= 0; ) {
            int end = s.nextClearBit(i) - 1;
            sb.append(sb.length() == 0 ? "" : ",").append(i).append(end > i ? "-" + end : "");
            i = s.nextSetBit(end + 1);
        }
        return sb.toString();
    }

    /**
     * {@code /proc/sys/kernel/pid_max}, when readable. Read line-wise: {@code Files.readString}
     * returns only the first byte of a sysctl file (it reports size 0 and short-reads).
     */
    static OptionalLong readPidMax() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/sys/kernel/pid_max"));
            return lines.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(lines.get(0).strip()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
