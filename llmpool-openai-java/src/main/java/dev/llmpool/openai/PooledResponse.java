package dev.llmpool.openai;

import com.openai.core.http.Headers;
import com.openai.core.http.HttpResponse;
import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.StreamingResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The SDK's view of an llmpool response: status and headers at once, the body streamed as it
 * arrives. Closing it releases the exchange (the connection goes back to the pool when the body was
 * read to its end). Thread-safe as far as the SDK needs: one reader, close from any thread.
 */
final class PooledResponse implements HttpResponse {
  private final StreamingResponse response;
  private final Headers headers;
  private final InputStream body;

  PooledResponse(StreamingResponse response) {
    this.response = response;
    this.headers = toSdk(response.headers());
    this.body = response.bodyIoStream();
  }

  private static Headers toSdk(HttpHeaders h) {
    Headers.Builder b = Headers.builder();
    for (int i = 0; i < h.size(); i++) {
      b.put(h.name(i), h.value(i));
    }
    return b.build();
  }

  @Override
  public int statusCode() {
    return response.status();
  }

  @Override
  public Headers headers() {
    return headers;
  }

  @Override
  public InputStream body() {
    return body;
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // never: it only closes the response
    }
  }

  @Override
  public String toString() {
    return "PooledResponse{" + response.version() + " " + response.status() + "}";
  }
}
