package dev.llmpool.testkit;

import java.util.Locale;

/**
 * What goes wrong with one exchange. A fault is part of a {@link Reply}; "mid-body" means after
 * half the response body (half the bytes of a JSON body, half the events of a stream).
 *
 * <p>The name of each constant in lower case with dashes ({@code reset-stream-mid-body}) is also
 * the value of the {@code x-mock-fault} request header that selects it.
 */
public enum Fault {
  /** Nothing goes wrong. */
  NONE,

  /**
   * The response headers are sent, then nothing: the stream stays open until the client gives up.
   */
  STALL_AFTER_HEADERS,

  /**
   * The body ends early. HTTP/1.1: the connection is closed before {@code Content-Length} bytes (or
   * the last chunk) are sent. HTTP/2: the stream ends ({@code END_STREAM}) early, short of its
   * {@code content-length}, or before the stream's last event.
   */
  TRUNCATE_BODY,

  /**
   * HTTP/2: {@code RST_STREAM(INTERNAL_ERROR)} mid-body; the connection and its other streams carry
   * on. HTTP/1.1, which has no streams: the connection is reset (TCP RST) mid-body.
   */
  RESET_STREAM_MID_BODY,

  /** The connection is closed (TCP FIN; no GOAWAY, no {@code Connection: close}) mid-body. */
  CLOSE_CONNECTION_MID_BODY,

  /** The connection is reset (TCP RST) mid-body. */
  RESET_CONNECTION_MID_BODY,

  /** Bytes that are not HTTP are sent instead of a response, then the connection is closed. */
  GARBAGE,

  /**
   * The request is read in full, then the connection is closed without a response: the request may
   * have been processed, and a client cannot know.
   */
  DISCONNECT_AFTER_REQUEST,

  /**
   * A complete response, then the connection is closed at once without warning (no {@code
   * Connection: close}, no GOAWAY): the next request a client writes on it finds it closed.
   */
  CLOSE_AFTER_RESPONSE,

  /**
   * HTTP/2: {@code RST_STREAM(REFUSED_STREAM)} without a response, which tells the client the
   * request was not processed and is safe to retry. HTTP/1.1 has no such signal: the connection is
   * closed without a response, as {@link #DISCONNECT_AFTER_REQUEST}.
   */
  REFUSE_STREAM,

  /**
   * A complete response as soon as the request headers arrive, before the request body has been
   * read. HTTP/2: then {@code RST_STREAM(NO_ERROR)}, which asks the client to stop sending the body
   * (RFC 9113 section 8.1; the response is still a success). HTTP/1.1: the response carries {@code
   * Connection: close} and the server stops writing, reads and drops the rest of the body, then
   * closes.
   *
   * <p>This fault acts before the body arrives, so it is taken only from the {@code x-mock-fault}
   * header or the head of the queue ({@link MockLlmServer#enqueue}), never from a rule (rules see
   * the whole request).
   */
  RESPOND_BEFORE_BODY,

  /**
   * A stream answers 200, sends half its events, then an error event in the provider's shape, and
   * ends: Anthropic {@code event: error} with {@code data: {"type":"error","error":{"type":
   * "overloaded_error","message":"Overloaded"}}}; OpenAI-compatible servers (vLLM, LiteLLM) {@code
   * data: {"error":{"message","type","param","code"}}}, whose {@code code} is the status when the
   * error has no code of its own. The error is the one of the reply's status when that is an error
   * status ({@code Reply.error(429).toBuilder().fault(ERROR_EVENT_MID_STREAM)}), else 529
   * (overloaded). A request that does not stream gets the reply's status as usual.
   */
  ERROR_EVENT_MID_STREAM,

  /**
   * A stream answers 200, sends half its events and half the bytes of the next one, then ends the
   * body cleanly (the last chunk on HTTP/1.1, {@code END_STREAM} on HTTP/2): the event stream is
   * cut inside an event, while the HTTP exchange itself is complete. A request that does not stream
   * gets its JSON answer unharmed.
   */
  TRUNCATE_MID_EVENT;

  /** This fault's {@code x-mock-fault} header value: its name in lower case with dashes. */
  public String headerValue() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Whether the fault cuts the body in half. */
  boolean midBody() {
    return this == TRUNCATE_BODY
        || this == RESET_STREAM_MID_BODY
        || this == CLOSE_CONNECTION_MID_BODY
        || this == RESET_CONNECTION_MID_BODY;
  }
}
