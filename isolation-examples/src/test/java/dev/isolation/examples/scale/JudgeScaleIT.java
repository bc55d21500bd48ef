package dev.isolation.examples.scale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.CgroupController;
import dev.isolation.examples.RealKernel;
import dev.isolation.examples.cli.IsolationCli;
import dev.isolation.examples.judge.Verdict;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Judge workers in their own JVMs against a real PostgreSQL broker: 1,000 submissions through 3
 * workers, one of which is killed with SIGKILL halfway; a submission whose workers keep dying; a
 * worker stopped with SIGTERM, which finishes what it holds or gives it back.
 */
class JudgeScaleIT {
    /** The scale test's problem: add two numbers; CPU-time TLE at 0.2 s, a wall limit a busy host does not reach first. */
    private static final String LIMITS = "time=0.2\nwall=10\nmemory=32M\noutput=64K\n";

    /** Cheap solutions, by the verdict each must get (sh: a syntax check as compilation, builtins only). */
    private static final Map<String, Solution> SOLUTIONS = new LinkedHashMap<>();

    record Solution(String language, String source, Verdict expected, int count) {}

    static {
        solution("sh-ac", "sh", "read a b\necho $((a + b))\n", Verdict.AC, 640);
        solution("sh-wa", "sh", "read a b\necho $((a - b))\n", Verdict.WA, 120);
        solution("sh-re", "sh", "read a b\nexit 3\n", Verdict.RE, 60);
        solution("sh-re-signal", "sh", "kill -SEGV $$\n", Verdict.RE, 40);
        solution("sh-ce", "sh", "if then fi\n", Verdict.CE, 80);
        solution("sh-ole", "sh", "while :; do echo 0123456789abcdef0123456789abcdef; done\n", Verdict.OLE, 20);
        solution("sh-tle", "sh", "while :; do :; done\n", Verdict.TLE, 10);
        solution("c-ac", "c", "#include <stdio.h>\nint main(void){long long a,b;scanf(\"%lld %lld\",&a,&b);"
                + "printf(\"%lld\\n\",a+b);return 0;}\n", Verdict.AC, 8);
        solution("c-mle", "c", "#include <stdlib.h>\n#include <string.h>\nint main(void){size_t n=(size_t)96<<20;"
                + "char*volatile p=malloc(n);if(!p)return 2;memset(p,1,n);return p[n-1]-1;}\n", Verdict.MLE, 6);
        solution("c-re", "c", "int main(void){volatile int*p=0;return *p;}\n", Verdict.RE, 5);
        solution("c-ce", "c", "int main(void){ return }\n", Verdict.CE, 6);
    }

    private static void solution(String name, String language, String source, Verdict expected, int count) {
        SOLUTIONS.put(name, new Solution(language, source, expected, count));
    }

    /** Submissions to a problem no worker has: each attempt fails; after its attempts it is IE. */
    private static final int MISSING_PROBLEM = 5;

    @TempDir
    Path dir;

    private TestBroker broker;
    private Workers workers;
    private Path problems;

    @BeforeAll
    static void requireKernelAndBroker() {
        RealKernel.requireCgroups(CgroupController.MEMORY, CgroupController.PIDS, CgroupController.CPUACCT);
    }

    @BeforeEach
    void setUp() throws Exception {
        broker = TestBroker.create();
        workers = new Workers(dir);
        problems = dir.resolve("problems");
        Path tests = Files.createDirectories(problems.resolve("sum/tests"));
        Files.writeString(tests.resolve("1.in"), "1 2\n");
        Files.writeString(tests.resolve("1.out"), "3\n");
        Files.writeString(tests.resolve("2.in"), "10 20\n");
        Files.writeString(tests.resolve("2.out"), "30\n");
        Files.writeString(problems.resolve("sum/limits.properties"), LIMITS);
        // the sandboxes' unprivileged uid needs nothing here: the worker reads the tests and pipes them in
    }

    @AfterEach
    void tearDown() throws Exception {
        try { // setUp may have skipped (no broker) before these existed
            if (workers != null) {
                workers.close();
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    @Test
    @Timeout(900)
    void thousandSubmissionsThroughThreeWorkersOneKilledHalfwayEachGetExactlyOneCorrectResult() throws Exception {
        List<Workers.Worker> running = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            running.add(workers.start("--broker", broker.url(), "--problems", problems.toString(), "--pool", "2",
                    "--lease", "5", "--grace", "60"));
        }
        List<String> names = new ArrayList<>();
        SOLUTIONS.forEach((name, s) -> names.addAll(Collections.nCopies(s.count(), name)));
        names.addAll(Collections.nCopies(MISSING_PROBLEM, "missing-problem"));
        assertThat(names).hasSize(1000);
        Collections.shuffle(names, new Random(14));
        List<SubmissionRequest> requests = new ArrayList<>();
        for (String name : names) {
            Solution s = SOLUTIONS.get(name);
            requests.add(s == null ? SubmissionRequest.of("sh", "no-such-problem", "echo 3\n".getBytes(StandardCharsets.UTF_8))
                    : SubmissionRequest.of(s.language(), "sum", s.source().getBytes(StandardCharsets.UTF_8)));
        }
        Map<UUID, String> expected = new HashMap<>();
        long submitted = System.nanoTime();
        try (Broker b = Broker.connect(broker.url())) {
            // in batches, as submitters would send them, while the workers already judge
            for (int from = 0; from < requests.size(); from += 100) {
                List<UUID> tokens = b.submitAll(requests.subList(from, from + 100));
                for (int i = 0; i < tokens.size(); i++) {
                    expected.put(tokens.get(i), names.get(from + i));
                }
            }
        }

        Workers.Worker victim = running.get(0);
        List<UUID> orphaned = List.of();
        try (Connection db = broker.connect()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(780);
            while (count(db, "SELECT count(*) FROM isolation_results") < 500) {
                assertThat(System.nanoTime()).as("half the results within the deadline").isLessThan(deadline);
                assertThat(running).allSatisfy(w -> assertThat(w.process().isAlive()).as(w.logText()).isTrue());
                workers.sample();
                Thread.sleep(200);
            }
            // halfway: kill -9 the first worker while it holds submissions
            while (orphaned.isEmpty()) {
                assertThat(System.nanoTime()).as("the victim holds a submission within the deadline").isLessThan(deadline);
                workers.sample();
                if (tokens(db, "SELECT token FROM isolation_submissions WHERE leased_by = ? AND NOT done", victim.id()).size()
                        == 2) {
                    victim.process().destroyForcibly(); // SIGKILL, this test's own child
                    assertThat(victim.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
                    // what it held when it died: leased to it, not done (nobody else may take them before the lease expires)
                    orphaned = tokens(db, "SELECT token FROM isolation_submissions WHERE leased_by = ? AND NOT done", victim.id());
                }
                if (orphaned.isEmpty()) {
                    assertThat(victim.process().isAlive()).as("the victim died holding nothing; try again").isTrue();
                    Thread.sleep(5);
                }
            }
            System.out.printf(Locale.ROOT, "killed worker %s (pid %d) holding %s%n", victim.id(), victim.process().pid(), orphaned);
            while (count(db, "SELECT count(*) FROM isolation_results") < 1000) {
                assertThat(System.nanoTime()).as("every result within the deadline").isLessThan(deadline);
                workers.sample();
                Thread.sleep(200);
            }
            long allDone = System.nanoTime();

            // exactly one result per submission, each with its expected verdict
            assertThat(count(db, "SELECT count(*) FROM isolation_submissions")).isEqualTo(1000);
            assertThat(count(db, "SELECT count(DISTINCT token) FROM isolation_results")).isEqualTo(1000);
            assertThat(count(db, "SELECT count(*) FROM isolation_submissions s LEFT JOIN isolation_results r"
                    + " ON r.token = s.token WHERE r.token IS NULL OR NOT s.done")).as("submissions without a result").isZero();
            List<String> wrong = new ArrayList<>();
            try (PreparedStatement st = db.prepareStatement("SELECT token, verdict, result, attempts FROM isolation_results");
                 ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    UUID token = rs.getObject(1, UUID.class);
                    String name = expected.get(token);
                    Verdict want = SOLUTIONS.containsKey(name) ? SOLUTIONS.get(name).expected() : Verdict.IE;
                    if (!rs.getString(2).equals(want.name())) {
                        wrong.add(name + " expected " + want + ": " + rs.getString(3));
                    }
                    if (name.equals("missing-problem") && rs.getInt(4) != SubmissionRequest.DEFAULT_MAX_ATTEMPTS) {
                        wrong.add(name + " ended after " + rs.getInt(4) + " attempts: " + rs.getString(3));
                    }
                }
            }
            assertThat(wrong).as("results with the wrong verdict").isEmpty();
            // what the dead worker held was judged by another, after the lease expired
            for (UUID t : orphaned) {
                try (PreparedStatement st = db.prepareStatement("SELECT worker, attempts FROM isolation_results WHERE token = ?")) {
                    st.setObject(1, t);
                    try (ResultSet rs = st.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getString(1)).as("who judged %s", t).isNotEqualTo(victim.id());
                        assertThat(rs.getInt(2)).as("attempts of %s", t).isGreaterThanOrEqualTo(2);
                    }
                }
            }
            // a result carries the per-test figures
            String sample = string(db, "SELECT result FROM isolation_results WHERE verdict = 'AC' LIMIT 1");
            assertThat(sample).contains("\"tests\":[{\"test\":\"1\",\"verdict\":\"AC\"", "\"cpu_ms\"", "\"memory_kib\"");

            report(db, submitted, allDone);
        }

        // the survivors stop on SIGTERM; nothing of any worker is left
        for (Workers.Worker w : running.subList(1, 3)) {
            w.process().destroy();
        }
        for (Workers.Worker w : running.subList(1, 3)) {
            assertThat(w.process().waitFor(120, TimeUnit.SECONDS)).as(w.logText()).isTrue();
            assertThat(w.process().exitValue()).as(w.logText()).isEqualTo(143);
        }
        workers.awaitNothingLeft(30);
        assertThat(workers.processesLeft()).as("processes of the workers left").isEmpty();
        assertThat(workers.cgroupsLeft()).as("sandbox cgroups of the workers left").isEmpty();
    }

    @Test
    @Timeout(600)
    void submissionWhoseWorkersKeepDyingEndsAsAnErrorAfterItsAttempts() throws Exception {
        // a poison submission, as one that crashed its worker's JVM: the test kills every worker that takes it
        UUID poison;
        UUID healthy;
        try (Broker b = Broker.connect(broker.url())) {
            poison = b.submit(new SubmissionRequest("sh", "sum", "while :; do :; done\n".getBytes(StandardCharsets.UTF_8),
                    LimitOverrides.parse("time=20 wall=60"), 2));
            healthy = b.submit(SubmissionRequest.of("sh", "sum", "read a b\necho $((a + b))\n".getBytes(StandardCharsets.UTF_8)));
        }
        try (Connection db = broker.connect()) {
            for (int attempt = 1; attempt <= 2; attempt++) {
                Workers.Worker w = workers.start("--broker", broker.url(), "--problems", problems.toString(), "--pool", "1",
                        "--lease", "2");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (!tokens(db, "SELECT token FROM isolation_submissions WHERE leased_by = ?", w.id()).contains(poison)) {
                    assertThat(System.nanoTime()).as("worker %d takes the poison: %s", attempt, w.logText()).isLessThan(deadline);
                    workers.sample();
                    Thread.sleep(20);
                }
                workers.sample();
                w.process().destroyForcibly();
                assertThat(w.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            // the next worker finds it past its attempts once the lease expires, and ends it; the other is judged as usual
            workers.start("--broker", broker.url(), "--problems", problems.toString(), "--pool", "1", "--lease", "2");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (count(db, "SELECT count(*) FROM isolation_results") < 2) {
                assertThat(System.nanoTime()).as("both results within the deadline").isLessThan(deadline);
                workers.sample();
                Thread.sleep(100);
            }
            String status = status(poison);
            assertThat(status).contains("\"state\":\"DONE\"", "\"verdict\":\"IE\"", "\"attempts\":3",
                    "no result after 2 attempts", "stopped while judging it (killed or crashed)");
            assertThat(count(db, "SELECT count(*) FROM isolation_judgements WHERE token = '" + poison + "'"))
                    .as("the killed workers published nothing for it").isEqualTo(1);
            assertThat(status(healthy)).contains("\"verdict\":\"AC\"");
        }
        workers.close();
        workers.awaitNothingLeft(30);
        assertThat(workers.processesLeft()).as("processes of the workers left").isEmpty();
        assertThat(workers.cgroupsLeft()).as("sandbox cgroups of the workers left").isEmpty();
    }

    @Test
    @Timeout(600)
    void sigtermFinishesWhatTheWorkerHoldsAndPrefetchIsThePoolSize() throws Exception {
        UUID slow;
        UUID next;
        try (Broker b = Broker.connect(broker.url())) {
            // about 0.3 s of CPU per test: long enough to be caught mid-judging
            slow = b.submit(new SubmissionRequest("sh", "sum", ("i=0; while [ $i -lt 100000 ]; do i=$((i + 1)); done\n"
                    + "read a b\necho $((a + b))\n").getBytes(StandardCharsets.UTF_8), LimitOverrides.parse("time=30 wall=120"), 3));
            next = b.submit(SubmissionRequest.of("sh", "sum", "read a b\necho $((a + b))\n".getBytes(StandardCharsets.UTF_8)));
        }
        Workers.Worker w = workers.start("--broker", broker.url(), "--problems", problems.toString(), "--pool", "1",
                "--grace", "300");
        try (Connection db = broker.connect()) {
            awaitLeased(db, slow, w);
            // pool 1: it holds the one it judges and has not claimed the next
            assertThat(tokens(db, "SELECT token FROM isolation_submissions WHERE leased_by IS NOT NULL", w.id()))
                    .containsExactly(slow);
            w.process().destroy(); // SIGTERM
            assertThat(w.process().waitFor(300, TimeUnit.SECONDS)).as(w.logText()).isTrue();
            assertThat(w.process().exitValue()).as(w.logText()).isEqualTo(143);
            assertThat(status(slow)).contains("\"state\":\"DONE\"", "\"verdict\":\"AC\"");
            assertThat(status(next)).contains("\"state\":\"QUEUED\"", "\"attempts\":0");
        }
        workers.awaitNothingLeft(30);
        assertThat(workers.processesLeft()).isEmpty();
        assertThat(workers.cgroupsLeft()).isEmpty();
    }

    @Test
    @Timeout(600)
    void sigtermAfterTheGracePeriodGivesBackWhatTheWorkerHolds() throws Exception {
        UUID slow;
        try (Broker b = Broker.connect(broker.url())) {
            slow = b.submit(new SubmissionRequest("sh", "sum", "while :; do :; done\n".getBytes(StandardCharsets.UTF_8),
                    LimitOverrides.parse("time=30 wall=120"), 3));
        }
        Workers.Worker w = workers.start("--broker", broker.url(), "--problems", problems.toString(), "--pool", "1",
                "--grace", "0");
        try (Connection db = broker.connect()) {
            awaitLeased(db, slow, w);
            Thread.sleep(500); // into the tests (or the compilation): a sandbox runs when the stop comes
            workers.sample();
            w.process().destroy(); // SIGTERM
            assertThat(w.process().waitFor(120, TimeUnit.SECONDS)).as(w.logText()).isTrue();
            assertThat(w.process().exitValue()).as(w.logText()).isEqualTo(143);
            assertThat(w.logText()).contains("1 submissions given back");
            // back in the queue, at once, its attempt not counted, no result
            assertThat(status(slow)).contains("\"state\":\"QUEUED\"", "\"attempts\":0").doesNotContain("verdict");
        }
        workers.awaitNothingLeft(30);
        assertThat(workers.processesLeft()).as(w.logText()).isEmpty();
        assertThat(workers.cgroupsLeft()).as(w.logText()).isEmpty();
    }

    private void awaitLeased(Connection db, UUID token, Workers.Worker w) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!tokens(db, "SELECT token FROM isolation_submissions WHERE leased_by = ?", w.id()).contains(token)) {
            assertThat(System.nanoTime()).as("the worker takes %s: %s", token, w.logText()).isLessThan(deadline);
            assertThat(w.process().isAlive()).as(w.logText()).isTrue();
            Thread.sleep(20);
        }
        workers.sample();
    }

    /** What {@code isolation judge-status TOKEN} prints. */
    private String status(UUID token) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        IsolationCli.execute(new PrintWriter(out), new PrintWriter(err), "judge-status", "--broker", broker.url(), token.toString());
        assertThat(err.toString()).isEmpty();
        return out.toString();
    }

    /** Throughput and submit-to-result latency, printed (not asserted: a busy host is slow, not wrong). */
    private static void report(Connection db, long submittedNanos, long doneNanos) throws SQLException {
        List<Long> ms = new ArrayList<>();
        try (PreparedStatement st = db.prepareStatement("SELECT extract(epoch FROM (r.finished_at - s.submitted_at)) * 1000"
                + " FROM isolation_results r JOIN isolation_submissions s USING (token) ORDER BY 1");
             ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                ms.add(rs.getLong(1));
            }
        }
        long duplicates = count(db, "SELECT count(*) - count(DISTINCT token) FROM isolation_judgements");
        double seconds = (doneNanos - submittedNanos) / 1e9;
        System.out.printf(Locale.ROOT, "1000 submissions, 3 workers x pool 2, one killed halfway: %.1f s, %.1f submissions/s;"
                + " submit-to-result p50 %d ms, p99 %d ms; %d judged more than once%n", seconds, 1000 / seconds,
                ms.get((int) Math.ceil(0.50 * ms.size()) - 1), ms.get((int) Math.ceil(0.99 * ms.size()) - 1), duplicates);
    }

    private static long count(Connection db, String sql) throws SQLException {
        try (PreparedStatement st = db.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String string(Connection db, String sql) throws SQLException {
        try (PreparedStatement st = db.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            assertThat(rs.next()).as(sql).isTrue();
            return rs.getString(1);
        }
    }

    private static List<UUID> tokens(Connection db, String sql, String worker) throws SQLException {
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement st = db.prepareStatement(sql)) {
            if (sql.contains("?")) {
                st.setString(1, worker);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
            }
        }
        return out;
    }
}
