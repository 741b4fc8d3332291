package dev.llmpool.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A strict duration for command-line flags: digits then one unit, {@code ms}, {@code s}, {@code m}
 * or {@code h} ({@code 200ms}, {@code 5s}, {@code 1m}). Anything else is a usage error (exit 2).
 */
final class DurationConverter implements ITypeConverter<Duration> {
  private static final Pattern FORM = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    Matcher m = FORM.matcher(value);
    if (!m.matches()) {
      throw new TypeConversionException(
          "'" + value + "' is not a duration: use digits and a unit, like 200ms, 5s, 1m or 1h");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }
}
