package dev.llmpool.testkit;

import io.netty.channel.ChannelFuture;
import io.netty.util.concurrent.EventExecutor;

/**
 * Where an {@link Exchange} writes one response: an HTTP/1.1 exchange or an HTTP/2 stream. Every
 * method is called on {@link #executor()}.
 */
interface ResponseSink {
  /** The connection's event loop. */
  EventExecutor executor();

  /** Whether the response can still be written (the client has not reset or closed). */
  boolean active();

  /** Writes the status and headers (not flushed). */
  void headers(Plan plan);

  /** Writes a piece of the body (not flushed); {@code last} ends the response. */
  ChannelFuture data(byte[] bytes, boolean last);

  void flush();

  /** The whole response was written; {@code fault} may ask for more (a close, a reset). */
  void finish(Fault fault);

  /** The body ends early: HTTP/1.1 closes the connection, HTTP/2 ends the stream. */
  void truncate();

  /** HTTP/2: RST_STREAM(INTERNAL_ERROR). HTTP/1.1: the connection is reset. */
  void resetStream();

  /** HTTP/2: RST_STREAM(REFUSED_STREAM). HTTP/1.1: the connection is closed. */
  void refuseStream();

  /** TCP FIN, with no GOAWAY and no {@code Connection: close}. */
  void closeConnection();

  /** TCP RST. */
  void resetConnection();

  /** Bytes that are not HTTP, under TLS when there is TLS, then a close. */
  void garbage();
}
