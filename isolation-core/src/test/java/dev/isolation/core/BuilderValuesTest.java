package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupLimits;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random values, extremes included, into every setter of {@link Sandbox.Builder} with a number,
 * duration or size: each is rejected at once with an {@link IllegalArgumentException} or {@link
 * IllegalStateException} naming the setter, or the policy builds and compiles into launch plans
 * without any other exception (where an unchecked {@link ArithmeticException} came from before).
 */
class BuilderValuesTest {
    private static final Sandbox BASE = Sandbox.builder().pidNs().mountNs().minimalRoot().seccomp(SeccompPolicy.none()).build();

    @Test
    void everySetterRejectsABadValueNamingItselfOrCompilesIntoAPlan() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int rejected = 0;
        int compiled = 0;
        for (BuilderValues.Setter setter : BuilderValues.ALL) {
            for (int trial = 0; trial < 300; trial++) {
                Sandbox.Builder b = BASE.toBuilder();
                Sandbox sandbox;
                try {
                    setter.apply(b, random);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    assertThat(e.getMessage()).as("seed %d", seed).contains(setter.name());
                    rejected++;
                    continue;
                }
                try {
                    sandbox = b.build();
                } catch (IllegalStateException e) {
                    assertThat(e.getMessage()).as("seed %d", seed).contains(setter.name());
                    rejected++;
                    continue;
                }
                sandbox.setupPlan(java.util.Optional.of(SandboxIds.Lease.unlocked(Sandbox.DEFAULT_FIRST_ID)), PlanCompiler.Placement.NONE).encode(); // every value converted to its wire form
                sandbox.execPlan(new ProcessBuilder("true"));
                sandbox.cgroupLimits().map(CgroupLimits::toString);
                sandbox.cgroupLimits().flatMap(CgroupLimits::cpuQuota);
                compiled++;
            }
        }
        assertThat(rejected).as("seed %d", seed).isPositive();
        assertThat(compiled).as("seed %d", seed).isPositive();
    }

    @Test
    void combinationsOfValuesRejectOrCompile() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int trial = 0; trial < 3000; trial++) {
            Sandbox.Builder b = BASE.toBuilder();
            List<String> applied = new ArrayList<>();
            try {
                for (int i = 0, n = 2 + random.nextInt(4); i < n; i++) {
                    BuilderValues.Setter setter = BuilderValues.ALL.get(random.nextInt(BuilderValues.ALL.size()));
                    applied.add(setter.name());
                    setter.apply(b, random);
                }
            } catch (IllegalArgumentException | IllegalStateException e) {
                assertThat(e.getMessage()).as("seed %d", seed).contains(applied.get(applied.size() - 1));
                continue;
            }
            Sandbox sandbox;
            try {
                sandbox = b.build();
            } catch (IllegalStateException e) {
                assertThat(e.getMessage()).as("seed %d", seed).containsAnyOf(applied.toArray(String[]::new));
                continue;
            }
            sandbox.setupPlan(java.util.Optional.of(SandboxIds.Lease.unlocked(Sandbox.DEFAULT_FIRST_ID)), PlanCompiler.Placement.NONE).encode();
            sandbox.execPlan(new ProcessBuilder("true"));
        }
    }
}
