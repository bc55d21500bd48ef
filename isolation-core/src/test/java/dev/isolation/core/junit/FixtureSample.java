package dev.isolation.core.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.core.IsolatedProcess;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Run by {@link JunitSupportIT} through the launcher, not by Surefire (no Test/IT suffix): its
 * fixtures record their pids so that the IT can check they were started per test and gone after.
 */
class FixtureSample {
    static final List<Long> PIDS = new CopyOnWriteArrayList<>();
    static final List<Boolean> ALIVE_IN_BEFORE_EACH = new CopyOnWriteArrayList<>();

    @SandboxedProcess(command = {"sh", "-c", "echo fixture-stderr-line >&2; exec cat"})
    IsolatedProcess fixture;

    @BeforeEach
    void fixtureIsThereBeforeEach() {
        ALIVE_IN_BEFORE_EACH.add(fixture != null && fixture.isAlive());
    }

    @Test
    void first() {
        PIDS.add(fixture.pid());
        assertThat(fixture.isAlive()).isTrue();
    }

    @Test
    void second() {
        PIDS.add(fixture.pid());
        assertThat(fixture.isAlive()).isTrue();
    }

    @Test
    void failing() {
        PIDS.add(fixture.pid());
        assertThat("the test's own assertion").isEqualTo("fails, so the report carries the fixture");
    }

    @Test
    void parameter(@SandboxedProcess(command = {"sh", "-c", "echo parameter-stderr-line >&2; exit 3"}) IsolatedProcess p)
            throws Exception {
        PIDS.add(p.pid());
        assertThat(p.waitFor()).as("fails: the parameter's program exits 3").isZero();
    }
}
