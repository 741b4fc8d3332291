package dev.llmpool.http;

import dev.llmpool.LlmPool;
import dev.llmpool.testkit.MockLlmServer;

/** The four ways llmpool speaks to a server; the contract tests run over each (as Jetty's do). */
enum Proto {
  HTTP_1_1(false, false),
  HTTPS_1_1(true, false),
  H2C(false, true),
  H2(true, true);

  final boolean tls;
  final boolean http2;

  Proto(boolean tls, boolean http2) {
    this.tls = tls;
    this.http2 = http2;
  }

  HttpVersion version() {
    return http2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1;
  }

  /** A server builder for this protocol. */
  MockLlmServer.Builder server() {
    return MockLlmServer.builder().tls(tls).http1Only(!http2);
  }

  /** A pool builder for {@code server} speaking this protocol. */
  LlmPool.Builder pool(MockLlmServer server) {
    LlmPool.Builder b =
        LlmPool.builder().baseUrl(server.baseUrl() + "/v1").bearerToken("sk-test").ioThreads(2);
    if (tls) {
      b.trustedCertificates(server.certificate().pemFile());
    }
    if (!http2) {
      b.http2(false);
    } else if (!tls) {
      b.h2cPriorKnowledge("127.0.0.1");
    }
    return b;
  }
}
