package dev.isolation.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.isolation.core.internal.linux.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The host side of copyIn/copyOut: whose files it may reach, and which paths it takes. */
class WorkDirFilesTest {
    private final Kernel k = Kernel.get();

    @Test
    void theProcessDirectoryIsOpenedOnlyForTheProcessThatStartedAtTheGivenTime() throws Exception {
        int self = k.getpid();
        long start = SandboxSession.startTime(self);
        int proc = WorkDirFiles.openProcess(self, start);
        try {
            int stat = k.openat(proc, "stat", Kernel.O_RDONLY, 0); // the descriptor names this process
            k.close(stat);
        } finally {
            k.close(proc);
        }
        // a keeper whose pid now belongs to a process started at another time: refused, naming why
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> WorkDirFiles.openProcess(self, start + 1));
        assertTrue(e.getMessage().contains("pid " + self + " is no longer the session's PID 1"), e.getMessage());
        assertTrue(e.getMessage().contains("the session's sandbox is gone"), e.getMessage());
    }

    @Test
    void theStartTimeIsReadAfterACommandNameHoldingSpacesAndParentheses() {
        String stat = "4242 (a) b (c) d) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n";
        assertEquals(987654L, SandboxSession.startTimeOf(stat));
    }

    @Test
    void pathsOutsideTheWorkDirectoryOrWithDotDotAreRefused() {
        assertEquals(List.of("a", "b"), WorkDirFiles.components("/box/a/b"));
        assertEquals(List.of("main.c"), WorkDirFiles.components("main.c"));
        assertThrows(IllegalArgumentException.class, () -> WorkDirFiles.components("/etc/passwd"));
        assertThrows(IllegalArgumentException.class, () -> WorkDirFiles.components("a/../../etc"));
    }
}
