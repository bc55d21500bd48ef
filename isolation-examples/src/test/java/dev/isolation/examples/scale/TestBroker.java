package dev.isolation.examples.scale;

import dev.isolation.examples.RealKernel;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PostgreSQL server the broker tests use: the URL in {@code ISOLATION_TEST_BROKER}, which
 * {@code .ci/broker.sh start} prints (and {@code .ci/run} exports). Each test gets a database of
 * its own ({@code isolation_test_N}), dropped afterwards.
 */
final class TestBroker implements AutoCloseable {
    static final String VARIABLE = "ISOLATION_TEST_BROKER";
    private static final Pattern URL = Pattern.compile("(jdbc:postgresql://[^/?]+/)([^?]*)(.*)");

    private final String serverUrl;
    private final String database;

    private TestBroker(String serverUrl, String database) {
        this.serverUrl = serverUrl;
        this.database = database;
    }

    /** Skips (fails under CI) where there is no server; else creates a fresh database. */
    static TestBroker create() throws SQLException {
        String url = System.getenv(VARIABLE);
        RealKernel.skipUnless(url != null && URL.matcher(url).matches(), "a broker test: " + VARIABLE
                + " is not set to a jdbc:postgresql:// URL (run `.ci/broker.sh start` and export what it prints)");
        String reason = null;
        try (Connection c = DriverManager.getConnection(url)) {
            c.isValid(5);
        } catch (SQLException e) {
            reason = e.getMessage();
        }
        RealKernel.skipUnless(reason == null, "a broker test: the server at " + url + " cannot be reached: " + reason);
        String db = "isolation_test_" + ProcessHandle.current().pid() + "_" + Long.toHexString(System.nanoTime());
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + db);
        }
        return new TestBroker(url, db);
    }

    /** The URL of this test's database. */
    String url() {
        Matcher m = URL.matcher(serverUrl);
        if (!m.matches()) {
            throw new IllegalStateException(serverUrl);
        }
        return m.group(1) + database + m.group(3);
    }

    Connection connect() throws SQLException {
        return DriverManager.getConnection(url());
    }

    @Override
    public void close() throws SQLException {
        try (Connection c = DriverManager.getConnection(serverUrl); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }
}
