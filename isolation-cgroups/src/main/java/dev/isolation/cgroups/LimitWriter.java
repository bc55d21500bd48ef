package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** Writes {@link CgroupLimits} into a sandbox's directories, v1 or v2 per controller. */
final class LimitWriter {
    private final SandboxCgroup sandbox;
    private final CgroupLimits limits;

    LimitWriter(SandboxCgroup sandbox, CgroupLimits limits) {
        this.sandbox = sandbox;
        this.limits = limits;
    }

    void apply() throws IOException {
        memory();
        cpu();
        cpuset();
        if (limits.pidsLimit().isPresent()) {
            set(CgroupController.PIDS, "pidsLimit", "pids.max", Long.toString(limits.pidsLimit().getAsLong()));
        }
        io();
        devices();
    }

    private void memory() throws IOException {
        if (limits.memoryLimit().isEmpty()) {
            return;
        }
        long mem = limits.memoryLimit().get().bytes();
        ByteSize swap = limits.swapLimit().orElse(ByteSize.ZERO);
        boolean v2 = isV2(CgroupController.MEMORY);
        // A fresh cgroup's memsw is unlimited, so the memory limit (which must stay <= memsw) goes first.
        set(CgroupController.MEMORY, "memoryLimit", v2 ? "memory.max" : "memory.limit_in_bytes", Long.toString(mem));
        String swapFile = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
        String swapValue = Long.toString(v2 ? swap.bytes() : CgroupUnits.memswBytes(limits.memoryLimit().get(), swap));
        Path dir = sandbox.dir(CgroupController.MEMORY);
        if (dir != null && !Files.exists(dir.resolve(swapFile))) {
            if (!hostHasSwap()) {
                // Without swap the memory limit alone is complete; record why nothing was written.
                sandbox.notApplied.add(new AppliedLimit.NotApplied("swapLimit", swapValue,
                        swapFile + " is missing (no swap accounting), and the host has no swap: the limit is moot"));
                return;
            }
            unavailable("swapLimit", swapValue, new CgroupUnavailableException(dir.resolve(swapFile)
                    + " is missing: swap accounting is off, so the memory limit could be exceeded with swap;"
                    + " boot with swapaccount=1 (v1) or a kernel with CONFIG_MEMCG_SWAP, or disable swap"));
            return;
        }
        set(CgroupController.MEMORY, "swapLimit", swapFile, swapValue);
    }

    private static boolean hostHasSwap() {
        try {
            return Files.readAllLines(Path.of("/proc/swaps")).size() > 1;
        } catch (IOException e) {
            return true;
        }
    }

    private void cpu() throws IOException {
        boolean v2 = isV2(CgroupController.CPU);
        if (limits.cpuShares().isPresent()) {
            long shares = limits.cpuShares().getAsInt();
            set(CgroupController.CPU, "cpuShares", v2 ? "cpu.weight" : "cpu.shares",
                    Long.toString(v2 ? CgroupUnits.sharesToWeight(shares) : shares));
        }
        if (limits.cpuWeight().isPresent()) {
            long weight = limits.cpuWeight().getAsInt();
            set(CgroupController.CPU, "cpuWeight", v2 ? "cpu.weight" : "cpu.shares",
                    Long.toString(v2 ? weight : CgroupUnits.weightToShares(weight)));
        }
        if (limits.cpuQuota().isPresent()) {
            long quota = CgroupUnits.toMicros(limits.cpuQuota().get());
            long period = CgroupUnits.toMicros(limits.cpuPeriod());
            if (v2) {
                set(CgroupController.CPU, "cpuQuota", "cpu.max", CgroupUnits.cpuMax(OptionalLong.of(quota), period));
            } else {
                set(CgroupController.CPU, "cpuPeriod", "cpu.cfs_period_us", Long.toString(period));
                set(CgroupController.CPU, "cpuQuota", "cpu.cfs_quota_us", Long.toString(quota));
            }
        }
    }

    private void cpuset() throws IOException {
        if (limits.cpusetCpus().isPresent()) {
            set(CgroupController.CPUSET, "cpusetCpus", "cpuset.cpus", limits.cpusetCpus().get());
        }
        if (limits.cpusetMems().isPresent()) {
            set(CgroupController.CPUSET, "cpusetMems", "cpuset.mems", limits.cpusetMems().get());
        }
    }

    private void io() throws IOException {
        boolean v2 = isV2(CgroupController.IO);
        Path dir = sandbox.dir(CgroupController.IO);
        if (limits.ioWeight().isPresent()) {
            int w = limits.ioWeight().getAsInt();
            if (v2) {
                if (dir != null && !Files.exists(dir.resolve("io.weight")) && Files.exists(dir.resolve("io.bfq.weight"))) {
                    set(CgroupController.IO, "ioWeight", "io.bfq.weight", Long.toString(CgroupUnits.ioWeightToBlkioWeight(w)));
                } else {
                    set(CgroupController.IO, "ioWeight", "io.weight", "default " + w);
                }
            } else {
                // blkio.weight exists with CFQ (before 5.0); BFQ names it blkio.bfq.weight.
                String file = dir != null && !Files.exists(dir.resolve("blkio.weight")) && Files.exists(dir.resolve("blkio.bfq.weight"))
                        ? "blkio.bfq.weight" : "blkio.weight";
                set(CgroupController.IO, "ioWeight", file, Long.toString(CgroupUnits.ioWeightToBlkioWeight(w)));
            }
        }
        for (CgroupLimits.IoThrottle t : limits.ioThrottles()) {
            if (v2) {
                StringBuilder sb = new StringBuilder(t.device());
                t.readBytesPerSecond().ifPresent(v -> sb.append(" rbps=").append(v));
                t.writeBytesPerSecond().ifPresent(v -> sb.append(" wbps=").append(v));
                t.readIops().ifPresent(v -> sb.append(" riops=").append(v));
                t.writeIops().ifPresent(v -> sb.append(" wiops=").append(v));
                set(CgroupController.IO, "ioThrottle", "io.max", sb.toString());
            } else {
                throttleV1(t.device(), "ioReadBandwidth", "blkio.throttle.read_bps_device", t.readBytesPerSecond());
                throttleV1(t.device(), "ioWriteBandwidth", "blkio.throttle.write_bps_device", t.writeBytesPerSecond());
                throttleV1(t.device(), "ioReadIops", "blkio.throttle.read_iops_device", t.readIops());
                throttleV1(t.device(), "ioWriteIops", "blkio.throttle.write_iops_device", t.writeIops());
            }
        }
    }

    private void throttleV1(String device, String limit, String file, OptionalLong value) throws IOException {
        if (value.isPresent()) {
            set(CgroupController.IO, limit, file, device + " " + value.getAsLong());
        }
    }

    private void devices() throws IOException {
        List<CgroupLimits.DeviceRule> rules = limits.deviceRules();
        if (rules.isEmpty()) {
            return;
        }
        if (sandbox.dir(CgroupController.DEVICES) == null || isV2(CgroupController.DEVICES)) {
            unavailable("deviceAllow", rules.toString(), new CgroupUnavailableException(
                    "device rules need the cgroup v1 devices controller, which this host lacks; cgroup v2 filters devices"
                            + " with eBPF programs, which this library does not install: drop the device rules or use a"
                            + " device-less mount namespace instead"));
            return;
        }
        set(CgroupController.DEVICES, "deviceDenyAll", "devices.deny", "a");
        for (CgroupLimits.DeviceRule r : rules) {
            set(CgroupController.DEVICES, "deviceAllow", "devices.allow", r.toString());
        }
    }

    private boolean isV2(CgroupController c) {
        Hierarchy h = sandbox.hierarchy(c);
        return h != null && h.v2;
    }

    private void set(CgroupController c, String limit, String fileName, String value) throws IOException {
        Path dir = sandbox.dir(c);
        if (dir == null) {
            unavailable(limit, value, new CgroupUnavailableException("cannot apply " + limit + "=" + value + ": the "
                    + c.v1Name() + " controller is not available on this host: mount it (v1: mount -t cgroup -o "
                    + c.v1Name() + " cgroup /sys/fs/cgroup/" + c.v1Name() + ") or enable it in the parent's"
                    + " cgroup.subtree_control (v2)"));
            return;
        }
        Path file = dir.resolve(fileName);
        try {
            CgroupFs.write(file, value, sandbox.hierarchy(c).nameOf(c));
            sandbox.applied.add(new AppliedLimit(limit, value, file));
        } catch (CgroupUnavailableException e) {
            unavailable(limit, value, e);
        }
    }

    private void unavailable(String limit, String value, CgroupUnavailableException e) throws CgroupUnavailableException {
        if (!limits.bestEffort()) {
            throw e;
        }
        sandbox.notApplied.add(new AppliedLimit.NotApplied(limit, value, e.getMessage()));
    }
}
