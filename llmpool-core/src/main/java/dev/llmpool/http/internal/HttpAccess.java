package dev.llmpool.http.internal;

import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.HttpVersion;
import org.jspecify.annotations.Nullable;

/**
 * A door from the engine into the public HTTP types, for what must not be public: wrapping arrays
 * without copying them and reading a request's body without a defensive copy. The public package
 * installs the implementation when its classes load (the pattern of the JDK's {@code
 * SharedSecrets}).
 */
public final class HttpAccess {
  /** What the public package lets the engine do. */
  public interface Bridge {
    /** Headers over {@code namesAndValues} (validated by the parser, never modified after). */
    HttpHeaders headers(String[] namesAndValues);

    /** The request's body array itself, or null. */
    byte @Nullable [] body(HttpRequest request);

    /** A response over {@code body[0, length)} without copying it. */
    HttpResponse response(
        int status, HttpHeaders headers, HttpVersion version, byte[] body, int length);
  }

  private static volatile @Nullable Bridge bridge;

  private HttpAccess() {}

  /** Called once by the public package. */
  public static void install(Bridge b) {
    bridge = b;
  }

  /** The bridge, loading the public package's classes if needed. */
  public static Bridge get() {
    Bridge b = bridge;
    if (b == null) {
      HttpHeaders.empty(); // runs the installing class initializer
      b = bridge;
      if (b == null) {
        throw new IllegalStateException("dev.llmpool.http did not install its bridge");
      }
    }
    return b;
  }
}
