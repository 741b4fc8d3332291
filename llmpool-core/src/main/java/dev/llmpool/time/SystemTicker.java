package dev.llmpool.time;

/** The system clocks: the only class in llmpool that reads them. */
@SuppressForbidden(reason = "the one place that reads the system clocks")
final class SystemTicker implements Ticker {
  static final SystemTicker INSTANCE = new SystemTicker();

  private SystemTicker() {}

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public long currentTimeMillis() {
    return System.currentTimeMillis();
  }

  @Override
  public String toString() {
    return "Ticker.system()";
  }
}
