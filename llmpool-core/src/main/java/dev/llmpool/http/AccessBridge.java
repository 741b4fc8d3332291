package dev.llmpool.http;

import dev.llmpool.http.internal.HttpAccess;
import org.jspecify.annotations.Nullable;

/** The implementation of {@link HttpAccess.Bridge}; installed when {@link HttpHeaders} loads. */
final class AccessBridge implements HttpAccess.Bridge {
  private AccessBridge() {}

  static void install() {
    HttpAccess.install(new AccessBridge());
  }

  @Override
  public HttpHeaders headers(String[] namesAndValues) {
    return HttpHeaders.wrapTrusted(namesAndValues);
  }

  @Override
  public byte @Nullable [] body(HttpRequest request) {
    return request.bodyArray();
  }

  @Override
  public HttpResponse response(
      int status, HttpHeaders headers, HttpVersion version, byte[] body, int length) {
    return HttpResponse.wrap(status, headers, version, body, length);
  }
}
