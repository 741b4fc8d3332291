package dev.llmpool.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.testkit.internal.Durations;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The two LLM APIs as the mock server speaks them: routes, request validation, and the JSON and SSE
 * shapes of OpenAI's chat completions and Anthropic's messages (field names as in the providers'
 * API references), with their error bodies and rate-limit headers.
 *
 * <p>Thread-safe: immutable but for the id counter and the rate limits, which are.
 */
final class LlmApi {
  /** What a request asks for. */
  enum Route {
    CHAT,
    MESSAGES,
    MODELS,
    UNKNOWN
  }

  /** Whose error shape and rate-limit headers a response carries. */
  enum Flavor {
    OPENAI,
    ANTHROPIC
  }

  /** An error answer, in the terms both providers' bodies need. */
  record ApiError(
      int status, String type, @Nullable String code, @Nullable String param, String message) {}

  /** The request head, checked: route, flavour, and an error when the head alone is bad. */
  record Head(Route route, Flavor flavor, @Nullable ApiError error) {}

  /** The request body, checked. */
  record Body(
      @Nullable String model,
      boolean stream,
      boolean includeUsage,
      String prompt,
      int maxTokens,
      int promptTokens,
      @Nullable ApiError error) {}

  static final String FAULT_HEADER = "x-mock-fault";
  private static final Pattern TOKEN_BOUNDARY = Pattern.compile("(?<=\\S)(?=\\s)");
  private static final DateTimeFormatter RFC_3339 =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private final ServerConfig config;
  private final ObjectMapper mapper;
  private final RateLimits limits;
  private final Clock clock;
  private final String idPrefix;
  private final AtomicLong ids = new AtomicLong();

  LlmApi(ServerConfig config, ObjectMapper mapper, RateLimits limits, String idPrefix) {
    this.config = config;
    this.mapper = mapper;
    this.limits = limits;
    this.clock = config.clock();
    this.idPrefix = idPrefix;
  }

  /** A new request id: {@code req_} and 32 hex digits, unique within this server. */
  String newRequestId() {
    return "req_" + idPrefix + String.format(Locale.ROOT, "%016x", ids.incrementAndGet());
  }

  // ---------------------------------------------------------------- the head

  Head head(String method, String rawPath, Map<String, List<String>> headers) {
    String path = stripQuery(rawPath);
    boolean anthropicHeaders =
        first(headers, "anthropic-version") != null || first(headers, "x-api-key") != null;
    Route route;
    if (path.equals("/v1/chat/completions") && method.equals("POST")) {
      route = Route.CHAT;
    } else if (path.equals("/v1/messages") && method.equals("POST")) {
      route = Route.MESSAGES;
    } else if (path.equals("/v1/models") && method.equals("GET")) {
      route = Route.MODELS;
    } else {
      route = Route.UNKNOWN;
    }
    Flavor flavor =
        route == Route.MESSAGES || (route != Route.CHAT && anthropicHeaders)
            ? Flavor.ANTHROPIC
            : Flavor.OPENAI;
    if (route == Route.UNKNOWN) {
      return new Head(
          route,
          flavor,
          flavor == Flavor.OPENAI
              ? new ApiError(
                  404,
                  "invalid_request_error",
                  null,
                  null,
                  "Invalid URL (" + method + " " + path + ")")
              : new ApiError(404, "not_found_error", null, null, "Not Found"));
    }
    ApiError auth = flavor == Flavor.OPENAI ? openAiAuth(headers) : anthropicAuth(headers);
    if (auth != null) {
      return new Head(route, flavor, auth);
    }
    String fault = first(headers, FAULT_HEADER);
    if (fault != null) {
      try {
        Reply.parseHeader(fault, Reply.echo());
      } catch (IllegalArgumentException e) {
        return new Head(
            route,
            flavor,
            invalid(flavor, Objects.requireNonNullElse(e.getMessage(), "bad x-mock-fault"), null));
      }
    }
    return new Head(route, flavor, null);
  }

  private @Nullable ApiError openAiAuth(Map<String, List<String>> headers) {
    String auth = first(headers, "authorization");
    String token = bearer(auth);
    if (token == null) {
      return new ApiError(
          401,
          "invalid_request_error",
          null,
          null,
          "You didn't provide an API key. You need to provide your API key in an Authorization"
              + " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    }
    String expected = config.apiKey();
    if (expected != null && !expected.equals(token)) {
      // Never echo the key: no secret in a message.
      return new ApiError(
          401, "invalid_request_error", "invalid_api_key", null, "Incorrect API key provided.");
    }
    return null;
  }

  private @Nullable ApiError anthropicAuth(Map<String, List<String>> headers) {
    String key = first(headers, "x-api-key");
    if (key == null || key.isBlank()) {
      key = bearer(first(headers, "authorization"));
    }
    if (key == null || key.isBlank()) {
      return new ApiError(401, "authentication_error", null, null, "x-api-key header is required");
    }
    String expected = config.apiKey();
    if (expected != null && !expected.equals(key)) {
      return new ApiError(401, "authentication_error", null, null, "invalid x-api-key");
    }
    if (first(headers, "anthropic-version") == null) {
      return new ApiError(
          400, "invalid_request_error", null, null, "anthropic-version: header is required");
    }
    return null;
  }

  private static @Nullable String bearer(@Nullable String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String token = authorization.substring(7).trim();
    return token.isEmpty() ? null : token;
  }

  // ---------------------------------------------------------------- the body

  Body body(Head head, byte[] raw) {
    if (head.route() == Route.MODELS) {
      return new Body(null, false, false, "", 0, 0, null);
    }
    JsonNode root;
    try {
      root = mapper.readTree(raw);
    } catch (IOException e) {
      root = null;
    }
    Flavor f = head.flavor();
    if (root == null || !root.isObject()) {
      String msg =
          f == Flavor.OPENAI
              ? "We could not parse the JSON body of your request. The body must be a JSON object."
              : "The request body is not valid JSON.";
      return error(invalid(f, msg, null));
    }
    JsonNode model = root.get("model");
    if (model == null || !model.isTextual() || model.asText().isBlank()) {
      return error(
          f == Flavor.OPENAI
              ? invalid(f, "you must provide a model parameter", null)
              : invalid(f, "model: Field required", null));
    }
    String modelName = model.asText();
    JsonNode messages = root.get("messages");
    if (messages == null || !messages.isArray()) {
      return error(
          f == Flavor.OPENAI
              ? new ApiError(
                  400,
                  "invalid_request_error",
                  "missing_required_parameter",
                  "messages",
                  "Missing required parameter: 'messages'.")
              : invalid(f, "messages: Field required", null));
    }
    if (messages.isEmpty()) {
      return error(
          f == Flavor.OPENAI
              ? new ApiError(
                  400,
                  "invalid_request_error",
                  "empty_array",
                  "messages",
                  "Invalid 'messages': empty array. Expected an array with minimum length 1.")
              : invalid(f, "messages: at least one message is required", null));
    }
    StringBuilder all = new StringBuilder();
    String prompt = "";
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      JsonNode role = m.get("role");
      if (!m.isObject() || role == null || !role.isTextual()) {
        return error(
            f == Flavor.OPENAI
                ? new ApiError(
                    400,
                    "invalid_request_error",
                    "missing_required_parameter",
                    "messages[" + i + "].role",
                    "Missing required parameter: 'messages[" + i + "].role'.")
                : invalid(f, "messages." + i + ".role: Field required", null));
      }
      String text = text(m.get("content"));
      all.append(text).append(' ');
      if (role.asText().equals("user")) {
        prompt = text;
      }
    }
    JsonNode system = root.get("system");
    if (system != null) {
      all.append(text(system));
    }
    JsonNode stream = root.get("stream");
    if (stream != null && !stream.isBoolean() && !stream.isNull()) {
      return error(invalid(f, "stream: must be a boolean", "stream"));
    }
    boolean streaming = stream != null && stream.asBoolean();
    JsonNode options = root.get("stream_options");
    boolean includeUsage =
        options != null && options.isObject() && options.path("include_usage").asBoolean(false);
    int maxTokens = 0;
    for (String name :
        f == Flavor.OPENAI
            ? new String[] {"max_completion_tokens", "max_tokens"}
            : new String[] {"max_tokens"}) {
      JsonNode n = root.get(name);
      if (n != null && !n.isNull()) {
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 1) {
          return error(invalid(f, name + ": must be an integer >= 1", name));
        }
        if (maxTokens == 0) {
          maxTokens = n.asInt();
        }
      }
    }
    if (f == Flavor.ANTHROPIC && maxTokens == 0) {
      return error(invalid(f, "max_tokens: Field required", null));
    }
    List<String> models = config.models();
    if (!models.isEmpty() && !models.contains(modelName)) {
      return error(
          f == Flavor.OPENAI
              ? new ApiError(
                  404,
                  "invalid_request_error",
                  "model_not_found",
                  null,
                  "The model `" + modelName + "` does not exist or you do not have access to it.")
              : new ApiError(404, "not_found_error", null, null, "model: " + modelName));
    }
    int promptTokens = Math.max(1, tokens(all.toString()).size());
    return new Body(modelName, streaming, includeUsage, prompt, maxTokens, promptTokens, null);
  }

  private static Body error(ApiError e) {
    return new Body(null, false, false, "", 0, 0, e);
  }

  /** The text of a message's content: a string, or the {@code text} of each part. */
  private static String text(@Nullable JsonNode content) {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.asText();
    }
    StringBuilder s = new StringBuilder();
    if (content.isArray()) {
      for (JsonNode part : content) {
        JsonNode t = part.get("text");
        if (t != null && t.isTextual()) {
          s.append(s.length() == 0 ? "" : " ").append(t.asText());
        }
      }
    }
    return s.toString();
  }

  static ApiError invalid(Flavor f, String message, @Nullable String param) {
    return new ApiError(
        400, "invalid_request_error", null, f == Flavor.OPENAI ? param : null, message);
  }

  /** The 413 for a body over the limit. */
  ApiError tooLarge(Flavor f, long size) {
    String msg =
        "Request body too large: "
            + (size >= 0 ? size + " bytes" : "more")
            + " (the limit is "
            + config.maxRequestBodyBytes()
            + " bytes).";
    return f == Flavor.OPENAI
        ? new ApiError(413, "invalid_request_error", "request_too_large", null, msg)
        : new ApiError(413, "request_too_large", null, null, msg);
  }

  /** The error a scripted error reply stands for. */
  static ApiError fromReply(Flavor f, Reply reply) {
    int s = reply.status();
    ApiError e = f == Flavor.OPENAI ? openAiError(s) : anthropicError(s);
    String custom = reply.errorMessage();
    return custom == null ? e : new ApiError(s, e.type(), e.code(), null, custom);
  }

  private static ApiError openAiError(int s) {
    return switch (s) {
      case 401 ->
          new ApiError(
              s, "invalid_request_error", "invalid_api_key", null, "Incorrect API key provided.");
      case 403 ->
          new ApiError(
              s, "permission_error", null, null, "You are not allowed to perform this request.");
      case 404 -> new ApiError(s, "invalid_request_error", null, null, "Not found.");
      case 429 ->
          new ApiError(
              s,
              "requests",
              "rate_limit_exceeded",
              null,
              "Rate limit reached for requests. Please try again later.");
      case 500 ->
          new ApiError(
              s,
              "server_error",
              null,
              null,
              "The server had an error while processing your request. Sorry about that!");
      case 503 ->
          new ApiError(
              s,
              "server_error",
              null,
              null,
              "The engine is currently overloaded, please try again later.");
      default ->
          s >= 500
              ? new ApiError(
                  s, "server_error", null, null, "The server had an error processing your request.")
              : new ApiError(s, "invalid_request_error", null, null, "Bad request.");
    };
  }

  private static ApiError anthropicError(int s) {
    return switch (s) {
      case 401 -> new ApiError(s, "authentication_error", null, null, "invalid x-api-key");
      case 403 ->
          new ApiError(
              s,
              "permission_error",
              null,
              null,
              "Your API key does not have permission to use the specified resource.");
      case 404 -> new ApiError(s, "not_found_error", null, null, "Not Found");
      case 413 ->
          new ApiError(
              s,
              "request_too_large",
              null,
              null,
              "Request exceeds the maximum allowed number of bytes.");
      case 429 ->
          new ApiError(
              s,
              "rate_limit_error",
              null,
              null,
              "Number of requests has exceeded your rate limit.");
      case 529 -> new ApiError(s, "overloaded_error", null, null, "Overloaded");
      default ->
          s >= 500
              ? new ApiError(s, "api_error", null, null, "Internal server error")
              : new ApiError(s, "invalid_request_error", null, null, "Bad request.");
    };
  }

  // ---------------------------------------------------------------- responses

  /** The response to a valid request, as the reply says. */
  Plan plan(Head head, Body body, Reply reply, String requestId) {
    boolean streamed = body.stream() && head.route() != Route.MODELS;
    // An error event comes after a 200, inside the stream; the reply's status names the error.
    boolean errorEvent = streamed && reply.fault() == Fault.ERROR_EVENT_MID_STREAM;
    if (reply.status() >= 400 && !errorEvent) {
      return errorPlan(head.flavor(), fromReply(head.flavor(), reply), requestId, reply);
    }
    Reply eventError = null;
    if (errorEvent) {
      eventError = reply.status() >= 400 ? reply : reply.toBuilder().status(529).build();
      reply = reply.toBuilder().status(200).build(); // and no retry-after header on the 200
    }
    long tpsNanos =
        reply.tokensPerSecond() > 0 ? (long) (1_000_000_000L / reply.tokensPerSecond()) : 0;
    long delay = reply.headersDelay().toNanos();
    if (head.route() == Route.MODELS) {
      RateLimits.Snapshot rl = limits.charge(0, 0, false);
      byte[] json = json(head.flavor() == Flavor.OPENAI ? openAiModels() : anthropicModels());
      return new Plan(
          reply.status(),
          headers(head.flavor(), "application/json", requestId, rl, reply),
          List.of(new Plan.Part(json, 0)),
          false,
          delay,
          wireFault(reply));
    }
    String model = body.model() != null ? body.model() : "mock-model";
    List<String> tokens = tokens(reply.textFor(body.prompt()));
    boolean cut = body.maxTokens() > 0 && tokens.size() > body.maxTokens();
    if (cut) {
      tokens = tokens.subList(0, body.maxTokens());
    }
    int out = tokens.size();
    RateLimits.Snapshot rl = limits.charge(body.promptTokens(), out, false);
    String created = Long.toString(clock.instant().getEpochSecond());
    String id = Long.toHexString(ids.incrementAndGet());
    List<Plan.Part> parts = new ArrayList<>();
    boolean openAi = head.route() == Route.CHAT;
    String contentType;
    if (!body.stream()) {
      contentType = "application/json";
      ObjectNode json =
          openAi
              ? openAiCompletion(id, created, model, String.join("", tokens), cut, body, out)
              : anthropicMessage(id, model, String.join("", tokens), cut, body, out);
      parts.add(new Plan.Part(json(json), 0));
      delay += tpsNanos * out; // a JSON reply waits for the whole generation
    } else {
      contentType = "text/event-stream; charset=utf-8";
      if (openAi) {
        openAiChunks(parts, id, created, model, tokens, cut, body, tpsNanos);
      } else {
        anthropicEvents(parts, id, model, tokens, cut, body, tpsNanos);
      }
    }
    if (body.stream() && eventError != null) {
      parts = new ArrayList<>(parts.subList(0, half(parts)));
      parts.add(new Plan.Part(errorEvent(head.flavor(), fromReply(head.flavor(), eventError)), 0));
    } else if (body.stream() && reply.fault() == Fault.TRUNCATE_MID_EVENT) {
      int half = half(parts);
      byte[] next = parts.get(half).bytes();
      parts = new ArrayList<>(parts.subList(0, half));
      parts.add(new Plan.Part(Arrays.copyOf(next, next.length / 2), 0));
    }
    List<Map.Entry<String, String>> h = headers(head.flavor(), contentType, requestId, rl, reply);
    if (body.stream()) {
      h.add(entry("cache-control", "no-cache"));
    }
    return new Plan(reply.status(), h, parts, body.stream(), delay, wireFault(reply));
  }

  /** Events sent before a mid-stream fault acts: half of them, as for the mid-body faults. */
  private static int half(List<Plan.Part> parts) {
    return Math.max(1, parts.size() / 2);
  }

  /**
   * The fault the protocol handlers act out: none for the faults that are wholly in the plan's
   * bytes.
   */
  private static Fault wireFault(Reply reply) {
    Fault f = reply.fault();
    return f == Fault.ERROR_EVENT_MID_STREAM || f == Fault.TRUNCATE_MID_EVENT ? Fault.NONE : f;
  }

  /**
   * An error inside a stream that began with a 200: Anthropic's {@code error} event, or the {@code
   * data: {"error": ...}} chunk of OpenAI-compatible servers (vLLM, LiteLLM), whose {@code code} is
   * the status when the error has no code of its own.
   */
  private byte[] errorEvent(Flavor flavor, ApiError e) {
    ObjectNode root = mapper.createObjectNode();
    if (flavor == Flavor.ANTHROPIC) {
      root.put("type", "error");
      ObjectNode err = root.putObject("error");
      err.put("type", e.type());
      err.put("message", e.message());
      return sse("error", root);
    }
    ObjectNode err = root.putObject("error");
    err.put("message", e.message());
    err.put("type", e.type());
    err.putNull("param");
    if (e.code() != null) {
      err.put("code", e.code());
    } else {
      err.put("code", e.status());
    }
    return sse(null, root);
  }

  /** An error response in the flavour's shape. */
  Plan errorPlan(Flavor flavor, ApiError e, String requestId, @Nullable Reply reply) {
    RateLimits.Snapshot rl = limits.charge(0, 0, e.status() == 429);
    ObjectNode root = mapper.createObjectNode();
    if (flavor == Flavor.OPENAI) {
      ObjectNode err = root.putObject("error");
      err.put("message", e.message());
      err.put("type", e.type());
      err.put("param", e.param());
      err.put("code", e.code());
    } else {
      root.put("type", "error");
      ObjectNode err = root.putObject("error");
      err.put("type", e.type());
      err.put("message", e.message());
      root.put("request_id", requestId);
    }
    Reply r = reply != null ? reply : Reply.error(e.status());
    return new Plan(
        e.status(),
        headers(flavor, "application/json", requestId, rl, r),
        List.of(new Plan.Part(json(root), 0)),
        false,
        reply != null ? reply.headersDelay().toNanos() : 0,
        reply != null ? wireFault(reply) : Fault.NONE);
  }

  private List<Map.Entry<String, String>> headers(
      Flavor flavor, String contentType, String requestId, RateLimits.Snapshot rl, Reply reply) {
    List<Map.Entry<String, String>> h = new ArrayList<>();
    h.add(entry("content-type", contentType));
    h.add(
        entry(
            "date",
            DateTimeFormatter.RFC_1123_DATE_TIME.format(clock.instant().atOffset(ZoneOffset.UTC))));
    h.add(entry("x-request-id", requestId));
    h.add(entry("request-id", requestId));
    if (flavor == Flavor.OPENAI) {
      String reset = Durations.goFormat(rl.resetIn());
      h.add(entry("x-ratelimit-limit-requests", Long.toString(rl.requestLimit())));
      h.add(entry("x-ratelimit-limit-tokens", Long.toString(rl.tokenLimit())));
      h.add(entry("x-ratelimit-remaining-requests", Long.toString(rl.requestsRemaining())));
      h.add(entry("x-ratelimit-remaining-tokens", Long.toString(rl.tokensRemaining())));
      h.add(entry("x-ratelimit-reset-requests", reset));
      h.add(entry("x-ratelimit-reset-tokens", reset));
    } else {
      String reset =
          RFC_3339.format(
              clock.instant().plus(rl.resetIn()).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1));
      String p = "anthropic-ratelimit-";
      h.add(entry(p + "requests-limit", Long.toString(rl.requestLimit())));
      h.add(entry(p + "requests-remaining", Long.toString(rl.requestsRemaining())));
      h.add(entry(p + "requests-reset", reset));
      h.add(entry(p + "tokens-limit", Long.toString(rl.tokenLimit())));
      h.add(entry(p + "tokens-remaining", Long.toString(rl.tokensRemaining())));
      h.add(entry(p + "tokens-reset", reset));
      h.add(entry(p + "input-tokens-limit", Long.toString(rl.inputTokenLimit())));
      h.add(entry(p + "input-tokens-remaining", Long.toString(rl.inputTokensRemaining())));
      h.add(entry(p + "input-tokens-reset", reset));
      h.add(entry(p + "output-tokens-limit", Long.toString(rl.outputTokenLimit())));
      h.add(entry(p + "output-tokens-remaining", Long.toString(rl.outputTokensRemaining())));
      h.add(entry(p + "output-tokens-reset", reset));
    }
    Duration retryAfter = reply.retryAfter();
    if (retryAfter != null) {
      long ms = retryAfter.toMillis();
      h.add(entry("retry-after", Long.toString((ms + 999) / 1000)));
      h.add(entry("retry-after-ms", Long.toString(ms)));
    }
    for (Map.Entry<String, String> extra : reply.headers().entrySet()) {
      h.add(entry(extra.getKey(), extra.getValue()));
    }
    return h;
  }

  // --- OpenAI chat completions

  private ObjectNode openAiCompletion(
      String id, String created, String model, String text, boolean cut, Body body, int out) {
    ObjectNode root = mapper.createObjectNode();
    root.put("id", "chatcmpl-" + idPrefix + id);
    root.put("object", "chat.completion");
    root.put("created", Long.parseLong(created));
    root.put("model", model);
    ArrayNode choices = root.putArray("choices");
    ObjectNode choice = choices.addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", text);
    message.putNull("refusal");
    message.putArray("annotations");
    choice.putNull("logprobs");
    choice.put("finish_reason", cut ? "length" : "stop");
    root.set("usage", openAiUsage(body.promptTokens(), out));
    root.put("service_tier", "default");
    root.put("system_fingerprint", "fp_llmpool_mock");
    return root;
  }

  private ObjectNode openAiUsage(int in, int out) {
    ObjectNode usage = mapper.createObjectNode();
    usage.put("prompt_tokens", in);
    usage.put("completion_tokens", out);
    usage.put("total_tokens", in + out);
    ObjectNode pd = usage.putObject("prompt_tokens_details");
    pd.put("cached_tokens", 0);
    pd.put("audio_tokens", 0);
    ObjectNode cd = usage.putObject("completion_tokens_details");
    cd.put("reasoning_tokens", 0);
    cd.put("audio_tokens", 0);
    cd.put("accepted_prediction_tokens", 0);
    cd.put("rejected_prediction_tokens", 0);
    return usage;
  }

  private void openAiChunks(
      List<Plan.Part> parts,
      String id,
      String created,
      String model,
      List<String> tokens,
      boolean cut,
      Body body,
      long tpsNanos) {
    ObjectNode first = chunk(id, created, model, body.includeUsage());
    ObjectNode delta = ((ArrayNode) first.get("choices")).addObject();
    delta.put("index", 0);
    ObjectNode d = delta.putObject("delta");
    d.put("role", "assistant");
    d.put("content", "");
    d.putNull("refusal");
    delta.putNull("logprobs");
    delta.putNull("finish_reason");
    parts.add(new Plan.Part(sse(null, first), 0));
    for (int i = 0; i < tokens.size(); i++) {
      ObjectNode c = chunk(id, created, model, body.includeUsage());
      ObjectNode ch = ((ArrayNode) c.get("choices")).addObject();
      ch.put("index", 0);
      ch.putObject("delta").put("content", tokens.get(i));
      ch.putNull("logprobs");
      ch.putNull("finish_reason");
      parts.add(new Plan.Part(sse(null, c), i == 0 ? 0 : tpsNanos));
    }
    ObjectNode last = chunk(id, created, model, body.includeUsage());
    ObjectNode lc = ((ArrayNode) last.get("choices")).addObject();
    lc.put("index", 0);
    lc.putObject("delta");
    lc.putNull("logprobs");
    lc.put("finish_reason", cut ? "length" : "stop");
    parts.add(new Plan.Part(sse(null, last), 0));
    if (body.includeUsage()) {
      ObjectNode u = chunk(id, created, model, false);
      u.set("usage", openAiUsage(body.promptTokens(), tokens.size()));
      parts.add(new Plan.Part(sse(null, u), 0));
    }
    parts.add(new Plan.Part("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8), 0));
  }

  private ObjectNode chunk(String id, String created, String model, boolean usageNull) {
    ObjectNode c = mapper.createObjectNode();
    c.put("id", "chatcmpl-" + idPrefix + id);
    c.put("object", "chat.completion.chunk");
    c.put("created", Long.parseLong(created));
    c.put("model", model);
    c.put("service_tier", "default");
    c.put("system_fingerprint", "fp_llmpool_mock");
    c.putArray("choices");
    if (usageNull) {
      c.putNull("usage");
    }
    return c;
  }

  // --- Anthropic messages

  private ObjectNode anthropicMessage(
      String id, String model, String text, boolean cut, Body body, int out) {
    ObjectNode root = anthropicSkeleton(id, model);
    ((ArrayNode) root.get("content")).addObject().put("type", "text").put("text", text);
    root.put("stop_reason", cut ? "max_tokens" : "end_turn");
    root.set("usage", anthropicUsage(body.promptTokens(), out));
    return root;
  }

  private ObjectNode anthropicSkeleton(String id, String model) {
    ObjectNode root = mapper.createObjectNode();
    root.put("id", "msg_" + idPrefix + id);
    root.put("type", "message");
    root.put("role", "assistant");
    root.put("model", model);
    root.putArray("content");
    root.putNull("stop_reason");
    root.putNull("stop_sequence");
    return root;
  }

  private ObjectNode anthropicUsage(int in, int out) {
    ObjectNode usage = mapper.createObjectNode();
    usage.put("input_tokens", in);
    usage.put("cache_creation_input_tokens", 0);
    usage.put("cache_read_input_tokens", 0);
    usage.put("output_tokens", out);
    usage.put("service_tier", "standard");
    return usage;
  }

  private void anthropicEvents(
      List<Plan.Part> parts,
      String id,
      String model,
      List<String> tokens,
      boolean cut,
      Body body,
      long tpsNanos) {
    ObjectNode start = mapper.createObjectNode();
    start.put("type", "message_start");
    ObjectNode message = anthropicSkeleton(id, model);
    message.set("usage", anthropicUsage(body.promptTokens(), 1));
    start.set("message", message);
    parts.add(new Plan.Part(sse("message_start", start), 0));
    ObjectNode blockStart = mapper.createObjectNode();
    blockStart.put("type", "content_block_start");
    blockStart.put("index", 0);
    blockStart.putObject("content_block").put("type", "text").put("text", "");
    parts.add(new Plan.Part(sse("content_block_start", blockStart), 0));
    parts.add(new Plan.Part(sse("ping", mapper.createObjectNode().put("type", "ping")), 0));
    for (int i = 0; i < tokens.size(); i++) {
      ObjectNode delta = mapper.createObjectNode();
      delta.put("type", "content_block_delta");
      delta.put("index", 0);
      delta.putObject("delta").put("type", "text_delta").put("text", tokens.get(i));
      parts.add(new Plan.Part(sse("content_block_delta", delta), i == 0 ? 0 : tpsNanos));
    }
    ObjectNode blockStop = mapper.createObjectNode();
    blockStop.put("type", "content_block_stop");
    blockStop.put("index", 0);
    parts.add(new Plan.Part(sse("content_block_stop", blockStop), 0));
    ObjectNode messageDelta = mapper.createObjectNode();
    messageDelta.put("type", "message_delta");
    ObjectNode md = messageDelta.putObject("delta");
    md.put("stop_reason", cut ? "max_tokens" : "end_turn");
    md.putNull("stop_sequence");
    messageDelta.putObject("usage").put("output_tokens", tokens.size());
    parts.add(new Plan.Part(sse("message_delta", messageDelta), 0));
    parts.add(
        new Plan.Part(
            sse("message_stop", mapper.createObjectNode().put("type", "message_stop")), 0));
  }

  // --- models

  private ObjectNode openAiModels() {
    ObjectNode root = mapper.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (String m : listedModels()) {
      ObjectNode o = data.addObject();
      o.put("id", m);
      o.put("object", "model");
      o.put("created", 1_700_000_000L);
      o.put("owned_by", "llmpool-testkit");
    }
    return root;
  }

  private ObjectNode anthropicModels() {
    ObjectNode root = mapper.createObjectNode();
    ArrayNode data = root.putArray("data");
    List<String> models = listedModels();
    for (String m : models) {
      ObjectNode o = data.addObject();
      o.put("type", "model");
      o.put("id", m);
      o.put("display_name", m);
      o.put("created_at", RFC_3339.format(Instant.ofEpochSecond(1_700_000_000L)));
    }
    root.put("has_more", false);
    root.put("first_id", models.get(0));
    root.put("last_id", models.get(models.size() - 1));
    return root;
  }

  private List<String> listedModels() {
    return config.models().isEmpty() ? List.of("mock-model") : config.models();
  }

  // --- helpers

  /** Splits text into tokens: words with their leading white space, as a tokenizer roughly does. */
  static List<String> tokens(String text) {
    if (text.isEmpty()) {
      return List.of();
    }
    return List.of(TOKEN_BOUNDARY.split(text, -1));
  }

  private byte[] json(JsonNode node) {
    try {
      return mapper.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  private byte[] sse(@Nullable String event, JsonNode data) {
    String json = new String(json(data), StandardCharsets.UTF_8);
    String text = (event == null ? "" : "event: " + event + "\n") + "data: " + json + "\n\n";
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static Map.Entry<String, String> entry(String name, String value) {
    return new SimpleImmutableEntry<>(name, value);
  }

  static @Nullable String first(Map<String, List<String>> headers, String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  static String stripQuery(String path) {
    int q = path.indexOf('?');
    return q < 0 ? path : path.substring(0, q);
  }
}
