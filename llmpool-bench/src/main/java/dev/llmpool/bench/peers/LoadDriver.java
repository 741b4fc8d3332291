package dev.llmpool.bench.peers;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jspecify.annotations.Nullable;

/**
 * A closed loop of {@code concurrency} lanes: each lane sends the next call as soon as its previous
 * one ends, so exactly {@code concurrency} calls are in flight (as {@code wrk} or h2load keep
 * them). Calls run for {@code settle} (connections open, caches fill; not measured), then for
 * {@code measure}, when every call that ends is counted, its latency (from the moment the lane
 * started it to the moment the whole answer was read) recorded in an HdrHistogram, and CPU,
 * allocation and nginx CPU read at both edges. A lane that fails waits 1 ms before its next call,
 * so a dead server cannot turn the loop into a spin.
 */
final class LoadDriver {
  private static final int SETTLE = 0;
  private static final int MEASURE = 1;
  private static final int STOP = 2;

  /** How long calls may take to end after the window closes before they count as hung. */
  static final Duration DRAIN = Duration.ofSeconds(30);

  private final PeerClient client;
  private final URI uri;
  private final int expectedBytes;
  private final ScheduledExecutorService retry;
  private final Recorder latencies = new Recorder(3);
  private final LongAdder completed = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicReference<@Nullable String> firstError = new AtomicReference<>();
  private final CountDownLatch lanesDone;

  /** SETTLE, MEASURE or STOP; lanes read it, the coordinating thread writes it. */
  private volatile int phase = SETTLE;

  private LoadDriver(
      PeerClient client,
      URI uri,
      int expectedBytes,
      int concurrency,
      ScheduledExecutorService retry) {
    this.client = client;
    this.uri = uri;
    this.expectedBytes = expectedBytes;
    this.retry = retry;
    this.lanesDone = new CountDownLatch(concurrency);
  }

  /** Runs one cell and returns its figures (connections are filled in later from nginx's log). */
  static Results.Cell run(
      String clientName,
      Protocol protocol,
      int concurrency,
      String tag,
      PeerClient client,
      URI uri,
      int expectedBytes,
      Duration settle,
      Duration measure,
      Meters meters,
      ScheduledExecutorService retry)
      throws InterruptedException {
    LoadDriver d = new LoadDriver(client, uri, expectedBytes, concurrency, retry);
    for (int i = 0; i < concurrency; i++) {
      d.new Lane().fire();
    }
    parkFor(settle);
    Meters.Snapshot start = meters.snapshot();
    d.phase = MEASURE;
    parkFor(measure);
    d.phase = STOP;
    Meters.Window window = meters.snapshot().minus(start);
    Histogram h = d.latencies.getIntervalHistogram();
    long ok = d.completed.sum();
    boolean drained = d.lanesDone.await(DRAIN.toMillis(), TimeUnit.MILLISECONDS);
    long hung = d.lanesDone.getCount();
    long errors = d.errors.sum() + hung;
    String note = d.firstError.get();
    if (!drained) {
      note =
          hung
              + " calls did not end within "
              + DRAIN.toSeconds()
              + " s"
              + (note == null ? "" : "; " + note);
    }
    if (ok == 0 && note == null) {
      note = "no call completed in the " + measure.toMillis() + " ms window";
    }
    double seconds = window.nanos() / 1e9;
    String status = ok > 0 && drained ? Results.OK : Results.FAILED;
    double perReq = Math.max(ok, 1);
    return new Results.Cell(
        clientName,
        protocol.key(),
        concurrency,
        status,
        note,
        tag,
        seconds,
        ok,
        errors,
        ok / seconds,
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0,
        h.getValueAtPercentile(99.9) / 1000.0,
        h.getMaxValue() / 1000.0,
        window.cpuNanos() / perReq / 1000.0,
        window.allocatedBytes() / perReq,
        window.nginxCpuNanos() / perReq / 1000.0,
        -1,
        window.otherCpuPercent());
  }

  /** Parks the calling thread for {@code d}, however often it wakes early. */
  static void parkFor(Duration d) {
    long deadline = System.nanoTime() + d.toNanos();
    for (long left = d.toNanos(); left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }

  private void error(String what) {
    if (phase != STOP) {
      errors.increment();
      firstError.compareAndSet(null, what);
    }
  }

  /** One call in flight at a time, forever until STOP. */
  private final class Lane implements PeerClient.Outcome {
    /** When the current call started; written before the call is handed to the client. */
    private final AtomicLong start = new AtomicLong();

    void fire() {
      if (phase == STOP) {
        lanesDone.countDown();
        return;
      }
      start.set(System.nanoTime());
      try {
        client.post(uri, this);
      } catch (RuntimeException e) {
        failed(e);
      }
    }

    @Override
    public void completed(int status, int bodyBytes) {
      long took = System.nanoTime() - start.get();
      if (status == 200 && bodyBytes == expectedBytes) {
        if (phase == MEASURE) {
          latencies.recordValue(took);
          completed.increment();
        }
        fire();
      } else {
        error(
            "HTTP "
                + status
                + " with "
                + bodyBytes
                + " body bytes (expected 200 with "
                + expectedBytes
                + ")");
        retryLater();
      }
    }

    @Override
    public void failed(Throwable error) {
      error(describe(error));
      retryLater();
    }

    private void retryLater() {
      if (phase == STOP) {
        lanesDone.countDown();
        return;
      }
      var unused = retry.schedule(this::fire, 1, TimeUnit.MILLISECONDS);
    }
  }

  /** The exception's class and message, and those of its root cause. */
  static String describe(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String s = error.getClass().getSimpleName() + ": " + error.getMessage();
    if (root != error) {
      s += " (cause " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }
    return s;
  }
}
