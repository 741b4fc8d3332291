package dev.llmpool.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * A private CA and two server certificates made by the openssl command line (as an operator would
 * make them): {@code server} for localhost, 127.0.0.1 and ::1, and {@code wrong} for another name.
 * Made once per run, in {@link Interop#WORK}.
 */
final class Certs {
  private Certs() {}

  static final Path DIR = Interop.WORK.resolve("certs");
  static final Path CA = DIR.resolve("ca.pem");
  static final Path SERVER = DIR.resolve("server.pem");
  static final Path SERVER_KEY = DIR.resolve("server.key");
  static final Path WRONG = DIR.resolve("wrong.pem");
  static final Path WRONG_KEY = DIR.resolve("wrong.key");

  private static boolean made;

  /** Makes the certificates (once); skips the calling test when openssl is missing. */
  static synchronized void make() {
    if (made) {
      return;
    }
    try {
      Files.createDirectories(DIR);
      openssl(
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          DIR.resolve("ca.key").toString(),
          "-out",
          CA.toString(),
          "-days",
          "3",
          "-subj",
          "/CN=llmpool interop CA");
      leaf("server", "DNS:localhost,IP:127.0.0.1,IP:::1");
      leaf("wrong", "DNS:wrong.example");
      made = true;
    } catch (IOException e) {
      Assumptions.abort("openssl is not usable (" + e.getMessage() + "): skipped");
    }
  }

  private static void leaf(String name, String san) throws IOException {
    Path ext = DIR.resolve(name + ".ext");
    Files.writeString(
        ext,
        "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        StandardCharsets.US_ASCII);
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        DIR.resolve(name + ".key").toString(),
        "-out",
        DIR.resolve(name + ".csr").toString(),
        "-subj",
        "/CN=" + name);
    openssl(
        "x509",
        "-req",
        "-in",
        DIR.resolve(name + ".csr").toString(),
        "-CA",
        CA.toString(),
        "-CAkey",
        DIR.resolve("ca.key").toString(),
        "-CAcreateserial",
        "-out",
        DIR.resolve(name + ".pem").toString(),
        "-days",
        "2",
        "-extfile",
        ext.toString());
  }

  private static void openssl(String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(DIR.resolve("openssl.log").toFile()))
            .start();
    try {
      if (p.waitFor() != 0) {
        throw new IOException("openssl " + args[0] + " failed; see " + DIR.resolve("openssl.log"));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
