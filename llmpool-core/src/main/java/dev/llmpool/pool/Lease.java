package dev.llmpool.pool;

/**
 * The right to run one exchange on a connection: the whole connection for HTTP/1.1, one stream slot
 * for HTTP/2. Given by the pool's acquire, ended exactly once by {@link #release()} or {@link
 * #discard()}; a second end is ignored.
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
   * The exchange ended in a way that leaves the connection unfit for reuse (HTTP/1.1 body not fully
   * read, a protocol error): the pool closes the connection once its other exchanges end (at once
   * for HTTP/1.1). For HTTP/2, a merely reset stream should {@link #release()} instead.
   */
  void discard();
}
