package dev.llmpool.time;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks the few places allowed to call an API that the build's forbidden-API check refuses (the
 * system clock, outside this package's {@link SystemTicker}). Every use says why next to it.
 */
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
public @interface SuppressForbidden {
  /** Why the forbidden API is needed here. */
  String reason();
}
