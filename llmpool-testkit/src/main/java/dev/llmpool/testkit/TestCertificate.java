package dev.llmpool.testkit;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The mock server's self-signed certificate, made at start for {@code 127.0.0.1}, {@code ::1} and
 * {@code localhost}, and the means for a client to trust it without turning verification off: its
 * PEM file (for curl's {@code --cacert} or an SDK), a trust manager and an {@link SSLContext}.
 */
public final class TestCertificate {
  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final String pem;
  private final Path pemFile;
  private final X509TrustManager trustManager;
  private final SSLContext sslContext;

  TestCertificate(X509Certificate certificate, PrivateKey privateKey, String pem, Path pemFile) {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.pem = pem;
    this.pemFile = pemFile;
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setCertificateEntry("llmpool-testkit", certificate);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      X509TrustManager found = null;
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509TrustManager x509) {
          found = x509;
        }
      }
      if (found == null) {
        throw new IllegalStateException("the JDK offers no X509TrustManager");
      }
      this.trustManager = found;
      this.sslContext = SSLContext.getInstance("TLS");
      sslContext.init(null, new TrustManager[] {trustManager}, null);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a trust store for the certificate: " + e, e);
    }
  }

  /** The certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** The certificate in PEM form. */
  public String pem() {
    return pem;
  }

  /** A PEM file holding the certificate; deleted when the server closes. */
  public Path pemFile() {
    return pemFile;
  }

  /** A trust manager that trusts this certificate only. */
  public X509TrustManager trustManager() {
    return trustManager;
  }

  /**
   * A client {@link SSLContext} that trusts this certificate only; for example {@code
   * HttpClient.newBuilder().sslContext(cert.sslContext())}.
   */
  public SSLContext sslContext() {
    return sslContext;
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  @Override
  public String toString() {
    return "TestCertificate{" + certificate.getSubjectX500Principal() + ", " + pemFile + "}";
  }
}
