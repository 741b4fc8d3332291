package dev.llmpool.bench.peers;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A client library in the comparison. The harness opens a fresh {@link PeerClient} per cell (so
 * each cell's connections are counted from zero) and closes it after.
 */
public interface PeerClientFactory {

  /** Short name used on the command line and in result files ({@code okhttp}, {@code llmpool}). */
  String name();

  /** What runs: library, version, and the API used. */
  String description();

  /** Why {@code protocol} cannot be measured with this client, or {@code null} when it can. */
  @Nullable String unsupported(Protocol protocol);

  /**
   * Whether the memory probe measures this client (false for a variant that changes nothing idle).
   */
  default boolean measuresMemory() {
    return true;
  }

  /** The exact settings the client runs with, one line each, for the docs. */
  List<String> settings(PoolSettings pool);

  /**
   * Builds and starts a client for {@code protocol} whose requests carry {@code cellTag} in the
   * {@code x-bench-cell} header.
   */
  PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception;
}
