package dev.llmpool.pool;

/**
 * The right to run one exchange on a connection: the whole connection for HTTP/1.1, one stream slot
 * for HTTP/2. Given by the pool's acquire, ended exactly once by {@link #release()} or {@link
 * #discard()}; a second end is ignored.
 *
 * <p><b>Recycled.</b> So that the reuse path allocates nothing, the pool reuses lease objects: once
 * a lease is ended, the same object may be handed to a later acquire. Drop the reference when you
 * end it; a caller that may end it from two places (a completion and an error path racing) must
 * guard that with its own once-only flag, or its second end could end someone else's exchange.
 *
 * <p>Not thread-safe in itself: one call owns it; ending it is safe from any thread.
 */
public interface Lease {

  /** The connection to run the exchange on. */
  Connection connection();

  /** True when the connection carried an exchange before this one. */
  boolean reused();

  /** How long the acquire waited for this lease, in nanoseconds. */
  long waitedNanos();

  /**
   * The exchange ended cleanly (response fully read): the slot goes back to the pool and the
   * connection may be reused.
   */
  void release();

  /**
   * {@link #release()}, given the time the exchange ended as the caller already read it from the
   * pool's {@link dev.llmpool.time.Ticker} (the transport reads it anyway), which spares the pool a
   * clock read on the hot path. The idle connection's keep-alive runs from this time, so pass an
   * exact one; {@link Long#MIN_VALUE} means unknown (the pool reads the clock).
   */
  default void release(long endNanos) {
    release();
  }

  /**
   * The exchange ended in a way that leaves the connection unfit for reuse (HTTP/1.1 body not fully
   * read, a protocol error): the pool closes the connection once its other exchanges end (at once
   * for HTTP/1.1). For HTTP/2, a merely reset stream should {@link #release()} instead.
   */
  void discard();

  /**
   * Ties this lease to the object that holds it for the caller (the HTTP layer's per-call object),
   * so that the pool can reclaim the lease if that object is garbage-collected before the lease is
   * ended: the connection is then closed (it is in an unknown state) and a warning is logged once,
   * with the stack of the acquisition when leak tracking is on. Call it right after the acquire,
   * from the thread that got the lease. It costs one weak reference; without it a leaked lease is
   * never reclaimed.
   */
  default void trackOwner(Object owner) {}

  /**
   * {@link #trackOwner(Object)}, with what to do when the owner is collected first: {@code abandon}
   * runs once, outside the pool's lock, and must end the exchange from the transport's side (reset
   * an HTTP/2 stream, close an HTTP/1.1 connection), which ends this lease as usual. Then the pool
   * does not close a multiplexed connection for the leak: its other streams carry on. {@code
   * abandon} must not refer to {@code owner} (directly or not), or the owner never becomes
   * unreachable.
   */
  default void trackOwner(Object owner, Runnable abandon) {
    trackOwner(owner);
  }
}
