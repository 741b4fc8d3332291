package dev.llmpool.testkit.internal;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.Future;

/**
 * Netty returns a future from every close, write and timer; these say, once, why the testkit needs
 * no more from a given one (and keep Error Prone's FutureReturnValueIgnored meaningful).
 */
public final class Futures {

  /**
   * A future whose outcome needs no handling: a close (it fails only on a channel already closed,
   * which is the outcome wanted), a timer (it checks when it fires whether there is still work), a
   * promise passed on to the next handler (its owner handles it).
   */
  public static void ignore(Future<?> future) {
    // Nothing to do, by design; see above.
  }

  /** A write whose failure means the connection is broken: close it, so every exchange ends. */
  public static void closeOnFailure(ChannelFuture write) {
    if (!write.isVoid()) {
      write.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }
  }

  private Futures() {}
}
