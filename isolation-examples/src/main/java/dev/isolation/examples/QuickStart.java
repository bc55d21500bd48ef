package dev.isolation.examples;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Sandbox;
import java.nio.charset.StandardCharsets;

/** The README's example: a shell that sees its own PID 1, hostname and process list. */
public final class QuickStart {
    public static void main(String[] args) throws Exception {
        Sandbox sandbox = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().hostname("box").build();
        try (IsolatedProcess p = sandbox.start("sh", "-c", "echo $$; hostname; ls /proc | grep -c '^[0-9]'")) {
            System.out.print(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            System.out.println(p.outcome().join());
        }
    }
}
