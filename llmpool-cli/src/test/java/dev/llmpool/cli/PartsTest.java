package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Origin;
import dev.llmpool.PoolFullException;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** The CLI's small parts: failure kinds, masking, percentiles, formatting. */
class PartsTest {
  private static final Origin API = Origin.of("https://api.example.com");

  @Test
  void failuresAreCountedByPhaseAndTypeOrByStatus() {
    assertThat(Failures.kind(new ConnectFailedException(API, "refused", false, null)))
        .isEqualTo("connect:ConnectFailedException");
    assertThat(Failures.kind(new CompletionException(new PoolFullException(API, "full"))))
        .isEqualTo("pool:PoolFullException");
    assertThat(Failures.kind(new HttpStatusFailure(API, 429, ": slow down"))).isEqualTo("http:429");
    assertThat(Failures.kind(new CancellationException())).isEqualTo(Failures.CANCELLED);
    assertThat(Failures.kind(new IllegalStateException("x")))
        .isEqualTo("other:IllegalStateException");
  }

  @Test
  void aFailureIsOneLineNamingThePhaseAndHost() {
    String line =
        Failures.oneLine(
            new CompletionException(
                new ConnectFailedException(API, "refused\nsecond", false, null)));
    assertThat(line).doesNotContain("\n").startsWith("refused");
    assertThat(Failures.oneLine(new HttpStatusFailure(API, 401, ": bad key")))
        .isEqualTo(
            "the server answered 401: bad key [phase=http_status, origin=https://api.example.com:443,"
                + " the server may have processed the request; it was not re-sent]");
  }

  @Test
  void keysEchoedByAProviderAreMasked() {
    assertThat(Calls.redact("Incorrect API key provided: sk-proj-abc123***xyz9.", null))
        .isEqualTo("Incorrect API key provided: sk-***.");
    assertThat(Calls.redact("bad key my-secret-key-42 given", "my-secret-key-42"))
        .isEqualTo("bad key *** given");
    assertThat(Calls.redact("two\nlines", null)).isEqualTo("two lines");
  }

  @Test
  void percentilesAreOrderedAndNeverAboveTheMaximum() {
    long seed = 20261124L;
    Random random = new Random(seed);
    Latencies l = new Latencies();
    long max = 0;
    for (int i = 0; i < 10_000; i++) {
      long nanos = 1_000_000L + (long) (random.nextDouble() * random.nextDouble() * 900_000_000L);
      max = Math.max(max, nanos);
      l.record(nanos);
    }
    double p50 = l.percentileMs(50);
    double p90 = l.percentileMs(90);
    double p99 = l.percentileMs(99);
    double p999 = l.percentileMs(99.9);
    assertThat(p50).as("seed " + seed).isLessThanOrEqualTo(p90);
    assertThat(p90).isLessThanOrEqualTo(p99);
    assertThat(p99).isLessThanOrEqualTo(p999);
    assertThat(p999).isLessThanOrEqualTo(l.maxMs());
    assertThat(l.maxMs()).isEqualTo(max / 1e6);
    assertThat(l.count()).isEqualTo(10_000);
    Map<String, Object> m = l.toMap("p50", "p999", "max");
    assertThat(m).containsOnlyKeys("p50", "p999", "max");
  }

  @Test
  void nothingRecordedIsNullInJsonAndADashInTables() {
    Latencies none = new Latencies();
    assertThat(none.toMap("p50", "max")).containsEntry("p50", null).containsEntry("max", null);
    assertThat(Format.ms(none.percentileMs(50))).isEqualTo("-");
    assertThat(Format.ms(51.25)).isEqualTo("51.3");
    assertThat(Format.ms(1510.4)).isEqualTo("1510");
    assertThat(Format.seconds(3050)).isEqualTo("3.05");
    assertThat(Format.duration(850)).isEqualTo("850 ms");
    assertThat(Format.duration(7600)).isEqualTo("7.6 s");
  }
}
