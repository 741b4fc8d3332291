package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Durations;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * What the mock server does with one request: immutable data, like OkHttp's {@code MockResponse}.
 *
 * <p>A reply has a status (200, or an error status answered with the provider's own error body),
 * the assistant's text (fixed, or derived from the prompt), a latency before the response headers,
 * a pace in tokens per second, a {@link Fault}, and extra response headers. The route decides the
 * body's shape (chat.completion, chunks, message, events, model list); the reply decides the rest.
 *
 * <pre>{@code
 * server.enqueue(Reply.error(429));                                  // the next request is limited
 * server.enqueue(Reply.fault(Fault.RESET_STREAM_MID_BODY));
 * MockLlmServer.builder().defaultReply(Reply.text("Hello!").toBuilder()
 *     .headersDelay(Duration.ofMillis(200)).tokensPerSecond(50).build());
 * }</pre>
 *
 * <p>A request can also pick its reply with the {@code x-mock-fault} header (handy when the client
 * is an SDK): {@code x-mock-fault: 429; retry-after=2s}, {@code x-mock-fault:
 * reset-stream-mid-body}, {@code x-mock-fault: none; latency=300ms; tokens-per-second=20}. The
 * first item is a status (400-599), a {@link Fault#headerValue() fault name} or {@code none}; the
 * parameters are {@code retry-after}, {@code latency} (durations such as {@code 250ms}, {@code 2s})
 * and {@code tokens-per-second}.
 */
public final class Reply {
  private static final int ECHO_LIMIT = 200;

  private final int status;
  private final @Nullable String fixedText;
  private final Function<String, String> text;
  private final @Nullable String errorMessage;
  private final @Nullable Duration retryAfter;
  private final Duration headersDelay;
  private final double tokensPerSecond;
  private final Fault fault;
  private final Map<String, String> headers;

  private Reply(Builder b) {
    this.status = b.status;
    this.fixedText = b.fixedText;
    this.text = b.text;
    this.errorMessage = b.errorMessage;
    this.retryAfter = b.retryAfter;
    this.headersDelay = b.headersDelay;
    this.tokensPerSecond = b.tokensPerSecond;
    this.fault = b.fault;
    this.headers = Collections.unmodifiableMap(new LinkedHashMap<>(b.headers));
  }

  /** A builder starting from the default reply: 200, the echo text, no delay, no fault. */
  public static Builder builder() {
    return new Builder();
  }

  /** The default reply: 200 with the text {@code "Mock reply to: <prompt>"}. */
  public static Reply echo() {
    return builder().build();
  }

  /** A 200 reply with this fixed assistant text. */
  public static Reply text(String text) {
    return builder().text(text).build();
  }

  /**
   * A 200 reply whose assistant text is {@code fn} applied to the prompt (the last user message).
   */
  public static Reply fromPrompt(Function<String, String> fn) {
    return builder().fromPrompt(fn).build();
  }

  /**
   * An error reply with the provider's error body for this status (400-599). A 429 carries {@code
   * retry-after: 1} and {@code retry-after-ms: 1000} unless {@link Builder#retryAfter} says
   * otherwise.
   */
  public static Reply error(int status) {
    return builder().status(status).build();
  }

  /** A 200 reply (echo text) with this fault. */
  public static Reply fault(Fault fault) {
    return builder().fault(fault).build();
  }

  /** A builder holding this reply's values. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** The HTTP status: 2xx, or 400-599 for an error body. */
  public int status() {
    return status;
  }

  /** The assistant's text for this prompt (the fixed text, or the derived one). */
  public String textFor(String prompt) {
    return text.apply(prompt);
  }

  /** The error message of an error reply, or null for the default message of its status. */
  public @Nullable String errorMessage() {
    return errorMessage;
  }

  /**
   * The {@code retry-after} the reply carries: the builder's value, else one second for a 429, else
   * null.
   */
  public @Nullable Duration retryAfter() {
    if (retryAfter != null) {
      return retryAfter;
    }
    return status == 429 ? Duration.ofSeconds(1) : null;
  }

  /** The time between the request being read and the response headers being sent. */
  public Duration headersDelay() {
    return headersDelay;
  }

  /**
   * The pace of generation, or 0 for as fast as possible. A stream sends one token per {@code
   * 1/tokensPerSecond}; a JSON reply waits {@code tokens/tokensPerSecond} more before its headers.
   */
  public double tokensPerSecond() {
    return tokensPerSecond;
  }

  /** What goes wrong, {@link Fault#NONE} for nothing. */
  public Fault fault() {
    return fault;
  }

  /** Extra response headers (lower-case names). */
  public Map<String, String> headers() {
    return headers;
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("Reply{status=").append(status);
    if (fixedText != null) {
      s.append(", text=")
          .append(fixedText.length() > 40 ? fixedText.substring(0, 40) + "…" : fixedText);
    }
    if (!headersDelay.isZero()) {
      s.append(", headersDelay=").append(headersDelay);
    }
    if (tokensPerSecond > 0) {
      s.append(", tokensPerSecond=").append(tokensPerSecond);
    }
    if (fault != Fault.NONE) {
      s.append(", fault=").append(fault);
    }
    return s.append('}').toString();
  }

  /**
   * Parses an {@code x-mock-fault} header value into a reply based on {@code base}.
   *
   * @throws IllegalArgumentException saying what is wrong with the value
   */
  static Reply parseHeader(String value, Reply base) {
    String[] items = value.split(";", -1);
    String head = items[0].trim().toLowerCase(Locale.ROOT);
    Builder b = base.toBuilder();
    if (head.matches("\\d{3}")) {
      b.status(Integer.parseInt(head));
    } else if (!head.equals("none")) {
      Fault found = null;
      for (Fault f : Fault.values()) {
        if (f.headerValue().equals(head)) {
          found = f;
        }
      }
      if (found == null) {
        throw new IllegalArgumentException(
            "unknown x-mock-fault '"
                + head
                + "': expected a status (400-599), none, or one of "
                + faultNames());
      }
      b.fault(found);
    }
    for (int i = 1; i < items.length; i++) {
      String item = items[i].trim();
      if (item.isEmpty()) {
        continue;
      }
      int eq = item.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("x-mock-fault parameter '" + item + "' has no '='");
      }
      String key = item.substring(0, eq).trim().toLowerCase(Locale.ROOT);
      String v = item.substring(eq + 1).trim();
      switch (key) {
        case "retry-after" -> b.retryAfter(Durations.parse(v));
        case "latency" -> b.headersDelay(Durations.parse(v));
        case "tokens-per-second" -> {
          try {
            b.tokensPerSecond(Double.parseDouble(v));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("tokens-per-second is not a number: '" + v + "'", e);
          }
        }
        default ->
            throw new IllegalArgumentException(
                "unknown x-mock-fault parameter '"
                    + key
                    + "': expected retry-after, latency or tokens-per-second");
      }
    }
    return b.build();
  }

  private static String faultNames() {
    StringBuilder s = new StringBuilder();
    for (Fault f : Fault.values()) {
      if (f != Fault.NONE) {
        s.append(s.length() == 0 ? "" : ", ").append(f.headerValue());
      }
    }
    return s.toString();
  }

  /** Builds a {@link Reply}; {@link #build()} checks the values. */
  public static final class Builder {
    private int status = 200;
    private @Nullable String fixedText;
    private Function<String, String> text = Builder::echoText;
    private @Nullable String errorMessage;
    private @Nullable Duration retryAfter;
    private Duration headersDelay = Duration.ZERO;
    private double tokensPerSecond;
    private Fault fault = Fault.NONE;
    private final Map<String, String> headers = new LinkedHashMap<>();

    private Builder() {}

    private Builder(Reply r) {
      this.status = r.status;
      this.fixedText = r.fixedText;
      this.text = r.text;
      this.errorMessage = r.errorMessage;
      this.retryAfter = r.retryAfter;
      this.headersDelay = r.headersDelay;
      this.tokensPerSecond = r.tokensPerSecond;
      this.fault = r.fault;
      this.headers.putAll(r.headers);
    }

    private static String echoText(String prompt) {
      String p = prompt.length() > ECHO_LIMIT ? prompt.substring(0, ECHO_LIMIT) : prompt;
      return "Mock reply to: " + p;
    }

    /** The HTTP status: 200-299, or 400-599 for the provider's error body. Default 200. */
    public Builder status(int status) {
      this.status = status;
      return this;
    }

    /** A fixed assistant text. */
    public Builder text(String text) {
      Objects.requireNonNull(text, "text");
      this.fixedText = text;
      this.text = p -> text;
      return this;
    }

    /** The assistant text derived from the prompt (the last user message's text). */
    public Builder fromPrompt(Function<String, String> fn) {
      this.fixedText = null;
      this.text = Objects.requireNonNull(fn, "fn");
      return this;
    }

    /** The message of an error reply; null for the default message of its status. */
    public Builder errorMessage(@Nullable String message) {
      this.errorMessage = message;
      return this;
    }

    /** A {@code retry-after} (whole seconds, rounded up) and {@code retry-after-ms} header. */
    public Builder retryAfter(@Nullable Duration retryAfter) {
      this.retryAfter = retryAfter;
      return this;
    }

    /** The latency before the response headers. Default zero. */
    public Builder headersDelay(Duration delay) {
      this.headersDelay = Objects.requireNonNull(delay, "delay");
      return this;
    }

    /** The generation pace; 0 (the default) for as fast as possible. */
    public Builder tokensPerSecond(double tokensPerSecond) {
      this.tokensPerSecond = tokensPerSecond;
      return this;
    }

    /** What goes wrong. Default {@link Fault#NONE}. */
    public Builder fault(Fault fault) {
      this.fault = Objects.requireNonNull(fault, "fault");
      return this;
    }

    /** An extra response header (the name is lower-cased). */
    public Builder header(String name, String value) {
      headers.put(name.toLowerCase(Locale.ROOT), Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * The reply.
     *
     * @throws IllegalArgumentException for a status outside 200-299 and 400-599, a negative delay,
     *     or a pace that is negative or not finite
     */
    public Reply build() {
      if (!((status >= 200 && status <= 299) || (status >= 400 && status <= 599))) {
        throw new IllegalArgumentException("status must be 200-299 or 400-599: " + status);
      }
      if (headersDelay.isNegative()) {
        throw new IllegalArgumentException("headersDelay must not be negative: " + headersDelay);
      }
      if (retryAfter != null && retryAfter.isNegative()) {
        throw new IllegalArgumentException("retryAfter must not be negative: " + retryAfter);
      }
      if (!(tokensPerSecond >= 0) || Double.isInfinite(tokensPerSecond)) {
        throw new IllegalArgumentException(
            "tokensPerSecond must be a finite number >= 0: " + tokensPerSecond);
      }
      for (Map.Entry<String, String> h : headers.entrySet()) {
        if (!h.getKey().matches("[a-z0-9!#$%&'*+.^_`|~-]+")) {
          throw new IllegalArgumentException("not a header name: '" + h.getKey() + "'");
        }
        if (h.getValue().indexOf('\r') >= 0 || h.getValue().indexOf('\n') >= 0) {
          throw new IllegalArgumentException("header value has a line break: " + h.getKey());
        }
      }
      return new Reply(this);
    }
  }
}
