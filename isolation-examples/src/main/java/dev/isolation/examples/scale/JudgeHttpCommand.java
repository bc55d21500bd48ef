package dev.isolation.examples.scale;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code isolation judge-http}: a front end in Judge0's shape over the broker, on the JDK's
 * {@link HttpServer}. {@code POST /submissions} with a JSON body ({@code source_code},
 * {@code language}, {@code problem}; optional {@code cpu_time_limit} and {@code wall_time_limit}
 * in seconds, {@code memory_limit} in KiB, {@code max_attempts}) answers {@code 201} and
 * {@code {"token": ...}}; {@code GET /submissions/TOKEN} answers what {@code judge-status} prints.
 * A bad request gets {@code 422} (Judge0's code) and {@code {"error": ...}} naming the field.
 */
@Command(name = "judge-http",
        description = "Serve a Judge0-shaped HTTP front end over the broker: POST /submissions (JSON: source_code,"
                + " language, problem, cpu_time_limit, wall_time_limit, memory_limit in KiB, max_attempts) returns a"
                + " token; GET /submissions/TOKEN returns its state and result. Runs until SIGTERM or SIGINT.",
        sortOptions = false)
public final class JudgeHttpCommand implements Callable<Integer> {
    /** The largest request body read: a source of {@link SubmissionRequest#MAX_SOURCE} bytes, escaped, fits. */
    static final int MAX_BODY = 8 << 20;

    @Spec
    CommandSpec spec;

    @Option(names = "--broker", required = true, paramLabel = "URL", description = "The broker, as judge-worker takes it.")
    String broker;

    @Option(names = "--bind", paramLabel = "ADDRESS", description = "The address to listen on. Default: 127.0.0.1.")
    String bind = "127.0.0.1";

    @Option(names = "--port", paramLabel = "PORT", description = "The port. Default: 2358 (Judge0's).")
    int port = 2358;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port " + port + ": must be 0 to 65535");
        }
        CountDownLatch stopped = new CountDownLatch(1);
        try (Broker b = Broker.connect(broker)) {
            HttpServer server = start(b, new InetSocketAddress(InetAddress.getByName(bind), port));
            spec.commandLine().getOut().printf("judge-http: listening on http://%s:%d/submissions%n", bind,
                    server.getAddress().getPort());
            spec.commandLine().getOut().flush();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.stop(1);
                stopped.countDown();
            }, "isolation-judge-http-stop"));
            stopped.await();
        }
        return 0;
    }

    /** Starts serving {@code broker} at {@code address}; the caller stops the server. */
    static HttpServer start(Broker broker, InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 64);
        ExecutorService threads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "isolation-judge-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/submissions", exchange -> {
            try (exchange) {
                handle(broker, exchange);
            }
        });
        server.start();
        return server;
    }

    private static void handle(Broker broker, HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        try {
            if (ex.getRequestMethod().equals("POST") && (path.equals("/submissions") || path.equals("/submissions/"))) {
                SubmissionRequest request = request(readBody(ex.getRequestBody()));
                UUID token = broker.submit(request);
                JsonObject out = new JsonObject();
                out.addProperty("token", token.toString());
                send(ex, 201, out.toString());
            } else if (ex.getRequestMethod().equals("GET") && path.startsWith("/submissions/")) {
                UUID token;
                try {
                    token = UUID.fromString(path.substring("/submissions/".length()));
                } catch (IllegalArgumentException e) {
                    send(ex, 404, error("no submission " + path.substring("/submissions/".length())));
                    return;
                }
                Optional<SubmissionStatus> s = broker.status(token);
                if (s.isEmpty()) {
                    send(ex, 404, error("no submission " + token));
                } else {
                    send(ex, 200, JudgeStatusCommand.json(s.get()));
                }
            } else {
                send(ex, 405, error(ex.getRequestMethod() + " " + path + ": expected POST /submissions or GET"
                        + " /submissions/TOKEN"));
            }
        } catch (IllegalArgumentException e) {
            send(ex, 422, error(e.getMessage()));
        } catch (BrokerException e) {
            send(ex, 503, error(e.getMessage()));
        }
    }

    private static String readBody(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) {
            throw new IllegalArgumentException("the request body is larger than " + MAX_BODY + " bytes");
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    /** The submission a request body describes. */
    static SubmissionRequest request(String body) {
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(body);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException("the request body must be a JSON object");
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("the request body is not JSON: " + e.getMessage(), e);
        }
        String source = text(o, "source_code");
        String language = text(o, "language");
        String problem = text(o, "problem");
        List<String> limits = new ArrayList<>();
        number(o, "cpu_time_limit").ifPresent(v -> limits.add("time=" + v.toPlainString()));
        number(o, "wall_time_limit").ifPresent(v -> limits.add("wall=" + v.toPlainString()));
        number(o, "memory_limit").ifPresent(v -> {
            if (v.scale() > 0 && v.stripTrailingZeros().scale() > 0) {
                throw new IllegalArgumentException("memory_limit " + v + ": expected a whole number of KiB");
            }
            limits.add("memory=" + v.toBigInteger() + "K");
        });
        int attempts = number(o, "max_attempts").map(BigDecimal::intValue).orElse(SubmissionRequest.DEFAULT_MAX_ATTEMPTS);
        return new SubmissionRequest(language, problem, source.getBytes(StandardCharsets.UTF_8),
                LimitOverrides.parse(String.join(" ", limits)), attempts);
    }

    private static String text(JsonObject o, String field) {
        JsonElement e = o.get(field);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException(field + ": required, a string");
        }
        return e.getAsString();
    }

    private static Optional<BigDecimal> number(JsonObject o, String field) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            return Optional.empty();
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(field + ": must be a number");
        }
        return Optional.of(e.getAsBigDecimal());
    }

    private static String error(String message) {
        JsonObject o = new JsonObject();
        o.addProperty("error", message);
        return o.toString();
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
