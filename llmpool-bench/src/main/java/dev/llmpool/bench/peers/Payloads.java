package dev.llmpool.bench.peers;

import java.nio.charset.StandardCharsets;

/**
 * The bytes on the wire: one source for the request bodies the clients send and for the answers
 * nginx serves ({@code PeerBench files} writes the latter into nginx's directory).
 */
public final class Payloads {
  /** Tokens in the streamed answer. */
  public static final int STREAM_TOKENS = 500;

  private static final String SYSTEM =
      "You are a concise assistant for a logistics company. Answer in plain English, cite the"
          + " order number when one is given, never invent tracking data, and keep answers under"
          + " one hundred words unless the user asks for detail.";
  private static final String USER =
      "Order 48213-B left the Rotterdam depot on Tuesday and the tracking page has not changed"
          + " since. The customer asks whether the parcel is lost, when it will arrive, and"
          + " whether they can change the delivery address to their office at Keizersgracht 114,"
          + " Amsterdam. Draft a short, friendly reply that explains the usual delay at the"
          + " border hub, gives a realistic window, and says how to change the address.";

  private Payloads() {}

  /** The ~1 KB chat-completions request; {@code stream} asks for SSE. */
  public static byte[] chatRequest(boolean stream) {
    String json =
        "{\"model\":\"gpt-4o-mini\",\"temperature\":0.2,\"max_tokens\":500,\"stream\":"
            + stream
            + ",\"user\":\"bench-user-0001\",\"messages\":[{\"role\":\"system\",\"content\":\""
            + SYSTEM
            + "\"},{\"role\":\"user\",\"content\":\""
            + USER
            + "\"},{\"role\":\"assistant\",\"content\":\"Let me check the order history first.\"},"
            + "{\"role\":\"user\",\"content\":\"Please keep it under eighty words.\"}]}";
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /** The ~700-byte chat.completion answer nginx serves. */
  public static byte[] chatAnswer() {
    String json =
        "{\"id\":\"chatcmpl-9bench0000000000000000000001\",\"object\":\"chat.completion\","
            + "\"created\":1767225600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello! Your parcel 48213-B is not"
            + " lost: it is waiting at the border hub, which usually adds two to three days. Expect"
            + " delivery between Friday and Monday. To send it to Keizersgracht 114 instead, open"
            + " the tracking page, choose Change address and confirm before 18:00 the day before"
            + " delivery.\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":231,\"completion_tokens\":64,\"total_tokens\":295,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":"
            + "{\"reasoning_tokens\":0}},\"system_fingerprint\":\"fp_0000bench\"}\n";
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /** One SSE event carrying token {@code i}, with its blank line. */
  public static String streamEvent(int i) {
    String finish = i == STREAM_TOKENS - 1 ? "\"stop\"" : "null";
    return "data: {\"id\":\"chatcmpl-9bench0000000000000000000002\",\"object\":"
        + "\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"gpt-4o-mini-2024-07-18\","
        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok"
        + i
        + "\"},\"logprobs\":null,\"finish_reason\":"
        + finish
        + "}]}\n\n";
  }

  /** The whole 500-token SSE answer followed by {@code data: [DONE]}. */
  public static byte[] streamAnswer() {
    StringBuilder sb = new StringBuilder(STREAM_TOKENS * 256);
    for (int i = 0; i < STREAM_TOKENS; i++) {
      sb.append(streamEvent(i));
    }
    sb.append("data: [DONE]\n\n");
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** An nginx directive (echo module) that sends {@link #chatAnswer()}. */
  public static String chatDirective() {
    String json = new String(chatAnswer(), StandardCharsets.UTF_8);
    return "echo -n '" + json.replace("\n", "\\n") + "';\n";
  }

  /**
   * nginx directives (echo module) that send the same answer one flushed write per token, with
   * {@code gapMillis} between tokens: included into the paced location of the nginx config.
   */
  public static String pacedDirectives(int gapMillis) {
    StringBuilder sb = new StringBuilder(STREAM_TOKENS * 300);
    String gap = String.format(java.util.Locale.ROOT, "%.3f", gapMillis / 1000.0);
    for (int i = 0; i < STREAM_TOKENS; i++) {
      String event = streamEvent(i).replace("\n", "\\n");
      sb.append("echo -n '").append(event).append("';\necho_flush;\n");
      if (gapMillis > 0 && i < STREAM_TOKENS - 1) {
        sb.append("echo_sleep ").append(gap).append(";\n");
      }
    }
    sb.append("echo -n 'data: [DONE]\\n\\n';\n");
    return sb.toString();
  }
}
