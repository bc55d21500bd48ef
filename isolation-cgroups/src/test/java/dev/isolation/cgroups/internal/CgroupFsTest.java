package dev.isolation.cgroups.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupFsTest {

    /**
     * A sandbox closed by a thread being stopped (an executor's shutdownNow()) reads and writes its
     * cgroup files: with a plain FileChannel both failed with ClosedByInterruptException and a
     * judge worker stopped by SIGTERM left its session's cgroups behind
     * (JudgeScaleIT#sigtermAfterTheGracePeriodGivesBackWhatTheWorkerHolds).
     */
    @Test
    void anInterruptedThreadReadsAndWritesAndStaysInterrupted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cgroup.procs");
        Files.writeString(file, "old\n");
        Thread.currentThread().interrupt();
        try {
            assertThat(CgroupFs.read(file, "test")).isEqualTo("old");
            CgroupFs.write(file, "new", "test");
            assertThat(CgroupFs.readIfExists(file, "test")).contains("new");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(Files.readString(file)).startsWith("new"); // a cgroup file is not truncated; this one keeps its newline
    }
}
