package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.EventListener;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.OpenAiAuth;
import dev.llmpool.time.ManualScheduler;
import dev.llmpool.time.Scheduler;
import dev.llmpool.time.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

/**
 * Shared set-up for the chat client tests: a fake seam, a manual clock whose scheduling a test can
 * wait for, a recording event listener, and the leak check every test ends with (every response
 * released, no timer left).
 */
abstract class ChatClientTestSupport {
  static final String KEY = "sk-test-0123456789abcdefSECRET";
  static final List<Message> HELLO = List.of(Message.user("Hello"));

  final ManualScheduler manual = new ManualScheduler();
  final RecordingScheduler scheduler = new RecordingScheduler(manual);
  final FakeLlmHttp http = new FakeLlmHttp();
  final RecordingListener events = new RecordingListener();

  ChatClientSettings settings() {
    return ChatClientSettings.defaults(scheduler).withRandom(() -> 0.5).withEventListener(events);
  }

  DefaultChatClient openAi() {
    return openAi(settings());
  }

  DefaultChatClient openAi(ChatClientSettings s) {
    return new DefaultChatClient(
        ChatEndpoint.openAi("https://api.openai.com/v1", KEY, OpenAiAuth.AUTO, true),
        http,
        ChatOptions.model("gpt-4o"),
        s);
  }

  DefaultChatClient anthropic() {
    return anthropic(settings());
  }

  DefaultChatClient anthropic(ChatClientSettings s) {
    return new DefaultChatClient(
        ChatEndpoint.anthropic("https://api.anthropic.com", KEY),
        http,
        ChatOptions.model("claude-sonnet-4-5"),
        s);
  }

  /** Moves the manual clock without running tasks (time the server "took"). */
  void take(Duration d) {
    manual.ticker().advance(d);
  }

  @AfterEach
  void nothingLeaks() {
    http.assertAllReleased();
    assertThat(manual.pendingTasks()).as("timers left behind").isZero();
  }

  /** A Scheduler on a ManualScheduler that lets a test wait until a task has been scheduled. */
  static final class RecordingScheduler implements Scheduler {
    final ManualScheduler manual;
    final Semaphore scheduled = new Semaphore(0);

    RecordingScheduler(ManualScheduler manual) {
      this.manual = manual;
    }

    @Override
    public Ticker ticker() {
      return manual.ticker();
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
      Cancellable c = manual.schedule(task, delayNanos);
      scheduled.release();
      return c;
    }

    /** Waits (boundedly) until {@code n} more tasks have been scheduled. */
    void awaitScheduled(int n) throws InterruptedException {
      assertThat(scheduled.tryAcquire(n, 30, TimeUnit.SECONDS)).as("tasks scheduled").isTrue();
    }
  }

  /** Records retries. */
  static final class RecordingListener implements EventListener {
    record Retry(String reason, Duration delay, int attempt) {}

    final List<Retry> retries = new CopyOnWriteArrayList<>();

    @Override
    public void retry(CallInfo call, String reason, Duration delay, int attempt) {
      assertThat(call.path()).doesNotContain("?");
      retries.add(new Retry(reason, delay, attempt));
    }
  }
}
