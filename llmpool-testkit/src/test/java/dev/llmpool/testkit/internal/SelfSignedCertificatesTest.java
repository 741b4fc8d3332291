package dev.llmpool.testkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;

class SelfSignedCertificatesTest {
  private static final Instant NOW = Instant.parse("2030-05-06T07:08:09Z");

  @Test
  void certificateNamesTheLoopbackAddressesAndIsSelfSigned() throws Exception {
    SelfSignedCertificates.Generated g = SelfSignedCertificates.generate(NOW);
    X509Certificate c = g.certificate();
    assertThat(c.getVersion()).isEqualTo(3);
    assertThat(c.getSubjectX500Principal()).isEqualTo(c.getIssuerX500Principal());
    c.verify(c.getPublicKey()); // signed by its own key
    assertThat(c.getSubjectAlternativeNames())
        .contains(List.of(2, "localhost"), List.of(7, "127.0.0.1"));
    assertThat(c.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    c.checkValidity(Date.from(NOW));
    assertThat(c.getNotAfter().toInstant()).isAfter(NOW.plusSeconds(300L * 24 * 3600));
    assertThat(g.privateKey().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void theJdkTrustsItAsItsOwnAnchorForServerAuth() throws Exception {
    X509Certificate c = SelfSignedCertificates.generate(Instant.now()).certificate();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("a", c);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    X509TrustManager tm = (X509TrustManager) tmf.getTrustManagers()[0];
    tm.checkServerTrusted(new X509Certificate[] {c}, "ECDHE_ECDSA");
  }

  @Test
  void pemRoundTrips() throws Exception {
    X509Certificate c = SelfSignedCertificates.generate(NOW).certificate();
    String pem = SelfSignedCertificates.pem(c);
    assertThat(pem)
        .startsWith("-----BEGIN CERTIFICATE-----\n")
        .endsWith("-----END CERTIFICATE-----\n");
    X509Certificate back =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(
                    new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    assertThat(back).isEqualTo(c);
  }

  @Test
  void validityAfter2049UsesGeneralizedTime() throws Exception {
    Instant late = Instant.parse("2060-01-01T00:00:00Z");
    X509Certificate c = SelfSignedCertificates.generate(late).certificate();
    c.checkValidity(Date.from(late));
  }
}
