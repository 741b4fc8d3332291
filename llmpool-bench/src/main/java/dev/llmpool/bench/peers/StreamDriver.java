package dev.llmpool.bench.peers;

import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jspecify.annotations.Nullable;

/**
 * The streaming twin of {@link LoadDriver}: {@code concurrency} lanes each keep one 500-token SSE
 * stream open and start the next when it ends. In the window it records each stream's time to first
 * token (call start to the first byte of the first {@code data:} payload), each whole stream's
 * duration, and every token received, so CPU and allocation are per streamed token.
 */
final class StreamDriver {
  private static final int SETTLE = 0;
  private static final int MEASURE = 1;
  private static final int STOP = 2;

  private final PeerClient client;
  private final URI uri;
  private final ScheduledExecutorService retry;
  private final Recorder ttft = new Recorder(3);
  private final Recorder streamTimes = new Recorder(3);
  private final LongAdder tokens = new LongAdder();
  private final LongAdder streams = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicReference<@Nullable String> firstError = new AtomicReference<>();
  private final CountDownLatch lanesDone;
  private volatile int phase = SETTLE;

  private StreamDriver(
      PeerClient client, URI uri, int concurrency, ScheduledExecutorService retry) {
    this.client = client;
    this.uri = uri;
    this.retry = retry;
    this.lanesDone = new CountDownLatch(concurrency);
  }

  static Results.StreamCell run(
      String clientName,
      Protocol protocol,
      String mode,
      int concurrency,
      String tag,
      PeerClient client,
      URI uri,
      Duration settle,
      Duration measure,
      Meters meters,
      ScheduledExecutorService retry)
      throws InterruptedException {
    StreamDriver d = new StreamDriver(client, uri, concurrency, retry);
    for (int i = 0; i < concurrency; i++) {
      d.new Lane().fire();
    }
    LoadDriver.parkFor(settle);
    Meters.Snapshot start = meters.snapshot();
    d.phase = MEASURE;
    LoadDriver.parkFor(measure);
    d.phase = STOP;
    Meters.Window window = meters.snapshot().minus(start);
    Histogram first = d.ttft.getIntervalHistogram();
    Histogram whole = d.streamTimes.getIntervalHistogram();
    long tokenCount = d.tokens.sum();
    // A paced stream lasts about a second: let the last ones finish rather than cut them.
    boolean drained = d.lanesDone.await(LoadDriver.DRAIN.toMillis(), TimeUnit.MILLISECONDS);
    long hung = d.lanesDone.getCount();
    String note = d.firstError.get();
    if (!drained) {
      note =
          hung
              + " streams did not end within "
              + LoadDriver.DRAIN.toSeconds()
              + " s"
              + (note == null ? "" : "; " + note);
    }
    double seconds = window.nanos() / 1e9;
    double perToken = Math.max(tokenCount, 1);
    return new Results.StreamCell(
        clientName,
        protocol.key(),
        mode,
        concurrency,
        tokenCount > 0 && drained ? Results.OK : Results.FAILED,
        note,
        tag,
        seconds,
        d.streams.sum(),
        tokenCount,
        d.errors.sum() + hung,
        tokenCount / seconds,
        first.getValueAtPercentile(50) / 1000.0,
        first.getValueAtPercentile(99) / 1000.0,
        whole.getValueAtPercentile(50) / 1000.0,
        window.cpuNanos() / perToken / 1000.0,
        window.allocatedBytes() / perToken);
  }

  private void error(String what) {
    if (phase != STOP) {
      errors.increment();
      firstError.compareAndSet(null, what);
    }
  }

  /** One stream open at a time. The client calls a lane's sink from one thread at a time. */
  private final class Lane implements PeerClient.StreamSink {
    private long start;
    private int status;
    private boolean sawFirst;
    private SseScanner sse = new SseScanner();

    void fire() {
      if (phase == STOP) {
        lanesDone.countDown();
        return;
      }
      sse = new SseScanner();
      sawFirst = false;
      status = 0;
      start = System.nanoTime();
      try {
        client.stream(uri, this);
      } catch (RuntimeException e) {
        failed(e);
      }
    }

    @Override
    public void started(int status) {
      this.status = status;
    }

    @Override
    public void content(ByteBuffer chunk) {
      int n = sse.feed(chunk);
      if (n > 0 && phase == MEASURE) {
        tokens.add(n);
        if (!sawFirst) {
          ttft.recordValue(System.nanoTime() - start);
        }
      }
      if (n > 0) {
        sawFirst = true;
      }
    }

    @Override
    public void completed() {
      if (status == 200 && sse.done() && sse.tokens() == Payloads.STREAM_TOKENS) {
        if (phase == MEASURE) {
          streamTimes.recordValue(System.nanoTime() - start);
          streams.increment();
        }
        fire();
      } else {
        error(
            "stream ended with HTTP "
                + status
                + " after "
                + sse.tokens()
                + " tokens"
                + (sse.done() ? "" : " and no [DONE]"));
        retryLater();
      }
    }

    @Override
    public void failed(Throwable error) {
      error(LoadDriver.describe(error));
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
}
