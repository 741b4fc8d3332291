package dev.llmpool.transport;

import dev.llmpool.Origin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many streams a server lets one HTTP/2 connection carry before it sends GOAWAY, learnt from
 * the server itself. Many servers retire connections after a fixed number of requests (nginx's
 * {@code http2_max_requests}, Envoy's {@code max_requests_per_connection}); every stream a client
 * starts after that number but before the GOAWAY arrives is refused and must be re-sent. Once two
 * GOAWAYs in a row name the same count, llmpool gives each connection to that origin at most that
 * many streams and retires it itself: no stream is refused any more, and no call waits on a
 * re-send.
 *
 * <p>The count only ever shrinks, and only on agreement of two GOAWAYs, so that one GOAWAY sent for
 * another reason (a server shutting down) teaches nothing. Thread-safe.
 */
final class StreamBudget {
  private static final Logger log = LoggerFactory.getLogger(StreamBudget.class);

  private final Origin origin;
  private volatile int limit = Integer.MAX_VALUE;

  // Guarded by this.
  private int candidate = -1;

  StreamBudget(Origin origin) {
    this.origin = origin;
  }

  /** Streams a connection may carry in all; {@link Integer#MAX_VALUE} while nothing is known. */
  int limit() {
    return limit;
  }

  /** A graceful GOAWAY arrived after the server accepted {@code accepted} streams. */
  void goAway(int accepted) {
    if (accepted < 1) {
      return;
    }
    boolean learnt = false;
    synchronized (this) {
      if (accepted == candidate && accepted < limit) {
        limit = accepted;
        learnt = true;
      }
      candidate = accepted;
    }
    if (learnt) {
      log.debug(
          "{} sends GOAWAY after {} streams per connection: connections are retired after {}",
          origin,
          accepted,
          accepted);
    }
  }
}
