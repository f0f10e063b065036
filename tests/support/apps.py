"""Real clients as judges: the OkHttp jar (Debian's libokhttp-java) and curl, run against a
loopback server with exactly the pins pinctl's exports write, to say whether they connect
or fail on the pin. `pinctl verify --as` must agree with them (tests/exports)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Literal

import pytest

JARS = [Path("/usr/share/java/okhttp.jar"), Path("/usr/share/java/okio.jar")]
CURL_PIN_MISMATCH = 90
"""CURLE_SSL_PINNEDPUBKEYNOTMATCH."""

Outcome = Literal["connects", "pin-failure"]


def okhttp_missing() -> str | None:
    """Why the OkHttp judge cannot run here, or None."""
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            return f"{tool} (a JDK) is not installed"
    missing = [str(p) for p in JARS if not p.is_file()]
    return (
        f"OkHttp jars missing ({', '.join(missing)}): install libokhttp-java" if missing else None
    )


needs_okhttp = pytest.mark.skipif(bool(okhttp_missing()), reason=okhttp_missing() or "")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

JUDGE = """\
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.CertificatePinner;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/** Judge CA-FILE URL PATTERN PIN...: OkHttp with these pins for PATTERN, trusting CA-FILE. */
public class Judge {
    public static void main(String[] args) throws Exception {
        KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
        roots.load(null, null);
        try (InputStream in = new FileInputStream(args[0])) {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            roots.setCertificateEntry("ca", x509.generateCertificate(in));
        }
        TrustManagerFactory tmf =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {trust}, null);
        CertificatePinner.Builder pins = new CertificatePinner.Builder();
        for (int i = 3; i < args.length; i++) {
            pins.add(args[2], args[i]);
        }
        OkHttpClient client = new OkHttpClient.Builder()
            .sslSocketFactory(tls.getSocketFactory(), trust)
            .certificatePinner(pins.build())
            .dns(host -> Collections.singletonList(InetAddress.getByName("127.0.0.1")))
            .connectTimeout(5, TimeUnit.SECONDS)
            .readTimeout(5, TimeUnit.SECONDS)
            .build();
        Request request = new Request.Builder().url(args[1]).build();
        try (Response response = client.newCall(request).execute()) {
            System.out.println("CONNECTED " + response.code());
        } catch (SSLPeerUnverifiedException e) {
            System.out.println("PINNING FAILED " + e.getMessage().split("\\\\n")[0]);
            System.exit(3);
        }
    }
}
"""


class OkHttp:
    """The compiled judge; one javac run serves every case (javac is slow)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        source = directory / "Judge.java"
        source.write_text(JUDGE)
        done = subprocess.run(
            [
                "javac",
                "-nowarn",
                "-cp",
                ":".join(map(str, JARS)),
                "-d",
                str(directory),
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def judge(self, ca: Path, url: str, export: str) -> Outcome:
        """Connect with the pins of an `okhttp-java` export, as its `.add()` lines give them."""
        added = re.findall(r'\.add\("([^"]*)", "(sha256/[^"]+)"\)', export)
        assert added, export
        patterns = {pattern for pattern, _ in added}
        assert len(patterns) == 1, patterns
        classpath = ":".join([str(self.directory), *map(str, JARS)])
        java = ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, "Judge"]
        done = subprocess.run(
            [*java, str(ca), url, patterns.pop(), *(pin for _, pin in added)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0 and done.stdout.startswith("CONNECTED 200"):
            return "connects"
        assert (done.returncode, done.stdout.split(" ")[:2]) == (3, ["PINNING", "FAILED"]), (
            done.stdout + done.stderr
        )
        return "pin-failure"


def curl(ca: Path, url: str, pinned: str) -> Outcome:
    """`curl --pinnedpubkey VALUE`: exit 0 connects, exit 90 is the pin failure."""
    command = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--cacert", str(ca)]
    done = subprocess.run(
        [*command, "--pinnedpubkey", pinned.strip(), url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode == 0:
        return "connects"
    assert done.returncode == CURL_PIN_MISMATCH, done.stderr
    return "pin-failure"
