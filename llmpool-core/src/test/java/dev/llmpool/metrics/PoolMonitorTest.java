package dev.llmpool.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolWarnings;
import dev.llmpool.Timeouts;
import dev.llmpool.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Utilization warnings with hysteresis and failure summaries, driven by a manual scheduler and a
 * scripted statistics source; the log is captured by a {@link RecordingLogger}. Nothing sleeps.
 */
class PoolMonitorTest {
  static final Origin API = Origin.of("https://api.example.com");
  static final Origin LOCAL = Origin.of("http://localhost:8000");

  final ManualScheduler scheduler = new ManualScheduler();
  final RecordingLogger log = new RecordingLogger();
  final AtomicReference<PoolStats> current = new AtomicReference<>();
  final Limits limits = Limits.builder().maxConnections(50).build();

  PoolMonitor monitor(PoolWarnings warnings, Limits limits, Predicate<Origin> http2Offered) {
    current.set(stats(API, limits, 0, 0, 0, 0));
    PoolMonitor m =
        new PoolMonitor(
            current::get,
            scheduler,
            warnings,
            limits,
            Timeouts.DEFAULTS,
            http2Offered,
            log,
            "epoll",
            "JDK");
    m.start();
    return m;
  }

  PoolMonitor monitor() {
    return monitor(PoolWarnings.DEFAULTS, limits, o -> true);
  }

  /**
   * A snapshot of a pool with one origin: {@code active} of the limit busy, {@code pending} wait.
   */
  static PoolStats stats(
      Origin origin, Limits limits, int active, int pending, long timeouts, long rejected) {
    return stats(origin, limits, active, pending, timeouts, rejected, 0);
  }

  static PoolStats stats(
      Origin origin,
      Limits limits,
      int active,
      int pending,
      long timeouts,
      long rejected,
      long connectFailures) {
    PoolStats o =
        PoolStats.builder(origin, limits.maxConnectionsPerHost())
            .connections(0, 0, active, 0)
            .load(active, pending)
            .counters(active, 0, timeouts, rejected, connectFailures)
            .build();
    return PoolStats.builder(null, limits.maxConnections())
        .connections(0, 0, active, 0)
        .load(active, pending)
        .counters(active, 0, timeouts, rejected, connectFailures)
        .origin(o)
        .build();
  }

  void busy(int active, int pending) {
    current.set(stats(API, limits, active, pending, 0, 0));
  }

  void seconds(long n) {
    scheduler.advance(Duration.ofSeconds(n));
  }

  @Test
  void aMomentarySpikeDoesNotWarnButShowsAsThePeak() {
    PoolMonitor m = monitor();
    busy(50, 20); // saturated: every connection busy, calls waiting
    seconds(5);
    busy(10, 0);
    seconds(60);
    assertThat(log.warnings()).isEmpty();
    PoolStats s = m.enrich(current.get());
    assertThat(s.peakUtilization()).isEqualTo(1.0);
    assertThat(s.utilizationWarnings()).isZero();
  }

  @Test
  void sustainedHighUtilizationLogsOneWarningWithTheFiguresAndTheRemedy() {
    PoolMonitor m = monitor();
    m.connectionOpened(API, true);
    busy(45, 0);
    seconds(10); // samples at 1..10 s: high for 9 s as seen
    assertThat(log.warnings()).as("9 s is not yet sustained").isEmpty();
    seconds(1);
    assertThat(log.warnings()).hasSize(1);
    seconds(300);
    assertThat(log.warnings()).as("once, not once per sample").hasSize(1);
    assertThat(log.warnings().get(0))
        .isEqualTo(
            "llmpool: the pool's connections (to https://api.example.com:443) have been at least"
                + " 80% utilized for 10 s (now 90%: 45/50 connections active, 0 calls waiting, 45"
                + " in flight, HTTP/2; bound by limits.maxConnections=50). Calls queue for a"
                + " connection, and fail with PoolTimeoutException after timeouts.pool (30 s)."
                + " Likely remedy: raise limits.maxConnections (now 50) or send fewer calls at"
                + " once. Not repeated until utilization falls below 60%.");
    PoolStats s = m.enrich(current.get());
    assertThat(s.utilizationWarnings()).isEqualTo(1);
    assertThat(s.peakUtilization()).isEqualTo(0.9);
  }

  @Test
  void waitingCallsAtTheLimitCountAsSaturation() {
    monitor();
    busy(30, 5); // 60 % active, but nothing more may open? no: 30 of 50, so not saturated
    seconds(30);
    assertThat(log.warnings()).isEmpty();
    current.set(
        PoolStats.builder(null, 50)
            .connections(20, 0, 30, 0) // 20 connecting + 30 active = the limit, and calls wait
            .load(30, 5)
            .build());
    seconds(11);
    assertThat(log.warnings()).singleElement().asString().contains("now 100%: 30/50");
  }

  @Test
  void warnsAgainOnlyAfterUtilizationFellBelowTheRearmLevel() {
    PoolMonitor m = monitor();
    busy(45, 0);
    seconds(11);
    assertThat(log.warnings()).hasSize(1);

    busy(35, 0); // 70 %: below the threshold, above the re-arm level
    seconds(5);
    busy(50, 3);
    seconds(60);
    assertThat(log.warnings()).as("not re-armed at 70%").hasSize(1);

    busy(25, 0); // 50 %: re-armed
    seconds(1);
    busy(45, 0);
    seconds(10);
    assertThat(log.warnings()).as("a new sustained period is needed").hasSize(1);
    seconds(1);
    assertThat(log.warnings()).hasSize(2);
    assertThat(m.enrich(current.get()).utilizationWarnings()).isEqualTo(2);
  }

  @Test
  void aDipBelowTheThresholdRestartsTheSustainedPeriod() {
    monitor();
    for (int i = 0; i < 10; i++) {
      busy(45, 0);
      seconds(8);
      busy(39, 0); // 78 %: one low sample
      seconds(1);
    }
    assertThat(log.warnings()).isEmpty();
  }

  @Test
  void http2IsSuggestedWhenTheOriginIsOnHttp11BecauseOfTheConfiguration() {
    PoolMonitor m = monitor(PoolWarnings.DEFAULTS, limits, o -> false); // http2(false)
    m.connectionOpened(API, false);
    busy(50, 10);
    seconds(11);
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .contains("HTTP/1.1; bound by limits.maxConnections=50")
        .contains(
            "Likely remedy: enable HTTP/2 for https://api.example.com:443 (it is turned off by"
                + " http2(false) or forceHttp1; LLM APIs speak it, and one HTTP/2 connection"
                + " carries about 100 concurrent calls); otherwise raise limits.maxConnections"
                + " (now 50) or send fewer calls at once.");
  }

  @Test
  void http2IsNotSuggestedWhenTheServerDeclinedItOrIsAlreadyOnIt() {
    PoolMonitor m = monitor(PoolWarnings.DEFAULTS, limits, o -> true); // h2 offered in ALPN
    m.connectionOpened(API, false); // the server chose HTTP/1.1
    busy(50, 10);
    seconds(11);
    assertThat(log.warnings()).singleElement().asString().doesNotContain("enable HTTP/2");

    log.lines.clear();
    m.connectionOpened(API, true);
    busy(0, 0);
    seconds(1);
    busy(50, 10);
    seconds(11);
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .contains("HTTP/2;")
        .doesNotContain("enable HTTP/2");
  }

  @Test
  void aPlainTextOriginOnHttp11IsPointedToPriorKnowledge() {
    Limits l = Limits.builder().maxConnections(4).build();
    current.set(stats(LOCAL, l, 4, 2, 0, 0));
    PoolMonitor m =
        new PoolMonitor(
            current::get,
            scheduler,
            PoolWarnings.DEFAULTS,
            l,
            Timeouts.DEFAULTS,
            o -> false,
            log,
            "nio",
            null);
    m.start();
    m.connectionOpened(LOCAL, false);
    seconds(11);
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .contains(
            "if http://localhost:8000 speaks HTTP/2 without TLS, use"
                + " h2cPriorKnowledge(\"localhost:8000\") (with http2 on)");
  }

  @Test
  void aTighterPerHostLimitIsWatchedPerOrigin() {
    Limits l = Limits.builder().maxConnections(100).maxConnectionsPerHost(10).build();
    current.set(stats(API, l, 10, 4, 0, 0));
    PoolMonitor m =
        new PoolMonitor(
            current::get,
            scheduler,
            PoolWarnings.DEFAULTS,
            l,
            Timeouts.DEFAULTS,
            o -> true,
            log,
            null,
            null);
    m.start();
    seconds(11);
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .startsWith(
            "llmpool: connections to https://api.example.com:443 have been at least 80% utilized"
                + " for 10 s (now 100%: 10/10 connections active, 4 calls waiting")
        .contains("bound by limits.maxConnectionsPerHost=10")
        .contains("raise limits.maxConnectionsPerHost (now 10)");
    PoolStats s = m.enrich(current.get());
    assertThat(s.utilizationWarnings()).as("the pool as a whole is at 10%").isZero();
    assertThat(s.forOrigin(API).utilizationWarnings()).isEqualTo(1);
    assertThat(s.forOrigin(API).peakUtilization()).isEqualTo(1.0);
  }

  @Test
  void poolTimeoutsAndRejectionsAreSummarisedAtMostOncePerIntervalWithCounts() {
    monitor();
    long timeouts = 0;
    long rejected = 0;
    // Three minutes of failures: 2 timeouts and 1 rejection every second.
    for (int s = 0; s < 180; s++) {
      timeouts += 2;
      rejected += 1;
      current.set(stats(API, limits, 50, 1000, timeouts, rejected));
      seconds(1);
    }
    List<String> summaries = new ArrayList<>();
    for (String w : log.warnings()) {
      if (w.contains("timed out waiting")) {
        summaries.add(w);
      }
    }
    // The first within a second of the first failure, then one per 60 s.
    assertThat(summaries).hasSize(3);
    assertThat(summaries.get(0))
        .isEqualTo(
            "llmpool: in the last 1 s, 2 calls to https://api.example.com:443 timed out waiting"
                + " for a connection (PoolTimeoutException after timeouts.pool=30 s) and 1 call"
                + " was refused at once because limits.maxPendingAcquires=1000 calls were already"
                + " waiting (PoolFullException). Now: utilization 100%, 50/50 connections active,"
                + " 1000 calls waiting. Likely remedy: raise limits.maxConnections (now 50) or send"
                + " fewer calls at once. Further failures are summarised at most every 60 s.");
    assertThat(summaries.get(1))
        .startsWith("llmpool: in the last 60 s, 120 calls to")
        .contains("and 60 calls were refused");
    assertThat(summaries.get(2)).startsWith("llmpool: in the last 60 s, 120 calls to");

    log.lines.clear();
    seconds(600); // no new failure: the last ones are told when their interval ends, then silence
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .startsWith("llmpool: in the last 60 s, 118 calls to")
        .contains("and 59 calls were refused");
  }

  @Test
  void aSummaryMentionsConnectFailuresSoADownHostIsNotMistakenForABusyOne() {
    monitor();
    current.set(stats(API, limits, 0, 0, 3, 0, 7));
    seconds(1);
    assertThat(log.warnings())
        .singleElement()
        .asString()
        .startsWith("llmpool: in the last 1 s, 3 calls to https://api.example.com:443 timed out")
        .contains("; 7 connection attempts failed meanwhile, so the host may be down or slow");
  }

  @Test
  void offSamplesNothingAndStopEndsSampling() {
    monitor(PoolWarnings.OFF, limits, o -> true);
    assertThat(scheduler.pendingTasks()).isZero();

    PoolMonitor m = monitor();
    assertThat(scheduler.pendingTasks()).isEqualTo(1);
    seconds(5);
    assertThat(scheduler.pendingTasks()).as("one task at a time").isEqualTo(1);
    m.stop();
    assertThat(scheduler.pendingTasks()).isZero();
    busy(50, 50);
    seconds(60);
    assertThat(log.warnings()).isEmpty();
  }

  @Test
  void theSampleIntervalFollowsTheSustainedPeriod() {
    assertThat(PoolWarnings.DEFAULTS.sampleInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(PoolWarnings.builder().sustainedFor(Duration.ofSeconds(2)).build().sampleInterval())
        .isEqualTo(Duration.ofMillis(200));
    assertThat(PoolWarnings.builder().sustainedFor(Duration.ZERO).build().sampleInterval())
        .isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void enrichAddsProtocolTransportAndTls() {
    PoolMonitor m = monitor();
    m.connectionOpened(API, true);
    PoolStats s = m.enrich(stats(API, limits, 3, 0, 0, 0));
    assertThat(s.ioTransport()).isEqualTo("epoll");
    assertThat(s.tlsProvider()).isEqualTo("JDK");
    assertThat(s.forOrigin(API).protocol()).isEqualTo("HTTP/2");
    assertThat(s.toString())
        .contains("origins=[https://api.example.com:443 HTTP/2], io=epoll, tls=JDK}");
    assertThat(s.forOrigin(API).toString())
        .startsWith("PoolStats{https://api.example.com:443 HTTP/2, connections=3/50");
  }

  /**
   * Random utilization paths (seeded; the seed and step are in the failure message): every warning
   * follows a run of high samples lasting the sustained period, and between two warnings some
   * sample fell below the re-arm level.
   */
  @Test
  void randomUtilizationPathsKeepTheHysteresisInvariants() {
    for (long seed = 1; seed <= 50; seed++) {
      Random rnd = new Random(seed);
      ManualScheduler sched = new ManualScheduler();
      RecordingLogger rec = new RecordingLogger();
      AtomicReference<PoolStats> src = new AtomicReference<>(stats(API, limits, 0, 0, 0, 0));
      PoolWarnings w =
          PoolWarnings.builder()
              .utilizationThreshold(0.8)
              .rearmBelow(0.5)
              .sustainedFor(Duration.ofSeconds(10L * (1 + rnd.nextInt(2)))) // sampled every 1 s
              .build();
      new PoolMonitor(src::get, sched, w, limits, Timeouts.DEFAULTS, o -> true, rec, null, null)
          .start();
      long sustainedSamples = w.sustainedFor().toSeconds();
      int highRun = 0;
      boolean rearmedSinceWarning = true;
      int level = rnd.nextInt(51);
      for (int step = 0; step < 2000; step++) {
        level = Math.max(0, Math.min(50, level + rnd.nextInt(21) - 10));
        src.set(stats(API, limits, level, 0, 0, 0));
        int before = rec.warnings().size();
        sched.advance(Duration.ofSeconds(1));
        double u = level / 50.0;
        highRun = u >= 0.8 ? highRun + 1 : 0;
        int fired = rec.warnings().size() - before;
        String where = "seed " + seed + ", step " + step + ", utilization " + u;
        assertThat(fired).as(where).isBetween(0, 1);
        if (fired == 1) {
          assertThat(highRun)
              .as(where + ": warned before the sustained period")
              .isGreaterThan((int) sustainedSamples);
          assertThat(rearmedSinceWarning).as(where + ": warned twice without re-arming").isTrue();
          rearmedSinceWarning = false;
        } else if (highRun > sustainedSamples && rearmedSinceWarning) {
          throw new AssertionError(where + ": sustained and armed, yet no warning");
        }
        if (u < 0.5) {
          rearmedSinceWarning = true;
        }
      }
    }
  }
}
