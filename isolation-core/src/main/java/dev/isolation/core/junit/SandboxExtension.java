package dev.isolation.core.junit;

import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Outcome;
import dev.isolation.core.Sandbox;
import dev.isolation.core.SandboxException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * Starts and closes the {@link SandboxedProcess} fixtures; registered by that annotation, not used
 * directly.
 *
 * @since 0.1.0
 */
public final class SandboxExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SandboxExtension.class);
    /** How much of each captured stream is kept for the report: its last bytes. */
    static final int KEPT = 64 * 1024;

    /** Made by JUnit, from the annotation. */
    public SandboxExtension() {}

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        Object instance = context.getRequiredTestInstance();
        for (Field f : AnnotationSupport.findAnnotatedFields(instance.getClass(), SandboxedProcess.class, field -> true,
                HierarchyTraversalMode.TOP_DOWN)) {
            if (f.getType() != IsolatedProcess.class) {
                throw new ExtensionConfigurationException("@SandboxedProcess field " + f.getName() + " must be of type IsolatedProcess, is "
                        + f.getType().getName());
            }
            if (Modifier.isStatic(f.getModifiers())) {
                throw new ExtensionConfigurationException("@SandboxedProcess field " + f.getName()
                        + " must not be static: the fixture is started for each test");
            }
            // the annotation also registers this extension on the field: start each fixture once
            if (fixtures(context).stream().anyMatch(x -> x.name.equals("field " + f.getName()))) {
                continue;
            }
            Fixture fixture = start(f.getAnnotation(SandboxedProcess.class), context, "field " + f.getName());
            f.setAccessible(true);
            f.set(instance, fixture.process);
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.isAnnotated(SandboxedProcess.class);
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        if (parameter.getParameter().getType() != IsolatedProcess.class) {
            throw new ParameterResolutionException("@SandboxedProcess parameter " + parameter.getParameter().getName()
                    + " must be of type IsolatedProcess");
        }
        try {
            return start(parameter.findAnnotation(SandboxedProcess.class).orElseThrow(), context,
                    "parameter " + parameter.getIndex()).process;
        } catch (Exception e) {
            throw new ParameterResolutionException("cannot start the @SandboxedProcess parameter: " + e.getMessage(), e);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        List<Fixture> fixtures = fixtures(context);
        Optional<Throwable> failure = context.getExecutionException();
        IOException closeFailure = null;
        for (Fixture f : fixtures) {
            try {
                f.process.close(); // idempotent: kills what is left, waits until the sandbox is gone
            } catch (IOException e) {
                if (closeFailure == null) {
                    closeFailure = e;
                } else {
                    closeFailure.addSuppressed(e);
                }
            }
            if (failure.isPresent()) {
                String outcome = outcome(f.process);
                String report = "@SandboxedProcess " + f.name + " " + f.command + ": " + outcome
                        + f.stderr.map(s -> "\n--- its standard error (last " + KEPT / 1024 + " KiB) ---\n" + s.text()).orElse("")
                        + f.stdout.map(s -> "\n--- its standard output (last " + KEPT / 1024 + " KiB) ---\n" + s.text()).orElse("");
                failure.get().addSuppressed(new SandboxedProcessReport(report));
                context.publishReportEntry("isolation.outcome", outcome);
                f.stderr.ifPresent(s -> context.publishReportEntry("isolation.stderr", s.text()));
                f.stdout.ifPresent(s -> context.publishReportEntry("isolation.stdout", s.text()));
            }
        }
        fixtures.clear();
        if (closeFailure != null) {
            throw closeFailure;
        }
    }

    private static String outcome(IsolatedProcess p) {
        try {
            Outcome o = p.outcome().get(30, TimeUnit.SECONDS);
            return o.toString();
        } catch (Exception e) {
            return "no outcome (" + e + ")";
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Fixture> fixtures(ExtensionContext context) {
        return context.getStore(NAMESPACE).getOrComputeIfAbsent("fixtures", k -> new ArrayList<Fixture>(), List.class);
    }

    private Fixture start(SandboxedProcess spec, ExtensionContext context, String name) throws Exception {
        if (spec.command().length == 0) {
            throw new ExtensionConfigurationException("@SandboxedProcess " + name + ": command must not be empty");
        }
        Sandbox sandbox = spec.sandbox().isEmpty() ? defaultSandbox() : policy(spec.sandbox(), context);
        ProcessBuilder pb = new ProcessBuilder(spec.command());
        IsolatedProcess p;
        try {
            p = sandbox.start(pb);
        } catch (SandboxException e) {
            throw new SandboxException("@SandboxedProcess " + name + " " + pb.command() + " did not start: " + e.getMessage(), e);
        }
        Fixture f = new Fixture(name, pb.command(), p, Optional.of(Tail.drain(p.getErrorStream(), "stderr of " + name)),
                spec.captureStdout() ? Optional.of(Tail.drain(p.getInputStream(), "stdout of " + name)) : Optional.empty());
        fixtures(context).add(f);
        return f;
    }

    private static Sandbox defaultSandbox() {
        Sandbox.Builder b = Sandbox.builder().pidNs().mountNs().netNs().ipcNs().utsNs();
        if (!SandboxConditions.root()) {
            b.userNs();
        }
        return b.build();
    }

    /** The field or no-argument method {@code name} of the test class or an enclosing one: a Sandbox. */
    private static Sandbox policy(String name, ExtensionContext context) throws Exception {
        List<Object> instances = context.getRequiredTestInstances().getAllInstances();
        for (int i = instances.size() - 1; i >= 0; i--) {
            Object instance = instances.get(i);
            for (Class<?> c = instance.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (f.getName().equals(name) && Sandbox.class.isAssignableFrom(f.getType())) {
                        f.setAccessible(true);
                        return (Sandbox) f.get(Modifier.isStatic(f.getModifiers()) ? null : instance);
                    }
                }
                for (Method m : c.getDeclaredMethods()) {
                    if (m.getName().equals(name) && m.getParameterCount() == 0 && Sandbox.class.isAssignableFrom(m.getReturnType())) {
                        m.setAccessible(true);
                        return (Sandbox) m.invoke(Modifier.isStatic(m.getModifiers()) ? null : instance);
                    }
                }
            }
        }
        throw new ExtensionConfigurationException("@SandboxedProcess(sandbox = \"" + name + "\"): no field or method without"
                + " parameters of that name returning a Sandbox in " + context.getRequiredTestClass().getName());
    }

    private record Fixture(String name, List<String> command, IsolatedProcess process, Optional<Tail> stderr, Optional<Tail> stdout) {}

    /** The last {@link #KEPT} bytes of a stream, drained by a daemon thread until its end. */
    static final class Tail {
        private final byte[] ring = new byte[KEPT];
        private long total;
        private final Thread thread;

        private Tail(InputStream in, String name) {
            thread = new Thread(() -> {
                byte[] buf = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        append(buf, n);
                    }
                } catch (IOException e) {
                    // the sandbox is gone; what was read is kept
                }
            }, "isolation-junit-" + name);
            thread.setDaemon(true);
        }

        static Tail drain(InputStream in, String name) {
            Tail t = new Tail(in, name);
            t.thread.start();
            return t;
        }

        private synchronized void append(byte[] buf, int n) {
            for (int i = 0; i < n; i++) {
                ring[(int) (total++ % KEPT)] = buf[i];
            }
        }

        /** What was read, once the stream ended (the process is closed first), or after 5 s. */
        String text() {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (this) {
                int kept = (int) Math.min(total, KEPT);
                byte[] out = new byte[kept];
                for (int i = 0; i < kept; i++) {
                    out[i] = ring[(int) ((total - kept + i) % KEPT)];
                }
                String text = new String(out, StandardCharsets.UTF_8);
                return total > KEPT ? "[" + (total - KEPT) + " bytes before these left out]\n" + text : text;
            }
        }
    }

    /** Carries a fixture's outcome and output into the failed test's report, as a suppressed exception. */
    static final class SandboxedProcessReport extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SandboxedProcessReport(String report) {
            super(report, null, false, false);
        }
    }
}
