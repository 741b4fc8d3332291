package dev.llmpool.testkit.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Locale;

/**
 * Makes a self-signed X.509 v3 certificate for the loopback addresses, with an EC P-256 key.
 *
 * <p>Why by hand: Netty's {@code SelfSignedCertificate} puts no subject alternative names in the
 * certificate (so a client verifying the host name of {@code https://127.0.0.1} rejects it) and its
 * fallbacks need BouncyCastle, {@code sun.security.x509} internals or a {@code keytool} process;
 * Netty's {@code CertificateBuilder} needs BouncyCastle too. The DER below is the handful of
 * structures RFC 5280 requires, signed with the JDK's own {@link Signature}, so it works on every
 * JDK from 17 on without a dependency.
 *
 * <p>The certificate has: subject and issuer {@code CN=llmpool testkit}; subject alternative names
 * {@code DNS:localhost}, {@code IP:127.0.0.1} and {@code IP:::1}; extended key usage serverAuth; no
 * key usage or basic constraints (so OpenSSL and the JDK both accept it as its own trust anchor).
 */
public final class SelfSignedCertificates {

  /** A private key and its self-signed certificate. */
  public record Generated(PrivateKey privateKey, X509Certificate certificate) {}

  private static final String OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
  private static final String OID_COMMON_NAME = "2.5.4.3";
  private static final String OID_SUBJECT_ALT_NAME = "2.5.29.17";
  private static final String OID_EXT_KEY_USAGE = "2.5.29.37";
  private static final String OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

  /** Generates a key pair and a certificate valid from an hour before {@code now} for a year. */
  public static Generated generate(Instant now) {
    try {
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
      kpg.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair pair = kpg.generateKeyPair();

      byte[] serialBytes = new byte[16];
      new SecureRandom().nextBytes(serialBytes);
      BigInteger serial = new BigInteger(1, serialBytes);
      byte[] signatureAlgorithm = seq(oid(OID_ECDSA_WITH_SHA256));
      byte[] name = seq(set(seq(oid(OID_COMMON_NAME), utf8("llmpool testkit"))));
      byte[] validity =
          seq(time(now.minus(Duration.ofHours(1))), time(now.plus(Duration.ofDays(365))));
      byte[] subjectAltName =
          seq(
              tlv(0x82, "localhost".getBytes(StandardCharsets.US_ASCII)),
              tlv(0x87, new byte[] {127, 0, 0, 1}),
              tlv(0x87, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
      byte[] extensions =
          seq(
              seq(oid(OID_SUBJECT_ALT_NAME), octetString(subjectAltName)),
              seq(oid(OID_EXT_KEY_USAGE), octetString(seq(oid(OID_SERVER_AUTH)))));
      byte[] tbs =
          seq(
              tlv(0xA0, integer(BigInteger.TWO)), // version v3
              integer(serial),
              signatureAlgorithm,
              name,
              validity,
              name,
              pair.getPublic().getEncoded(), // already a DER SubjectPublicKeyInfo
              tlv(0xA3, extensions));

      Signature signer = Signature.getInstance("SHA256withECDSA");
      signer.initSign(pair.getPrivate());
      signer.update(tbs);
      byte[] der = seq(tbs, signatureAlgorithm, bitString(signer.sign()));

      X509Certificate cert =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(der));
      return new Generated(pair.getPrivate(), cert);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a self-signed certificate: " + e, e);
    }
  }

  /** The certificate in PEM form. */
  public static String pem(X509Certificate cert) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot encode the certificate: " + e, e);
    }
  }

  // --- DER, just what a certificate needs ---

  private static byte[] tlv(int tag, byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 6);
    out.write(tag);
    int len = value.length;
    if (len < 0x80) {
      out.write(len);
    } else if (len < 0x100) {
      out.write(0x81);
      out.write(len);
    } else if (len < 0x10000) {
      out.write(0x82);
      out.write(len >>> 8);
      out.write(len);
    } else {
      out.write(0x83);
      out.write(len >>> 16);
      out.write(len >>> 8);
      out.write(len);
    }
    out.writeBytes(value);
    return out.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] seq(byte[]... parts) {
    return tlv(0x30, concat(parts));
  }

  private static byte[] set(byte[]... parts) {
    return tlv(0x31, concat(parts));
  }

  private static byte[] integer(BigInteger value) {
    return tlv(0x02, value.toByteArray());
  }

  private static byte[] octetString(byte[] value) {
    return tlv(0x04, value);
  }

  private static byte[] bitString(byte[] value) {
    return tlv(0x03, concat(new byte[] {0}, value));
  }

  private static byte[] utf8(String s) {
    return tlv(0x0C, s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] oid(String dotted) {
    String[] arcs = dotted.split("\\.", -1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(Integer.parseInt(arcs[0]) * 40 + Integer.parseInt(arcs[1]));
    for (int i = 2; i < arcs.length; i++) {
      long arc = Long.parseLong(arcs[i]);
      int groups = 1;
      for (long v = arc >>> 7; v != 0; v >>>= 7) {
        groups++;
      }
      for (int g = groups - 1; g >= 0; g--) {
        int b = (int) ((arc >>> (7 * g)) & 0x7F);
        out.write(g == 0 ? b : b | 0x80);
      }
    }
    return tlv(0x06, out.toByteArray());
  }

  /** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
  private static byte[] time(Instant t) {
    var utc = t.atZone(ZoneOffset.UTC);
    if (utc.getYear() < 2050) {
      return tlv(
          0x17,
          DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'", Locale.ROOT)
              .format(utc)
              .getBytes(StandardCharsets.US_ASCII));
    }
    return tlv(
        0x18,
        DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'", Locale.ROOT)
            .format(utc)
            .getBytes(StandardCharsets.US_ASCII));
  }

  private SelfSignedCertificates() {}
}
