package dev.isolation.examples.scale;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Judge0-shaped front end on loopback, over a real broker: a token for a submission, its state, typed refusals. */
class JudgeHttpIT {
    private TestBroker broker;
    private Broker client;
    private HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void setUp() throws Exception {
        broker = TestBroker.create();
        client = Broker.connect(broker.url());
        server = JudgeHttpCommand.start(client, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void tearDown() throws Exception {
        try { // setUp may have skipped (no broker) or failed before some of these existed
            if (server != null) {
                server.stop(0);
            }
            if (client != null) {
                client.close();
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    @Test
    @Timeout(120)
    void postReturnsATokenWhoseSubmissionGetShows() throws Exception {
        HttpResponse<String> posted = post("{\"source_code\":\"read a b\\necho $((a + b))\\n\",\"language\":\"sh\","
                + "\"problem\":\"sum\",\"cpu_time_limit\":0.5,\"memory_limit\":65536}");
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
        String token = posted.body().replaceAll(".*\"token\":\"([0-9a-f-]{36})\".*", "$1");
        UUID.fromString(token);

        HttpResponse<String> got = get("/submissions/" + token);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).contains("\"token\":\"" + token + "\"", "\"state\":\"QUEUED\"", "\"attempts\":0");
        // what was stored is what was sent: the limits as the worker will apply them
        assertThat(client.status(UUID.fromString(token))).isPresent();
        try (var db = broker.connect(); var st = db.createStatement();
             var rs = st.executeQuery("SELECT language, problem, limits FROM isolation_submissions WHERE token = '" + token + "'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3)).isEqualTo("sh sum time=0.5 memory=67108864");
        }
    }

    @Test
    @Timeout(120)
    void badRequestsAreRefusedNamingTheField() throws Exception {
        assertThat(post("{\"source_code\":\"echo\",\"language\":\"sh\"}")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(422);
            assertThat(r.body()).contains("problem: required, a string");
        });
        assertThat(post("{\"source_code\":\"echo\",\"language\":\"sh\",\"problem\":\"../etc\"}")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(422);
            assertThat(r.body()).contains("problem id \\\"../etc\\\"");
        });
        assertThat(post("{\"source_code\":\"echo\",\"language\":\"sh\",\"problem\":\"sum\",\"cpu_time_limit\":600}"))
                .satisfies(r -> {
                    assertThat(r.statusCode()).isEqualTo(422);
                    assertThat(r.body()).contains("time limit 600 s: must be more than 0 and at most 60 s");
                });
        assertThat(post("not json")).satisfies(r -> assertThat(r.statusCode()).isEqualTo(422));
        assertThat(get("/submissions/" + UUID.randomUUID()).statusCode()).isEqualTo(404);
        assertThat(get("/submissions/nonsense").statusCode()).isEqualTo(404);
        try (var db = broker.connect(); var st = db.createStatement(); var rs = st.executeQuery(
                "SELECT count(*) FROM isolation_submissions")) {
            rs.next();
            assertThat(rs.getInt(1)).as("nothing refused was enqueued").isZero();
        }
    }

    private HttpResponse<String> post(String json) throws Exception {
        return http.send(HttpRequest.newBuilder(uri("/submissions")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }
}
