package dev.llmpool.pool;

import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Records the pool's events as short strings, e.g. {@code "closed idle-expired"}. */
final class RecordingObserver implements PoolObserver {
  private final List<String> events = new ArrayList<>();
  volatile @Nullable Throwable lastLeakStack;

  /** Set by the test once the pool exists: every event must come outside its lock. */
  volatile @Nullable ConnectionPool pool;

  private synchronized void add(String e) {
    ConnectionPool p = pool;
    if (p != null && p.lock.isHeldByCurrentThread()) {
      throw new AssertionError("observer called under the pool's lock: " + e);
    }
    events.add(e);
  }

  synchronized List<String> events() {
    return new ArrayList<>(events);
  }

  @Override
  public void connectionOpened(Origin origin, boolean multiplexed) {
    add("opened " + (multiplexed ? "h2" : "h1"));
  }

  @Override
  public void connectionClosed(Origin origin, CloseReason reason) {
    add("closed " + reason.label());
  }

  @Override
  public void connectFailed(Origin origin, Throwable error) {
    add("connect failed");
  }

  @Override
  public void acquireWaited(Origin origin, long waitedNanos) {
    add("waited " + waitedNanos / 1_000_000 + "ms");
  }

  @Override
  public void acquireTimedOut(Origin origin, long waitedNanos) {
    add("timed out " + waitedNanos / 1_000_000 + "ms");
  }

  @Override
  public void rejected(Origin origin) {
    add("rejected");
  }

  @Override
  public void leakDetected(Origin origin, @Nullable Throwable acquiredAt) {
    lastLeakStack = acquiredAt;
    add("leak");
  }
}
