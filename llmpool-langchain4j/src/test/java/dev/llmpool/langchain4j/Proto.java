package dev.llmpool.langchain4j;

import dev.llmpool.LlmPool;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Protocol;

/** The protocols every integration test runs over. */
enum Proto {
  /** Plain HTTP/1.1 keep-alive. */
  HTTP_1_1(false, false),
  /** HTTP/2 without TLS, by prior knowledge. */
  H2C(false, true),
  /** HTTP/2 over TLS, negotiated by ALPN, the mock's certificate trusted (verification on). */
  H2_TLS(true, true);

  final boolean tls;
  final boolean http2;

  Proto(boolean tls, boolean http2) {
    this.tls = tls;
    this.http2 = http2;
  }

  MockLlmServer.Builder server() {
    return MockLlmServer.builder().tls(tls).http1Only(!http2);
  }

  /** A pool for the SDK: no base URL and no credentials (the SDK sends absolute URLs and keys). */
  LlmPool.Builder pool(MockLlmServer server) {
    LlmPool.Builder b = LlmPool.builder().ioThreads(2);
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

  Protocol protocol() {
    return !http2 ? Protocol.HTTP_1_1 : tls ? Protocol.H2 : Protocol.H2C;
  }
}
