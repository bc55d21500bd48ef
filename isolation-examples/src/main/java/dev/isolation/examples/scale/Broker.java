package dev.isolation.examples.scale;

import dev.isolation.examples.judge.Verdict;
import java.net.URI;
import java.net.URISyntaxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.postgresql.PGConnection;

/**
 * The judge's queue, in PostgreSQL: submissions, their leases and their results in three tables
 * ({@code isolation_submissions}, {@code isolation_results}, {@code isolation_judgements}), used
 * through PostgreSQL's own JDBC driver.
 *
 * <ul>
 *   <li>A worker <em>claims</em> up to N ready submissions in one statement ({@code SELECT ... FOR
 *       UPDATE SKIP LOCKED}, so concurrent workers never wait for each other nor take the same
 *       row), which gives each a lease: until it ends, no other worker sees the submission. The
 *       worker renews the leases of what it holds; a worker that dies stops renewing, its leases
 *       expire, and the submissions are claimed again (at-least-once delivery).
 *   <li>Every claim counts an attempt. A submission claimed more than its {@code max_attempts}
 *       times (its workers died holding it, or its setup kept failing) gets an error result
 *       instead of another attempt.
 *   <li>A result is written with {@code INSERT ... ON CONFLICT DO NOTHING} on the submission's
 *       token, in the transaction that marks the submission done: a submission judged twice (a
 *       lease that expired under a slow worker) still has exactly one result, the first.
 * </ul>
 *
 * Thread-safe: calls are serialised on one connection, except {@link #awaitWork}, which waits on a
 * second one. Every object this creates in the database is named {@code isolation_...}.
 */
public final class Broker implements AutoCloseable {
    /** The channel a submission is announced on, so that idle workers wake at once rather than at their next poll. */
    static final String CHANNEL = "isolation_submissions";

    private static final String SCHEMA = """
            CREATE TABLE IF NOT EXISTS isolation_submissions (
                token uuid PRIMARY KEY,
                language text NOT NULL,
                problem text NOT NULL,
                source bytea NOT NULL,
                limits text NOT NULL,
                submitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                max_attempts int NOT NULL CHECK (max_attempts > 0),
                attempts int NOT NULL DEFAULT 0,
                leased_by text,
                lease_until timestamptz,
                last_error text,
                done boolean NOT NULL DEFAULT false);
            CREATE INDEX IF NOT EXISTS isolation_submissions_ready ON isolation_submissions (submitted_at) WHERE NOT done;
            CREATE TABLE IF NOT EXISTS isolation_results (
                token uuid PRIMARY KEY REFERENCES isolation_submissions,
                verdict text NOT NULL,
                result text NOT NULL,
                worker text NOT NULL,
                attempts int NOT NULL,
                finished_at timestamptz NOT NULL DEFAULT clock_timestamp());
            CREATE TABLE IF NOT EXISTS isolation_judgements (
                token uuid NOT NULL,
                worker text NOT NULL,
                attempt int NOT NULL,
                verdict text NOT NULL,
                published_at timestamptz NOT NULL DEFAULT clock_timestamp());
            """;

    /** Ready: not done, and not leased (never, or the lease ran out). Oldest first. */
    private static final String CLAIM = """
            WITH picked AS (
                SELECT token FROM isolation_submissions
                WHERE NOT done AND (lease_until IS NULL OR lease_until < clock_timestamp())
                ORDER BY submitted_at LIMIT ? FOR UPDATE SKIP LOCKED)
            UPDATE isolation_submissions s SET attempts = s.attempts + 1, leased_by = ?,
                lease_until = clock_timestamp() + ? * interval '1 millisecond',
                last_error = CASE WHEN s.leased_by IS NULL THEN s.last_error
                    ELSE 'its worker ' || s.leased_by || ' stopped while judging it (killed or crashed)' END
            FROM picked WHERE s.token = picked.token
            RETURNING s.token, s.language, s.problem, s.source, s.limits, s.attempts, s.max_attempts, s.last_error,
                s.submitted_at
            """;

    private final String url;
    private final Connection db;
    private Connection listener;

    private Broker(String url, Connection db) {
        this.url = url;
        this.db = db;
    }

    /**
     * Connects to the PostgreSQL server {@code url} names and creates the tables if they are not
     * there yet.
     *
     * @param url {@code jdbc:postgresql://HOST[:PORT]/DB[?user=...]} or
     *     {@code postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB}
     * @throws BrokerException if the URL is not PostgreSQL's or the server cannot be reached
     */
    public static Broker connect(String url) throws BrokerException {
        String jdbc = jdbcUrl(url);
        Connection db = open(jdbc, url);
        try (Statement st = db.createStatement()) {
            db.setAutoCommit(false);
            // one schema creator at a time: concurrent CREATE ... IF NOT EXISTS can still collide
            st.execute("SELECT pg_advisory_xact_lock(hashtext('isolation_schema'))");
            st.execute(SCHEMA);
            db.commit();
            db.setAutoCommit(true);
        } catch (SQLException e) {
            closeQuietly(db);
            throw new BrokerException("cannot create the judge's tables at " + url + ": " + e.getMessage(), e);
        }
        return new Broker(jdbc, db);
    }

    /** {@code url} as the JDBC driver takes it. */
    static String jdbcUrl(String url) throws BrokerException {
        if (url.startsWith("jdbc:postgresql://")) {
            return url;
        }
        if (url.startsWith("postgresql://") || url.startsWith("postgres://")) {
            try {
                URI u = new URI(url);
                if (u.getHost() == null) {
                    throw new BrokerException("broker URL " + url + " names no host");
                }
                StringBuilder s = new StringBuilder("jdbc:postgresql://").append(u.getHost());
                if (u.getPort() != -1) {
                    s.append(':').append(u.getPort());
                }
                s.append(u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath());
                List<String> params = new ArrayList<>();
                if (u.getRawQuery() != null) {
                    params.add(u.getRawQuery());
                }
                if (u.getRawUserInfo() != null) {
                    String[] userPassword = u.getRawUserInfo().split(":", 2);
                    params.add("user=" + userPassword[0]);
                    if (userPassword.length == 2) {
                        params.add("password=" + userPassword[1]);
                    }
                }
                if (!params.isEmpty()) {
                    s.append('?').append(String.join("&", params));
                }
                return s.toString();
            } catch (URISyntaxException e) {
                throw new BrokerException("broker URL " + url + " is not a URL: " + e.getMessage(), e);
            }
        }
        throw new BrokerException("broker URL " + url + " is not PostgreSQL's: expected jdbc:postgresql://HOST[:PORT]/DB"
                + "[?user=USER] or postgresql://[USER@]HOST[:PORT]/DB");
    }

    private static Connection open(String jdbc, String shown) throws BrokerException {
        try {
            return DriverManager.getConnection(jdbc);
        } catch (SQLException e) {
            throw new BrokerException("cannot connect to the broker at " + shown + ": " + e.getMessage()
                    + " (is the PostgreSQL server running, and does the URL name its host, port, database and user?)", e);
        }
    }

    /** Enqueues a submission and announces it; returns its token. */
    public synchronized UUID submit(SubmissionRequest s) throws BrokerException {
        UUID token = UUID.randomUUID();
        try (PreparedStatement st = db.prepareStatement("INSERT INTO isolation_submissions"
                + " (token, language, problem, source, limits, max_attempts) VALUES (?, ?, ?, ?, ?, ?)")) {
            st.setObject(1, token);
            st.setString(2, s.language());
            st.setString(3, s.problem());
            st.setBytes(4, s.source());
            st.setString(5, s.limits().toText());
            st.setInt(6, s.maxAttempts());
            st.executeUpdate();
            notifyWorkers();
            return token;
        } catch (SQLException e) {
            throw failure("submit", e);
        }
    }

    /** Enqueues many submissions in one transaction and one announcement; returns their tokens in order. */
    public synchronized List<UUID> submitAll(List<SubmissionRequest> all) throws BrokerException {
        List<UUID> tokens = new ArrayList<>();
        try (PreparedStatement st = db.prepareStatement("INSERT INTO isolation_submissions"
                + " (token, language, problem, source, limits, max_attempts) VALUES (?, ?, ?, ?, ?, ?)")) {
            db.setAutoCommit(false);
            for (SubmissionRequest s : all) {
                UUID token = UUID.randomUUID();
                st.setObject(1, token);
                st.setString(2, s.language());
                st.setString(3, s.problem());
                st.setBytes(4, s.source());
                st.setString(5, s.limits().toText());
                st.setInt(6, s.maxAttempts());
                st.addBatch();
                tokens.add(token);
            }
            st.executeBatch();
            notifyWorkers();
            db.commit();
            return tokens;
        } catch (SQLException e) {
            rollback();
            throw failure("submit", e);
        } finally {
            autoCommit();
        }
    }

    private void notifyWorkers() throws SQLException {
        try (Statement n = db.createStatement()) {
            n.execute("NOTIFY " + CHANNEL);
        }
    }

    /**
     * Leases up to {@code max} ready submissions to {@code worker} for {@code lease}, oldest
     * first, each claim counting an attempt. Some may be past their last attempt
     * ({@link Submission#exhausted()}): the caller gives them an error result.
     */
    synchronized List<Submission> claim(String worker, int max, Duration lease) throws BrokerException {
        List<Submission> out = new ArrayList<>();
        try (PreparedStatement st = db.prepareStatement(CLAIM)) {
            st.setInt(1, max);
            st.setString(2, worker);
            st.setLong(3, lease.toMillis());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Submission(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getBytes(4),
                            LimitOverrides.parse(rs.getString(5)), rs.getInt(6), rs.getInt(7),
                            Optional.ofNullable(rs.getString(8)), rs.getTimestamp(9).toInstant()));
                }
            }
            return out;
        } catch (SQLException e) {
            throw failure("claim", e);
        }
    }

    /** Extends {@code worker}'s leases on {@code tokens}; returns how many it still held. */
    synchronized int renew(String worker, Collection<UUID> tokens, Duration lease) throws BrokerException {
        if (tokens.isEmpty()) {
            return 0;
        }
        try (PreparedStatement st = db.prepareStatement("UPDATE isolation_submissions SET lease_until = clock_timestamp()"
                + " + ? * interval '1 millisecond' WHERE token = ANY(?) AND leased_by = ? AND NOT done")) {
            st.setLong(1, lease.toMillis());
            st.setArray(2, uuids(tokens));
            st.setString(3, worker);
            return st.executeUpdate();
        } catch (SQLException e) {
            throw failure("renew leases", e);
        }
    }

    /**
     * Publishes a judgement of {@code s}: logs it, and makes it the result unless the submission
     * already has one (another worker judged it too).
     *
     * @return whether this judgement became the result
     */
    synchronized boolean publish(Submission s, String worker, Verdict verdict, String resultJson) throws BrokerException {
        try {
            db.setAutoCommit(false);
            try (PreparedStatement log = db.prepareStatement(
                    "INSERT INTO isolation_judgements (token, worker, attempt, verdict) VALUES (?, ?, ?, ?)");
                 PreparedStatement result = db.prepareStatement("INSERT INTO isolation_results (token, verdict, result,"
                         + " worker, attempts) VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING");
                 PreparedStatement done = db.prepareStatement("UPDATE isolation_submissions SET done = true,"
                         + " leased_by = NULL, lease_until = NULL WHERE token = ?")) {
                log.setObject(1, s.token());
                log.setString(2, worker);
                log.setInt(3, s.attempt());
                log.setString(4, verdict.name());
                log.executeUpdate();
                result.setObject(1, s.token());
                result.setString(2, verdict.name());
                result.setString(3, resultJson);
                result.setString(4, worker);
                result.setInt(5, s.attempt());
                boolean first = result.executeUpdate() == 1;
                done.setObject(1, s.token());
                done.executeUpdate();
                db.commit();
                return first;
            }
        } catch (SQLException e) {
            rollback();
            throw failure("publish a result", e);
        } finally {
            autoCommit();
        }
    }

    /** Gives {@code s} back after a failed attempt: it is claimable again after {@code backoff}. */
    synchronized void retryLater(Submission s, String worker, String error, Duration backoff) throws BrokerException {
        try (PreparedStatement st = db.prepareStatement("UPDATE isolation_submissions SET leased_by = NULL, lease_until ="
                + " clock_timestamp() + ? * interval '1 millisecond', last_error = ? WHERE token = ? AND leased_by = ?"
                + " AND NOT done")) {
            st.setLong(1, backoff.toMillis());
            st.setString(2, error);
            st.setObject(3, s.token());
            st.setString(4, worker);
            st.executeUpdate();
        } catch (SQLException e) {
            throw failure("give a submission back", e);
        }
    }

    /**
     * Returns what {@code worker} holds but will not judge (it is stopping): claimable at once,
     * and the attempt does not count.
     */
    synchronized int giveBack(String worker, Collection<UUID> tokens) throws BrokerException {
        if (tokens.isEmpty()) {
            return 0;
        }
        try (PreparedStatement st = db.prepareStatement("UPDATE isolation_submissions SET leased_by = NULL,"
                + " lease_until = NULL, attempts = attempts - 1 WHERE token = ANY(?) AND leased_by = ? AND NOT done")) {
            st.setArray(1, uuids(tokens));
            st.setString(2, worker);
            int n = st.executeUpdate();
            notifyWorkers();
            return n;
        } catch (SQLException e) {
            throw failure("give submissions back", e);
        }
    }

    /** Where submission {@code token} is; empty if there is no such submission. */
    public synchronized Optional<SubmissionStatus> status(UUID token) throws BrokerException {
        try (PreparedStatement st = db.prepareStatement("SELECT s.submitted_at, s.attempts, s.leased_by, s.last_error,"
                + " r.verdict, r.result, r.worker, r.finished_at FROM isolation_submissions s"
                + " LEFT JOIN isolation_results r ON r.token = s.token WHERE s.token = ?")) {
            st.setObject(1, token);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Instant submitted = rs.getTimestamp(1).toInstant();
                Optional<String> leasedBy = Optional.ofNullable(rs.getString(3));
                Optional<String> verdict = Optional.ofNullable(rs.getString(5));
                SubmissionStatus.State state = verdict.isPresent() ? SubmissionStatus.State.DONE
                        : leasedBy.isPresent() ? SubmissionStatus.State.JUDGING : SubmissionStatus.State.QUEUED;
                return Optional.of(new SubmissionStatus(token, state, submitted, rs.getInt(2), leasedBy,
                        Optional.ofNullable(rs.getString(4)), verdict.map(Verdict::valueOf), Optional.ofNullable(rs.getString(6)),
                        Optional.ofNullable(rs.getString(7)),
                        Optional.ofNullable(rs.getTimestamp(8)).map(java.sql.Timestamp::toInstant)));
            }
        } catch (SQLException e) {
            throw failure("read a submission's status", e);
        }
    }

    /** How many of {@code tokens} have their result. */
    public synchronized int countDone(Collection<UUID> tokens) throws BrokerException {
        try (PreparedStatement st = db.prepareStatement("SELECT count(*) FROM isolation_results WHERE token = ANY(?)")) {
            st.setArray(1, uuids(tokens));
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw failure("count results", e);
        }
    }

    /**
     * Waits up to {@code timeout} for a submission to be announced; returns whether one was. Wakes
     * early for any announcement, so the caller claims to find out what there is.
     */
    boolean awaitWork(Duration timeout) throws BrokerException {
        try {
            Connection l;
            synchronized (this) {
                if (listener == null) {
                    listener = open(url, url);
                    try (Statement st = listener.createStatement()) {
                        st.execute("LISTEN " + CHANNEL);
                    }
                }
                l = listener;
            }
            var notifications = l.unwrap(PGConnection.class).getNotifications((int) Math.max(1, timeout.toMillis()));
            return notifications != null && notifications.length > 0;
        } catch (SQLException e) {
            throw failure("wait for submissions", e);
        }
    }

    private Array uuids(Collection<UUID> tokens) throws SQLException {
        return db.createArrayOf("uuid", tokens.toArray());
    }

    private void rollback() {
        try {
            db.rollback();
        } catch (SQLException e) {
            // the connection is broken: the failure that got us here says so
        }
    }

    private void autoCommit() {
        try {
            db.setAutoCommit(true);
        } catch (SQLException e) {
            // as above
        }
    }

    private BrokerException failure(String what, SQLException e) {
        return new BrokerException("broker: cannot " + what + ": " + e.getMessage(), e);
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            // nothing was done with it
        }
    }

    @Override
    public synchronized void close() throws BrokerException {
        BrokerException failure = null;
        for (Connection c : new Connection[] {listener, db}) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (SQLException e) {
                if (failure == null) {
                    failure = failure("close its connection", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        listener = null;
        if (failure != null) {
            throw failure;
        }
    }
}
