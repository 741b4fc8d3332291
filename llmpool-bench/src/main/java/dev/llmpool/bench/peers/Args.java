package dev.llmpool.bench.peers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code --name=value} arguments; every name the program reads must be given or defaulted. */
final class Args {
  private final Map<String, String> values = new LinkedHashMap<>();

  Args(String[] args, int from) {
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("expected --name=value, got '" + a + "'");
      }
      int eq = a.indexOf('=');
      if (eq < 0) {
        values.put(a.substring(2), "true");
      } else {
        values.put(a.substring(2, eq), a.substring(eq + 1));
      }
    }
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String string(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  String required(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new IllegalArgumentException("missing --" + name + "=…");
    }
    return v;
  }

  int integer(String name, int fallback) {
    String v = values.get(name);
    return v == null ? fallback : Integer.parseInt(v.trim());
  }

  long longValue(String name, long fallback) {
    String v = values.get(name);
    return v == null ? fallback : Long.parseLong(v.trim());
  }

  /** Seconds, fractions allowed ({@code 4}, {@code 0.5}). */
  Duration seconds(String name, double fallback) {
    String v = values.get(name);
    double s = v == null ? fallback : Double.parseDouble(v.trim());
    return Duration.ofNanos((long) (s * 1e9));
  }

  List<String> list(String name, String fallback) {
    List<String> out = new ArrayList<>();
    for (String s : string(name, fallback).split(",", -1)) {
      if (!s.isBlank()) {
        out.add(s.trim());
      }
    }
    return out;
  }

  List<Integer> integers(String name, String fallback) {
    List<Integer> out = new ArrayList<>();
    for (String s : list(name, fallback)) {
      out.add(Integer.parseInt(s));
    }
    return out;
  }

  List<Protocol> protocols(String name, String fallback) {
    List<Protocol> out = new ArrayList<>();
    for (String s : list(name, fallback)) {
      out.add(Protocol.of(s));
    }
    return out;
  }

  /** Every argument as given, to pass on to a child JVM. */
  List<String> passThrough(String... names) {
    List<String> out = new ArrayList<>();
    for (String n : names) {
      String v = values.get(n);
      if (v != null) {
        out.add("--" + n + "=" + v);
      }
    }
    return out;
  }

  static String fmt(Duration d) {
    return String.format(Locale.ROOT, "%.3g s", d.toNanos() / 1e9);
  }
}
