package dev.llmpool.testkit.internal;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks the few places that may use an API the build forbids (see config/forbidden-apis.txt); the
 * reason says why. The testkit cannot use llmpool-core's clock, so it reads the wall clock here.
 */
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
public @interface SuppressForbidden {
  /** Why the forbidden API is needed here. */
  String reason();
}
