package dev.isolation.cgroups;

import dev.isolation.cgroups.internal.CgroupBackend;
import dev.isolation.cgroups.internal.CgroupBackend.LimitStep;
import dev.isolation.cgroups.internal.CgroupFs;
import dev.isolation.cgroups.internal.v2.V2Backend;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes {@link CgroupLimits} into a sandbox's directories: each controller's part through the
 * backend of the hierarchy it is routed to (v1 or v2, per controller on hybrid hosts). Returns
 * what was written and what was not; it keeps no state.
 */
final class LimitWriter {
    /** The limits written, in order, and those not written with the reason. */
    record Result(List<AppliedLimit> applied, List<AppliedLimit.NotApplied> notApplied) {
        static final Result NONE = new Result(List.of(), List.of());

        Result {
            applied = List.copyOf(applied);
            notApplied = List.copyOf(notApplied);
        }
    }

    private static final List<CgroupController> ORDER = List.of(CgroupController.MEMORY, CgroupController.CPU,
            CgroupController.CPUSET, CgroupController.PIDS, CgroupController.IO, CgroupController.DEVICES);

    private LimitWriter() {
    }

    /** The controllers {@code limits} cannot do without. */
    static Set<CgroupController> controllersNeeded(CgroupLimits limits) {
        Set<CgroupController> out = EnumSet.noneOf(CgroupController.class);
        if (limits.memoryLimit().isPresent()) {
            out.add(CgroupController.MEMORY);
        }
        if (limits.pidsLimit().isPresent()) {
            out.add(CgroupController.PIDS);
        }
        if (limits.needsCpu()) {
            out.add(CgroupController.CPU);
        }
        if (limits.needsCpuset()) {
            out.add(CgroupController.CPUSET);
        }
        if (limits.needsIo()) {
            out.add(CgroupController.IO);
        }
        if (!limits.deviceRules().isEmpty()) {
            out.add(CgroupController.DEVICES);
        }
        return out;
    }

    /**
     * Applies {@code limits} through {@code routes} (each controller's directory and hierarchy).
     *
     * @throws CgroupUnavailableException if a limit needs what the host lacks, unless best effort
     * @throws CgroupException if the kernel rejects a value; the message says what to do
     */
    static Result apply(Map<CgroupController, SandboxCgroup.Node> routes, CgroupLimits limits) throws IOException {
        List<AppliedLimit> applied = new ArrayList<>();
        List<AppliedLimit.NotApplied> notApplied = new ArrayList<>();
        Set<CgroupController> needed = controllersNeeded(limits);
        for (CgroupController c : ORDER) {
            if (!needed.contains(c)) {
                continue;
            }
            SandboxCgroup.Node node = routes.get(c);
            if (c == CgroupController.DEVICES && node == null) {
                unavailable(limits, notApplied, "deviceAllow", limits.deviceRules().toString(),
                        new CgroupUnavailableException(V2Backend.DEVICES_NEED_V1));
                continue;
            }
            if (node == null) {
                unavailable(limits, notApplied, c.name().toLowerCase(java.util.Locale.ROOT) + " limits", limits.toString(),
                        new CgroupUnavailableException("cannot apply the " + c.v1Name() + " limits of " + limits + ": the "
                                + c.v1Name() + " controller is not available on this host: mount it (v1: mount -t cgroup -o "
                                + c.v1Name() + " cgroup /sys/fs/cgroup/" + c.v1Name() + ") or enable it for the"
                                + " children of the parent cgroup (v2)"));
                continue;
            }
            CgroupBackend backend = node.hierarchy().backend;
            for (LimitStep step : backend.limits(c, node.dir(), limits)) {
                if (step instanceof LimitStep.Skip skip) {
                    if (skip.moot()) {
                        notApplied.add(new AppliedLimit.NotApplied(skip.limit(), skip.value(), skip.reason()));
                    } else {
                        unavailable(limits, notApplied, skip.limit(), skip.value(), new CgroupUnavailableException(skip.reason()));
                    }
                    continue;
                }
                LimitStep.Write w = (LimitStep.Write) step;
                try {
                    CgroupFs.write(w.file(), w.value(), w.controller(), errno -> backend.advice(w.file(), w.value(), errno));
                    applied.add(new AppliedLimit(w.limit(), w.value(), w.file()));
                } catch (CgroupUnavailableException e) {
                    unavailable(limits, notApplied, w.limit(), w.value(), e);
                }
            }
        }
        return new Result(applied, notApplied);
    }

    private static void unavailable(CgroupLimits limits, List<AppliedLimit.NotApplied> notApplied, String limit, String value,
                                    CgroupUnavailableException e) throws CgroupUnavailableException {
        if (!limits.bestEffort()) {
            throw e;
        }
        notApplied.add(new AppliedLimit.NotApplied(limit, value, e.getMessage()));
    }
}
