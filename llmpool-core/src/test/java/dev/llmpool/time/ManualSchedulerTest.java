package dev.llmpool.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {
  private final ManualScheduler scheduler = new ManualScheduler();
  private final List<String> ran = new ArrayList<>();

  @Test
  void nothingRunsUntilTimeIsAdvanced() {
    scheduler.schedule(() -> ran.add("a"), Duration.ofSeconds(1));
    assertThat(ran).isEmpty();
    scheduler.advance(Duration.ofMillis(999));
    assertThat(ran).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(ran).containsExactly("a");
  }

  @Test
  void dueTasksRunInDeadlineOrderAtTheirOwnTime() {
    List<Long> seenAt = new ArrayList<>();
    scheduler.schedule(
        () -> {
          ran.add("late");
          seenAt.add(scheduler.ticker().nanoTime());
        },
        Duration.ofSeconds(3));
    scheduler.schedule(
        () -> {
          ran.add("early");
          seenAt.add(scheduler.ticker().nanoTime());
        },
        Duration.ofSeconds(1));
    scheduler.advance(Duration.ofSeconds(10));
    assertThat(ran).containsExactly("early", "late");
    assertThat(seenAt).containsExactly(1_000_000_000L, 3_000_000_000L);
    assertThat(scheduler.ticker().nanoTime()).isEqualTo(10_000_000_000L);
  }

  @Test
  void tasksScheduledByATaskRunWithinTheSameAdvance() {
    scheduler.schedule(
        () -> {
          ran.add("first");
          scheduler.schedule(() -> ran.add("second"), Duration.ofSeconds(1));
        },
        Duration.ofSeconds(1));
    scheduler.advance(Duration.ofSeconds(2));
    assertThat(ran).containsExactly("first", "second");
  }

  @Test
  void cancelledTaskNeverRunsAndCancelReportsOnce() {
    Scheduler.Cancellable c = scheduler.schedule(() -> ran.add("x"), Duration.ofSeconds(1));
    assertThat(scheduler.pendingTasks()).isEqualTo(1);
    assertThat(c.cancel()).isTrue();
    assertThat(c.cancel()).isFalse();
    scheduler.advance(Duration.ofSeconds(5));
    assertThat(ran).isEmpty();
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void tickerRefusesToGoBack() {
    assertThatThrownBy(() -> scheduler.ticker().advanceNanos(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot go back");
  }

  @Test
  void wallClockAdvancesWithMonotonicTime() {
    long before = scheduler.ticker().currentTimeMillis();
    scheduler.advance(Duration.ofMillis(1500));
    assertThat(scheduler.ticker().currentTimeMillis() - before).isEqualTo(1500);
  }
}
