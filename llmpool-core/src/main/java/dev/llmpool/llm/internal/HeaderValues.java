package dev.llmpool.llm.internal;

import dev.llmpool.llm.RateLimits;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Parses the response headers LLM APIs use for retries and rate limits. Pure functions of the
 * header values and a wall-clock reading; a value that does not parse is treated as absent, never
 * as zero, and never throws.
 */
public final class HeaderValues {

  /** Reads a header by lower-case name. */
  @FunctionalInterface
  public interface Lookup {
    /** The header's value, or null when absent. */
    @Nullable String get(String lowerCaseName);
  }

  /** Clock skew below this is ignored (the {@code Date} header has one-second resolution). */
  static final long SKEW_TOLERANCE_MILLIS = 2_000;

  private HeaderValues() {}

  /**
   * How long the server asked the client to wait: {@code retry-after-ms} (milliseconds, may be
   * fractional), else {@code Retry-After} as seconds (fractions accepted) or as an HTTP date
   * (relative to {@code nowMillis}). Null when absent or unparseable; may be zero or negative for a
   * date in the past.
   */
  public static @Nullable Duration retryAfter(Lookup headers, long nowMillis) {
    String ms = headers.get("retry-after-ms");
    if (ms != null) {
      Duration d = decimal(ms.trim(), 1_000_000L);
      if (d != null) {
        return d;
      }
    }
    String ra = headers.get("retry-after");
    if (ra == null) {
      return null;
    }
    ra = ra.trim();
    Duration seconds = decimal(ra, 1_000_000_000L);
    if (seconds != null) {
      return seconds;
    }
    Instant date = httpDate(ra);
    return date == null ? null : Duration.ofMillis(date.toEpochMilli() - nowMillis);
  }

  /** A non-negative decimal number times {@code nanosPerUnit}, or null. */
  private static @Nullable Duration decimal(String s, long nanosPerUnit) {
    if (s.isEmpty() || s.length() > 24) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9') && c != '.') {
        return null;
      }
    }
    try {
      BigDecimal nanos = new BigDecimal(s).multiply(BigDecimal.valueOf(nanosPerUnit));
      if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
        return null;
      }
      return Duration.ofNanos(nanos.longValue());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** An RFC 9110 HTTP date (IMF-fixdate, or the obsolete asctime form), or null. */
  public static @Nullable Instant httpDate(String s) {
    try {
      return ZonedDateTime.parse(s.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    } catch (DateTimeException e) {
      // fall through to asctime
    }
    try {
      return java.time.LocalDateTime.parse(
              s.trim().replaceAll(" +", " "),
              DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.ROOT))
          .toInstant(java.time.ZoneOffset.UTC);
    } catch (DateTimeException e) {
      return null;
    }
  }

  /**
   * A Go-style duration as OpenAI sends in {@code x-ratelimit-reset-*}: {@code 6m0s}, {@code 1s},
   * {@code 12ms}, {@code 0.5s}, {@code 1h2m3.5s}; units h, m, s, ms, us (or µs), ns. A bare number
   * is taken as seconds (some compatible servers send one). Null when unparseable.
   */
  public static @Nullable Duration goDuration(String s) {
    s = s.trim();
    if (s.isEmpty() || s.length() > 64) {
      return null;
    }
    Duration bare = decimal(s, 1_000_000_000L);
    if (bare != null) {
      return bare;
    }
    BigDecimal totalNanos = BigDecimal.ZERO;
    int i = 0;
    int n = s.length();
    while (i < n) {
      int numStart = i;
      while (i < n && ((s.charAt(i) >= '0' && s.charAt(i) <= '9') || s.charAt(i) == '.')) {
        i++;
      }
      if (i == numStart) {
        return null;
      }
      BigDecimal number;
      try {
        number = new BigDecimal(s.substring(numStart, i));
      } catch (NumberFormatException e) {
        return null;
      }
      int unitStart = i;
      while (i < n && !((s.charAt(i) >= '0' && s.charAt(i) <= '9') || s.charAt(i) == '.')) {
        i++;
      }
      long nanosPerUnit =
          switch (s.substring(unitStart, i)) {
            case "h" -> 3_600_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "s" -> 1_000_000_000L;
            case "ms" -> 1_000_000L;
            case "us", "\u00b5s", "\u03bcs" -> 1_000L;
            case "ns" -> 1L;
            default -> -1L;
          };
      if (nanosPerUnit < 0) {
        return null;
      }
      totalNanos = totalNanos.add(number.multiply(BigDecimal.valueOf(nanosPerUnit)));
    }
    if (totalNanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      return null;
    }
    return Duration.ofNanos(totalNanos.longValue());
  }

  /** An RFC 3339 time ({@code 2024-06-12T18:15:42Z}, offsets and fractions allowed), or null. */
  public static @Nullable Instant rfc3339(String s) {
    try {
      return OffsetDateTime.parse(s.trim(), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeException e) {
      return null;
    }
  }

  /** A non-negative whole number, or null (negative values such as Azure's -1 mean unknown). */
  static @Nullable Long count(@Nullable String s) {
    if (s == null) {
      return null;
    }
    s = s.trim();
    if (s.isEmpty() || s.length() > 19) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return null;
      }
    }
    return Long.parseLong(s);
  }

  /**
   * The rate limits in OpenAI's and Anthropic's headers (see {@link RateLimits}); both families are
   * read, so a gateway that forwards either works. {@link RateLimits#NONE} when there is none.
   *
   * @param nowMillis this machine's wall clock when the headers arrived
   */
  public static RateLimits rateLimits(Lookup h, long nowMillis) {
    RateLimits.Window openAiRequests =
        openAiWindow(
            h,
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
            nowMillis);
    RateLimits.Window openAiTokens =
        openAiWindow(
            h,
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
            nowMillis);
    long skew = skewMillis(h, nowMillis);
    RateLimits.Window requests =
        openAiRequests.isEmpty() ? anthropicWindow(h, "requests", skew) : openAiRequests;
    RateLimits.Window tokens =
        openAiTokens.isEmpty() ? anthropicWindow(h, "tokens", skew) : openAiTokens;
    RateLimits.Window input = anthropicWindow(h, "input-tokens", skew);
    RateLimits.Window output = anthropicWindow(h, "output-tokens", skew);
    if (requests.isEmpty() && tokens.isEmpty() && input.isEmpty() && output.isEmpty()) {
      return RateLimits.NONE;
    }
    return new RateLimits(requests, tokens, input, output);
  }

  private static RateLimits.Window openAiWindow(
      Lookup h, String limit, String remaining, String reset, long nowMillis) {
    Long l = count(h.get(limit));
    Long r = count(h.get(remaining));
    String resetValue = h.get(reset);
    Duration d = resetValue == null ? null : goDuration(resetValue);
    Instant at = d == null ? null : Instant.ofEpochMilli(nowMillis).plus(d);
    if (l == null && r == null && at == null) {
      return RateLimits.Window.EMPTY;
    }
    return new RateLimits.Window(l, r, at);
  }

  private static RateLimits.Window anthropicWindow(Lookup h, String kind, long skewMillis) {
    String prefix = "anthropic-ratelimit-" + kind + "-";
    Long l = count(h.get(prefix + "limit"));
    Long r = count(h.get(prefix + "remaining"));
    String resetValue = h.get(prefix + "reset");
    Instant at = resetValue == null ? null : rfc3339(resetValue);
    if (at != null && skewMillis != 0) {
      at = at.plusMillis(skewMillis);
    }
    if (l == null && r == null && at == null) {
      return RateLimits.Window.EMPTY;
    }
    return new RateLimits.Window(l, r, at);
  }

  /**
   * How far our clock is ahead of the server's, by its {@code Date} header, when that is beyond the
   * header's one-second resolution; else 0.
   */
  static long skewMillis(Lookup h, long nowMillis) {
    String date = h.get("date");
    if (date == null) {
      return 0;
    }
    Instant server = httpDate(date);
    if (server == null) {
      return 0;
    }
    long skew = nowMillis - server.toEpochMilli();
    return Math.abs(skew) > SKEW_TOLERANCE_MILLIS ? skew : 0;
  }

  /** {@code x-should-retry}: TRUE, FALSE, or null when absent or neither. */
  public static @Nullable Boolean shouldRetry(Lookup h) {
    String v = h.get("x-should-retry");
    if (v == null) {
      return null;
    }
    v = v.trim();
    if (v.equalsIgnoreCase("true")) {
      return Boolean.TRUE;
    }
    if (v.equalsIgnoreCase("false")) {
      return Boolean.FALSE;
    }
    return null;
  }

  /** The provider's request id header: {@code x-request-id}, {@code request-id}, Azure's. */
  public static @Nullable String requestId(Lookup h) {
    String id = h.get("x-request-id");
    if (id == null) {
      id = h.get("request-id");
    }
    if (id == null) {
      id = h.get("apim-request-id");
    }
    return id;
  }
}
