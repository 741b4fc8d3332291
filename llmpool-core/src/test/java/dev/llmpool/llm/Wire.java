package dev.llmpool.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.LlmPool;
import dev.llmpool.PoolStats;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.params.provider.Arguments;

/**
 * How the chat tests reach the mock server: the four wires (as Jetty runs its client tests over
 * each) and the two APIs, with the pool and server set up to match.
 */
enum Wire {
  HTTP_1_1(false, false),
  HTTPS_1_1(true, false),
  H2C(false, true),
  H2(true, true);

  /** A key shaped like a real one, so that a leak of it would be noticed. */
  static final String KEY = "sk-llmpool-test-Zq7xW2vR9kLmN4pB8tYc";

  final boolean tls;
  final boolean http2;

  Wire(boolean tls, boolean http2) {
    this.tls = tls;
    this.http2 = http2;
  }

  /** The protocol the server should see. */
  Protocol protocol() {
    return !http2 ? Protocol.HTTP_1_1 : tls ? Protocol.H2 : Protocol.H2C;
  }

  /** A server builder for this wire. */
  MockLlmServer.Builder server() {
    return MockLlmServer.builder().tls(tls).http1Only(!http2);
  }

  /** A pool builder for {@code server} on this wire and {@code api}, with its key. */
  LlmPool.Builder pool(MockLlmServer server, Api api) {
    LlmPool.Builder b = LlmPool.builder().baseUrl(api.baseUrl(server)).ioThreads(2);
    api.key(b, KEY);
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

  /** Every wire with every API. */
  static List<Arguments> all() {
    List<Arguments> out = new ArrayList<>();
    for (Wire w : values()) {
      for (Api a : Api.values()) {
        out.add(Arguments.of(w, a));
      }
    }
    return out;
  }

  /** The two APIs as a user configures them. */
  enum Api {
    OPENAI,
    ANTHROPIC;

    /** The base URL as each provider documents it: OpenAI with {@code /v1}, Anthropic without. */
    String baseUrl(MockLlmServer server) {
      return this == OPENAI ? server.baseUrl() + "/v1" : server.baseUrl().toString();
    }

    /** Gives the pool the key the way each provider's users do. */
    void key(LlmPool.Builder b, String key) {
      if (this == OPENAI) {
        b.bearerToken(key);
      } else {
        b.apiKey("x-api-key", key);
      }
    }

    ChatClient client(LlmPool pool, String model) {
      return this == OPENAI ? pool.openAiChat(model) : pool.anthropicMessages(model);
    }

    /** The path the server should see. */
    String path() {
      return this == OPENAI ? "/v1/chat/completions" : "/v1/messages";
    }

    /** {@code gen_ai.system}. */
    String provider() {
      return this == OPENAI ? "openai" : "anthropic";
    }
  }

  // ---- checks every test ends with ----

  /**
   * The leak check: no connection still leased and no exchange in flight, once a stream's tail has
   * been drained (it goes on briefly after the answer is complete).
   */
  static void assertNoActiveConnection(LlmPool pool) {
    until(
        () -> {
          PoolStats s = pool.stats();
          return s.active() == 0 && s.inFlightExchanges() == 0;
        });
    PoolStats s = pool.stats();
    assertThat(s.active()).as("connections still active: %s", s).isZero();
    assertThat(s.inFlightExchanges()).as("exchanges still in flight: %s", s).isZero();
  }

  /** Waits for a condition with a generous bound, polling politely; never a fixed sleep. */
  static void until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 20 s").isLessThan(deadline);
      LockSupport.parkNanos(1_000_000L);
    }
  }
}
