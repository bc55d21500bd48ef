package dev.isolation.examples.scale;

import dev.isolation.cgroups.CgroupHost;
import dev.isolation.examples.judge.Judge;
import dev.isolation.examples.judge.Verdict;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A judge worker: claims submissions from the {@link Broker}, judges each on this machine in a
 * pool of {@code pool} threads (one {@link dev.isolation.core.SandboxSession} per submission:
 * compiled once, then every test), and publishes the verdict and the per-test figures.
 *
 * <ul>
 *   <li>Prefetch follows the pool: it holds at most {@code pool} submissions, all of them being
 *       judged; it claims only when a thread is free.
 *   <li>It renews its leases every third of the lease while it judges; a worker that dies leaves
 *       them to expire, and another worker takes the submissions.
 *   <li>A failed attempt (the sandbox could not be set up, the problem is missing here) gives the
 *       submission back, to be claimed again after a backoff; its last attempt, or a claim past
 *       its attempts (its workers kept dying), ends it with an internal-error result.
 *   <li>{@link #stop(Duration)} stops claiming, lets what is being judged finish within the
 *       grace period, and gives the rest back at once, its attempt not counted.
 *   <li>It removes the sandbox cgroups that dead JVMs on this host left behind, at its start and
 *       every lease period (or 5 s).
 * </ul>
 */
public final class JudgeWorker {
    /** How long an idle worker waits for an announcement before it looks again (expired leases are not announced). */
    private static final Duration IDLE_POLL = Duration.ofMillis(500);

    private final String url;
    private final ProblemStore problems;
    private final int pool;
    private final Duration lease;
    private final String id;
    private final PrintWriter log;
    private final Map<UUID, Submission> held = new ConcurrentHashMap<>();
    private final Semaphore slots;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicInteger judged = new AtomicInteger();
    private volatile Broker broker;
    private volatile boolean stopping;
    /** Set when the grace period is over: a run that ends now was cut short, and its submission goes back. */
    private volatile boolean abandoning;
    private volatile Duration grace = Duration.ZERO;

    /**
     * A worker that has not started yet.
     *
     * @param url the broker, as {@link Broker#connect} takes it
     * @param problems the problems directory ({@code ID/tests/N.in, N.out}, {@code ID/limits.properties})
     * @param pool how many submissions it judges, and so holds, at once
     * @param lease how long a submission stays its own without a renewal
     * @param log where it reports what it does
     */
    public JudgeWorker(String url, Path problems, int pool, Duration lease, PrintWriter log) {
        if (pool < 1) {
            throw new IllegalArgumentException("pool " + pool + ": must be at least 1");
        }
        if (lease.toMillis() < 300) {
            throw new IllegalArgumentException("lease " + lease + ": must be at least 300 ms");
        }
        this.url = url;
        this.problems = new ProblemStore(problems);
        this.pool = pool;
        this.lease = lease;
        this.log = log;
        this.slots = new Semaphore(pool);
        this.id = hostName() + ":" + ProcessHandle.current().pid() + ":"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    }

    /** {@code HOST:PID:RANDOM}, as the queue's {@code leased_by} and the results name this worker. */
    public String id() {
        return id;
    }

    /**
     * Judges until {@link #stop} is called.
     *
     * @throws BrokerException if the broker cannot be reached at the start
     */
    public void run() throws BrokerException, InterruptedException {
        try {
            broker = Broker.connect(url);
        } catch (BrokerException e) {
            finished.countDown();
            throw e;
        }
        ExecutorService judges = Executors.newFixedThreadPool(pool, r -> {
            Thread t = new Thread(r, "isolation-judge");
            t.setDaemon(true);
            return t;
        });
        ScheduledExecutorService renewer = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "isolation-lease-renewer");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(100, lease.toMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
        long cleanEvery = Math.max(5000, lease.toMillis());
        renewer.scheduleWithFixedDelay(this::cleanLeftovers, 0, cleanEvery, TimeUnit.MILLISECONDS);
        log.printf("judge-worker %s: pool %d, lease %d ms, problems %s%n", id, pool, lease.toMillis(), problems.root());
        try {
            while (!stopping) {
                try {
                    claimAndDispatch(judges);
                } catch (BrokerException e) {
                    log.printf("judge-worker %s: %s; reconnecting in 1 s%n", id, e.getMessage());
                    Thread.sleep(1000);
                    reconnect();
                }
            }
        } finally {
            judges.shutdown();
            if (!judges.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                abandoning = true;
                judges.shutdownNow(); // an interrupted run ends at once; its submission goes back below
                judges.awaitTermination(30, TimeUnit.SECONDS);
            }
            renewer.shutdownNow();
            try {
                int back = broker.giveBack(id, List.copyOf(held.keySet()));
                log.printf("judge-worker %s: stopped after %d judgements, %d submissions given back%n", id, judged.get(), back);
            } catch (BrokerException e) {
                log.printf("judge-worker %s: stopped; could not give back %s (their leases expire): %s%n", id,
                        held.keySet(), e.getMessage());
            } finally {
                try {
                    broker.close();
                } catch (BrokerException e) {
                    // the process ends anyway
                }
                log.flush();
                finished.countDown();
            }
        }
    }

    private void claimAndDispatch(ExecutorService judges) throws BrokerException, InterruptedException {
        int free = slots.availablePermits();
        if (free == 0) {
            // every thread busy: claim nothing more (prefetch = pool size) until one is free
            if (slots.tryAcquire(IDLE_POLL.toMillis(), TimeUnit.MILLISECONDS)) {
                slots.release();
            }
            return;
        }
        List<Submission> claimed = broker.claim(id, free, lease);
        for (Submission s : claimed) {
            if (s.exhausted()) {
                giveUp(s, "no result after " + s.maxAttempts() + " attempts; the last: "
                        + s.lastError().orElse("its worker stopped"));
                continue;
            }
            slots.acquire();
            held.put(s.token(), s);
            judges.execute(() -> judgeAndPublish(s));
        }
        if (claimed.isEmpty() && !stopping) {
            broker.awaitWork(IDLE_POLL);
        }
    }

    private void judgeAndPublish(Submission s) {
        boolean settled = false;
        try {
            String failure;
            try {
                Judge.Judgement j = Judge.judge(s.language(), s.source(), problems.tests(s.problem()),
                        problems.limits(s.problem(), s.limits()));
                if (abandoning) {
                    return; // cut short by the stop: not the submission's verdict; given back
                }
                if (j.verdict() != Verdict.IE) {
                    publish(s, j.verdict(), ResultJson.of(j, s, id));
                    settled = true;
                    return;
                }
                failure = "the sandbox failed: " + j.compilation().message();
            } catch (IOException | RuntimeException e) {
                if (abandoning) {
                    return;
                }
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            if (s.lastAttempt()) {
                giveUp(s, "no result after " + s.attempt() + " attempts; the last: " + failure);
            } else {
                broker.retryLater(s, id, failure, Duration.ofMillis(500L * s.attempt()));
                log.printf("judge-worker %s: %s attempt %d failed, retried later: %s%n", id, s.token(), s.attempt(), failure);
            }
            settled = true;
        } catch (BrokerException e) {
            // the result or the give-back did not reach the broker: the lease expires and another worker judges it again
            log.printf("judge-worker %s: %s: %s%n", id, s.token(), e.getMessage());
            settled = true;
        } finally {
            if (settled) {
                held.remove(s.token());
            }
            slots.release();
        }
    }

    private void publish(Submission s, Verdict v, String json) throws BrokerException {
        boolean first = broker.publish(s, id, v, json);
        judged.incrementAndGet();
        if (!first) {
            log.printf("judge-worker %s: %s was judged before (attempt %d); the first result stands%n", id, s.token(),
                    s.attempt());
        }
    }

    private void giveUp(Submission s, String why) throws BrokerException {
        broker.publish(s, id, Verdict.IE, ResultJson.error(why, s, id));
        log.printf("judge-worker %s: %s ends as IE: %s%n", id, s.token(), why);
    }

    private void renew() {
        try {
            broker.renew(id, List.copyOf(held.keySet()), lease);
        } catch (BrokerException e) {
            log.printf("judge-worker %s: %s%n", id, e.getMessage());
        }
    }

    /**
     * Removes the sandbox cgroups that dead JVMs on this host left ({@link CgroupHost#cleanLeftovers()},
     * which never touches a live JVM's): a worker killed at the moment it was creating one leaves
     * it behind, and its siblings on the host, or its own restart, remove it.
     */
    private void cleanLeftovers() {
        try {
            List<Path> removed = CgroupHost.detect().cleanLeftovers();
            if (!removed.isEmpty()) {
                log.printf("judge-worker %s: removed %d sandbox cgroups that dead JVMs left: %s%n", id, removed.size(), removed);
            }
        } catch (IOException | RuntimeException e) {
            log.printf("judge-worker %s: cannot remove the cgroups dead JVMs left: %s%n", id, e.getMessage());
        }
    }

    private void reconnect() {
        try {
            Broker fresh = Broker.connect(url);
            Broker old = broker;
            broker = fresh;
            old.close();
        } catch (BrokerException e) {
            log.printf("judge-worker %s: %s%n", id, e.getMessage());
        }
    }

    /**
     * Stops the worker and waits until it has: no more claims; what is being judged has
     * {@code grace} to finish, and what has not by then is given back.
     */
    public void stop(Duration grace) throws InterruptedException {
        this.grace = grace;
        stopping = true;
        finished.await();
    }

    private static String hostName() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
