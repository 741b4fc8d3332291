package dev.llmpool.interop;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs around every interop test class: before it, makes sure Netty's leak recorder is installed;
 * after it, checks that no buffer leaked (Netty's paranoid detector) and that the bearer token
 * reached neither llmpool's log nor any exception a call ended with.
 */
final class SuiteChecks implements BeforeAllCallback, AfterAllCallback {
  @Override
  public void beforeAll(ExtensionContext context) {
    Interop.init();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    assertThat(Interop.collectLeaks())
        .as("Netty buffers leaked (paranoid leak detection)")
        .isEmpty();
    assertThat(Interop.logLinesWithToken()).as("log lines carrying the bearer token").isEmpty();
    assertThat(Interop.errorsWithToken()).as("exceptions carrying the bearer token").isEmpty();
  }
}
