package dev.isolation.examples.scale;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.isolation.core.Outcome;
import dev.isolation.examples.judge.Judge;
import dev.isolation.examples.judge.Verdict;
import java.util.stream.Collectors;

/**
 * A result as the queue stores it and {@code judge-status} prints it:
 * <pre>
 * {"verdict":"AC","attempt":1,"worker":"host:123:ab12",
 *  "compile":{"status":"OK","cpu_ms":2,"wall_ms":14,"memory_kib":512},
 *  "tests":[{"test":"1","verdict":"AC","status":"OK","cpu_ms":1,"wall_ms":9,"memory_kib":384,"exit_code":0}]}
 * </pre>
 * A compile error adds the compiler's complaint ({@code compile.output}, at most 20 lines); an
 * internal error has a {@code message} instead of figures.
 */
final class ResultJson {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private ResultJson() {}

    static String of(Judge.Judgement j, Submission s, String worker) {
        JsonObject out = head(j.verdict(), s, worker);
        JsonObject compile = figures(j.compilation());
        if (j.compilation().status() != Outcome.Status.OK) {
            Outcome c = j.compilation();
            String why = c.status() == Outcome.Status.NONZERO_EXIT ? c.stderrText().strip() : c.message();
            compile.addProperty("output", why.lines().limit(20).collect(Collectors.joining("\n")));
        }
        out.add("compile", compile);
        JsonArray tests = new JsonArray();
        for (Judge.TestResult t : j.tests()) {
            JsonObject test = new JsonObject();
            test.addProperty("test", t.test());
            test.addProperty("verdict", t.verdict().name());
            figures(t.outcome()).entrySet().forEach(e -> test.add(e.getKey(), e.getValue()));
            tests.add(test);
        }
        out.add("tests", tests);
        return GSON.toJson(out);
    }

    static String error(String message, Submission s, String worker) {
        JsonObject out = head(Verdict.IE, s, worker);
        out.addProperty("message", message);
        return GSON.toJson(out);
    }

    private static JsonObject head(Verdict v, Submission s, String worker) {
        JsonObject out = new JsonObject();
        out.addProperty("verdict", v.name());
        out.addProperty("attempt", s.attempt());
        out.addProperty("worker", worker);
        return out;
    }

    private static JsonObject figures(Outcome o) {
        JsonObject f = new JsonObject();
        f.addProperty("status", o.status().name());
        f.addProperty("cpu_ms", o.cpuTime().toMillis());
        f.addProperty("wall_ms", o.wallTime().toMillis());
        f.addProperty("memory_kib", Judge.memoryKib(o));
        o.exitCode().ifPresent(c -> f.addProperty("exit_code", c));
        o.signal().ifPresent(c -> f.addProperty("signal", c));
        return f;
    }
}
