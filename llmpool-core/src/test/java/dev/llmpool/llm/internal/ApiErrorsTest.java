package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.AuthenticationException;
import dev.llmpool.llm.BadRequestException;
import dev.llmpool.llm.OverloadedException;
import dev.llmpool.llm.RateLimitException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ApiErrorsTest {
  private static final Origin ORIGIN = Origin.of("https://api.openai.com");
  private static final String KEY = "sk-proj-SECRETSECRETSECRET1234";
  private static final long NOW = 1_767_225_600_000L;

  private static HeaderValues.Lookup headers(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m::get;
  }

  private static ApiStatusException response(int status, String body, String... headers) {
    return ApiErrors.fromResponse(
        ORIGIN, status, headers(headers), body.getBytes(UTF_8), Redactor.of(List.of(KEY)), NOW);
  }

  @ParameterizedTest
  @CsvSource({
    "400, dev.llmpool.llm.BadRequestException",
    "422, dev.llmpool.llm.BadRequestException",
    "401, dev.llmpool.llm.AuthenticationException",
    "403, dev.llmpool.llm.PermissionDeniedException",
    "404, dev.llmpool.llm.NotFoundException",
    "429, dev.llmpool.llm.RateLimitException",
    "529, dev.llmpool.llm.OverloadedException",
    "500, dev.llmpool.llm.ServerErrorException",
    "502, dev.llmpool.llm.ServerErrorException",
    "503, dev.llmpool.llm.ServerErrorException",
    "504, dev.llmpool.llm.ServerErrorException",
    "408, dev.llmpool.llm.ApiStatusException",
    "409, dev.llmpool.llm.ApiStatusException",
    "413, dev.llmpool.llm.ApiStatusException",
    "418, dev.llmpool.llm.ApiStatusException"
  })
  void eachStatusHasItsExceptionType(int status, String type) throws ClassNotFoundException {
    ApiStatusException e = response(status, "{}");
    assertThat(e.getClass()).isEqualTo(Class.forName(type));
    assertThat(e.status()).isEqualTo(status);
    assertThat(e.phase()).isEqualTo(Phase.HTTP_STATUS);
    assertThat(e.origin()).isEqualTo(ORIGIN);
    assertThat(e.getMessage())
        .contains("HTTP " + status)
        .contains("origin=https://api.openai.com:443");
  }

  @Test
  void refusedRequestsWereNotProcessedButServerFailuresMayHaveBeen() {
    assertThat(response(400, "{}").requestMayHaveBeenProcessed()).isFalse();
    assertThat(response(429, "{}").requestMayHaveBeenProcessed()).isFalse();
    assertThat(response(503, "{}").requestMayHaveBeenProcessed()).isFalse();
    assertThat(response(529, "{}").requestMayHaveBeenProcessed()).isFalse();
    assertThat(response(500, "{}").requestMayHaveBeenProcessed()).isTrue();
    assertThat(response(504, "{}").requestMayHaveBeenProcessed()).isTrue();
  }

  @Test
  void openAiErrorShape() {
    ApiStatusException e =
        response(
            400,
            "{\"error\":{\"message\":\"This model's maximum context length is 128000 tokens.\","
                + "\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}",
            "x-request-id",
            "req_abc",
            "content-type",
            "application/json",
            "set-cookie",
            "session=secret");
    assertThat(e).isInstanceOf(BadRequestException.class);
    assertThat(e.providerMessage())
        .isEqualTo("This model's maximum context length is 128000 tokens.");
    assertThat(e.errorType()).isEqualTo("invalid_request_error");
    assertThat(e.error().code()).isEqualTo("context_length_exceeded");
    assertThat(e.requestId()).isEqualTo("req_abc");
    assertThat(e.getMessage())
        .contains("invalid_request_error")
        .contains("context_length_exceeded")
        .contains("maximum context length")
        .contains("req_abc");
    // Only harmless headers are kept.
    assertThat(e.error().headers()).containsOnlyKeys("x-request-id", "content-type");
  }

  @Test
  void anthropicErrorShapeWithRequestIdInTheBody() {
    ApiStatusException e =
        response(
            529,
            "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},"
                + "\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}");
    assertThat(e).isInstanceOf(OverloadedException.class);
    assertThat(e.errorType()).isEqualTo("overloaded_error");
    assertThat(e.providerMessage()).isEqualTo("Overloaded");
    assertThat(e.requestId()).isEqualTo("req_011CSHoEeqs5C35K2UUqR7Fy");
  }

  @Test
  void looserShapesOfCompatibleServers() {
    assertThat(response(404, "{\"error\":\"model 'llama9' not found\"}").providerMessage())
        .isEqualTo("model 'llama9' not found");
    ApiStatusException vllm =
        response(
            400,
            "{\"object\":\"error\",\"message\":\"max_tokens is too large\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}");
    assertThat(vllm.providerMessage()).isEqualTo("max_tokens is too large");
    assertThat(vllm.errorType()).isEqualTo("BadRequestError");
    assertThat(
            response(
                    422, "{\"detail\":[{\"loc\":[\"body\",\"model\"],\"msg\":\"field required\"}]}")
                .providerMessage())
        .contains("field required");
    assertThat(
            response(
                    502,
                    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
                .providerMessage())
        .isEqualTo("502 Bad Gateway");
    assertThat(response(500, "upstream connect error").providerMessage())
        .isEqualTo("upstream connect error");
    assertThat(response(500, "").providerMessage()).isNull();
  }

  @Test
  void rateLimitCarriesRetryAfterAndLimits() {
    ApiStatusException e =
        response(
            429,
            "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
            "retry-after",
            "20",
            "x-ratelimit-remaining-requests",
            "0",
            "x-ratelimit-reset-requests",
            "20s");
    assertThat(e).isInstanceOf(RateLimitException.class);
    assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(20));
    assertThat(e.rateLimits().requests().remaining()).isEqualTo(OptionalLong.of(0));
    assertThat(e.getMessage()).contains("retry after 20000 ms");
  }

  @Test
  void errorEventsMapByTypeOrNumericCode() {
    Redactor r = Redactor.NONE;
    ApiStatusException overloaded =
        ApiErrors.fromEvent(
            ORIGIN,
            event(
                "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
            headers("request-id", "req_s"),
            r,
            NOW);
    assertThat(overloaded).isInstanceOf(OverloadedException.class);
    assertThat(overloaded.status()).isEqualTo(529);
    assertThat(overloaded.error().inStream()).isTrue();
    assertThat(overloaded.requestMayHaveBeenProcessed()).isTrue();
    assertThat(overloaded.requestId()).isEqualTo("req_s");
    assertThat(overloaded.getMessage()).contains("error event in a stream (stands for HTTP 529)");

    assertThat(status("{\"error\":{\"message\":\"m\",\"type\":\"x\",\"code\":503}}"))
        .isEqualTo(503);
    assertThat(status("{\"error\":{\"message\":\"m\",\"code\":\"429\"}}")).isEqualTo(429);
    assertThat(status("{\"error\":{\"type\":\"rate_limit_error\"}}")).isEqualTo(429);
    assertThat(status("{\"error\":{\"type\":\"invalid_request_error\"}}")).isEqualTo(400);
    assertThat(status("{\"error\":{\"type\":\"authentication_error\"}}")).isEqualTo(401);
    assertThat(status("{\"error\":{\"type\":\"permission_error\"}}")).isEqualTo(403);
    assertThat(status("{\"error\":{\"type\":\"not_found_error\"}}")).isEqualTo(404);
    assertThat(status("{\"error\":{\"type\":\"request_too_large\"}}")).isEqualTo(413);
    assertThat(status("{\"error\":{\"type\":\"api_error\"}}")).isEqualTo(500);
    assertThat(status("{\"error\":{\"type\":\"something_new\"}}")).isEqualTo(500);
    assertThat(status("{\"error\":\"plain\"}")).isEqualTo(500);
  }

  private static int status(String json) {
    return ApiErrors.fromEvent(ORIGIN, event(json), headers(), Redactor.NONE, NOW).status();
  }

  private static ProviderErrorEvent event(String json) {
    return new ProviderErrorEvent(Json.parse(json, "event"), json);
  }

  @Test
  void theKeyIsCutOutOfEverythingAServerEchoes() {
    ApiStatusException e =
        response(
            401,
            "{\"error\":{\"message\":\"Incorrect API key provided: "
                + KEY
                + ". Bearer "
                + KEY
                + "\","
                + "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
            "x-request-id",
            KEY,
            "server",
            "echo " + KEY);
    assertThat(e).isInstanceOf(AuthenticationException.class);
    assertThat(e.getMessage()).doesNotContain(KEY).contains("[redacted]");
    assertThat(e.toString()).doesNotContain(KEY);
    assertThat(e.error().toString()).doesNotContain(KEY);
    assertThat(e.error().body()).doesNotContain(KEY);
    assertThat(e.error().headers().values()).noneMatch(v -> v.contains(KEY));
    assertThat(e.requestId()).doesNotContain(KEY);
  }

  @Test
  void longMessagesAndBodiesAreCut() {
    String longMessage = "m".repeat(5000);
    ApiStatusException e = response(400, "{\"error\":{\"message\":\"" + longMessage + "\"}}");
    assertThat(e.providerMessage()).hasSize(ApiErrors.MAX_MESSAGE_CHARS + 3);
    ApiStatusException big = response(500, "x".repeat(100_000));
    assertThat(big.error().body()).hasSize(ApiErrors.MAX_BODY_CHARS);
  }
}
