package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Futures;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One accepted connection: its counters, its protocol once known, and its idle timer.
 *
 * <p>Threading: every method but {@link #snapshot()} runs on the channel's event loop, which
 * confines {@code active}, {@code idleTimer} and {@code silentClose}; fields read by {@link
 * #snapshot()} from other threads are volatile or atomic.
 */
final class Conn {
  final long id;
  final Channel channel;
  final boolean tls;
  private final ServerCore core;
  private final @Nullable Duration closeIdleAfter;

  private volatile @Nullable Protocol protocol;
  private volatile boolean open = true;
  private volatile int requests;
  private volatile int peakStreams;
  final AtomicLong bytesIn = new AtomicLong();
  final AtomicLong bytesOut = new AtomicLong();

  // Confined to the event loop.
  private int active;
  private @Nullable ScheduledFuture<?> idleTimer;
  private Runnable silentClose;

  Conn(long id, Channel channel, boolean tls, ServerCore core, @Nullable Duration closeIdleAfter) {
    this.id = id;
    this.channel = channel;
    this.tls = tls;
    this.core = core;
    this.closeIdleAfter = closeIdleAfter;
    this.silentClose = () -> Futures.ignore(channel.close());
  }

  /** The protocol is known: HTTP/1.1, or HTTP/2 whose silent close skips the GOAWAY. */
  void protocol(Protocol protocol, Runnable silentClose) {
    this.protocol = protocol;
    this.silentClose = silentClose;
    core.changed();
  }

  @Nullable Protocol protocol() {
    return protocol;
  }

  /** Counts one recorded request and returns its place on this connection (1 for the first). */
  int nextRequest() {
    int n = requests + 1; // only the event loop writes
    requests = n;
    return n;
  }

  int requests() {
    return requests;
  }

  /** An exchange (HTTP/1.1) or a stream (HTTP/2) started: the connection is not idle. */
  void streamOpened() {
    active++;
    if (active > peakStreams) {
      peakStreams = active;
    }
    core.streamOpened();
    cancelIdleTimer();
  }

  /** An exchange or stream ended; with none left, the idle timer starts. */
  void streamClosed() {
    if (active == 0) {
      return;
    }
    active--;
    core.streamClosed();
    if (active == 0) {
      startIdleTimer();
    }
  }

  /** Starts the close-idle timer when one is configured (a fresh connection is idle too). */
  void startIdleTimer() {
    Duration d = closeIdleAfter;
    if (d == null || !channel.isActive()) {
      return;
    }
    cancelIdleTimer();
    idleTimer =
        channel
            .eventLoop()
            .schedule(
                () -> {
                  if (active == 0) {
                    closeSilently();
                  }
                },
                d.toNanos(),
                TimeUnit.NANOSECONDS);
  }

  private void cancelIdleTimer() {
    ScheduledFuture<?> t = idleTimer;
    if (t != null) {
      t.cancel(false);
      idleTimer = null;
    }
  }

  /** Closes without warning: no {@code Connection: close}, no GOAWAY (as a load balancer does). */
  void closeSilently() {
    silentClose.run();
  }

  /** Resets the connection: TCP RST (SO_LINGER 0), skipping TLS close_notify. */
  void reset() {
    channel.config().setOption(ChannelOption.SO_LINGER, 0);
    Futures.ignore(channel.pipeline().firstContext().close());
  }

  /** The channel closed: streams still counted are released. */
  void closed() {
    open = false;
    cancelIdleTimer();
    while (active > 0) {
      active--;
      core.streamClosed();
    }
  }

  ConnectionStats snapshot() {
    return new ConnectionStats(
        id, protocol, tls, open, requests, peakStreams, bytesIn.get(), bytesOut.get());
  }

  boolean isOpen() {
    return open;
  }
}
