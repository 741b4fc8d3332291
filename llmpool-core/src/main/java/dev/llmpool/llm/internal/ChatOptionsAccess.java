package dev.llmpool.llm.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.llm.ChatOptions;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Gives the codecs the JSON trees {@link ChatOptions} parsed in {@code build()}, so that a request
 * does not parse them again, without putting Jackson types in the public API. (The JDK's "shared
 * secrets" pattern: ChatOptions registers its accessor when its class initialises.)
 */
public final class ChatOptionsAccess {
  /** What ChatOptions lends. The trees must not be modified. */
  public interface Accessor {
    /** The tools array, or null. */
    @Nullable ArrayNode tools(ChatOptions options);

    /** The response format object, or null. */
    @Nullable ObjectNode responseFormat(ChatOptions options);

    /** The extra body fields, or null. */
    @Nullable ObjectNode extra(ChatOptions options);
  }

  private static volatile @Nullable Accessor accessor;

  private ChatOptionsAccess() {}

  /** Called once by ChatOptions' static initialiser. */
  public static void set(Accessor a) {
    accessor = a;
  }

  /** The accessor, initialising ChatOptions if needed. */
  public static Accessor get() {
    Accessor a = accessor;
    if (a == null) {
      // Touching the class runs its static initialiser, which registers the accessor.
      Objects.requireNonNull(ChatOptions.EMPTY);
      a = accessor;
    }
    return Objects.requireNonNull(a, "ChatOptions did not register its accessor");
  }
}
