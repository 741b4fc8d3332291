package dev.llmpool.llm;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * The provider's rate-limit state as its response headers stated it, on every {@link ChatResponse}
 * and every {@link ApiStatusException}. A value the headers did not carry is absent (never 0), so
 * {@code remaining().isPresent()} tells "unknown" from "none left".
 *
 * <ul>
 *   <li>OpenAI and compatible servers: {@code x-ratelimit-limit-requests}, {@code
 *       x-ratelimit-remaining-requests}, {@code x-ratelimit-reset-requests} and the same for {@code
 *       -tokens}; the reset is a duration ({@code 6m0s}, {@code 1s}, {@code 12ms}) from the
 *       response, turned into an instant on this machine's clock.
 *   <li>Anthropic: {@code anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
 *       remaining,reset}}; the reset is an RFC 3339 time. When the server's {@code Date} header
 *       shows its clock more than 2 s away from ours, the reset is shifted by that difference so
 *       that it reads on our clock.
 * </ul>
 *
 * @param requests the request-count window
 * @param tokens the token window (OpenAI: all tokens; Anthropic: the combined input+output limit)
 * @param inputTokens Anthropic's input-token window; empty for OpenAI
 * @param outputTokens Anthropic's output-token window; empty for OpenAI
 */
public record RateLimits(Window requests, Window tokens, Window inputTokens, Window outputTokens)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** No rate-limit headers at all (local servers such as vLLM or Ollama send none). */
  public static final RateLimits NONE =
      new RateLimits(Window.EMPTY, Window.EMPTY, Window.EMPTY, Window.EMPTY);

  /** Checks that no window is null. */
  public RateLimits {
    Objects.requireNonNull(requests, "requests");
    Objects.requireNonNull(tokens, "tokens");
    Objects.requireNonNull(inputTokens, "inputTokens");
    Objects.requireNonNull(outputTokens, "outputTokens");
  }

  /** True when the response carried no rate-limit header. */
  public boolean isEmpty() {
    return requests.isEmpty()
        && tokens.isEmpty()
        && inputTokens.isEmpty()
        && outputTokens.isEmpty();
  }

  /** One limit window: its size, what is left of it, and when it refills. Immutable. */
  public static final class Window implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A window about which the headers said nothing. */
    public static final Window EMPTY = new Window(null, null, null);

    private final @Nullable Long limit;
    private final @Nullable Long remaining;
    private final @Nullable Instant reset;

    /**
     * @param limit the window's size, or null when not stated
     * @param remaining what is left, or null when not stated
     * @param reset when the window is full again, or null when not stated
     */
    public Window(@Nullable Long limit, @Nullable Long remaining, @Nullable Instant reset) {
      this.limit = limit;
      this.remaining = remaining;
      this.reset = reset;
    }

    /** The window's size (requests or tokens per period). */
    public OptionalLong limit() {
      return limit == null ? OptionalLong.empty() : OptionalLong.of(limit);
    }

    /** What is left in the current period. */
    public OptionalLong remaining() {
      return remaining == null ? OptionalLong.empty() : OptionalLong.of(remaining);
    }

    /** When the window is fully replenished, on this machine's clock. */
    public Optional<Instant> reset() {
      return Optional.ofNullable(reset);
    }

    /** True when nothing is known. */
    public boolean isEmpty() {
      return limit == null && remaining == null && reset == null;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Window w
          && Objects.equals(limit, w.limit)
          && Objects.equals(remaining, w.remaining)
          && Objects.equals(reset, w.reset);
    }

    @Override
    public int hashCode() {
      return Objects.hash(limit, remaining, reset);
    }

    @Override
    public String toString() {
      if (isEmpty()) {
        return "-";
      }
      return (remaining == null ? "?" : remaining.toString())
          + "/"
          + (limit == null ? "?" : limit.toString())
          + (reset == null ? "" : " reset " + reset);
    }
  }
}
