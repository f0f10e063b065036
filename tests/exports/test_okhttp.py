"""The okhttp-java export, pasted unedited into a Java program and run against real OkHttp.

Each case compiles the exported statement inside a tiny client that trusts the test CA,
then connects to a loopback TLS server: the right pins connect, a wrong pin fails with
OkHttp's own SSLPeerUnverifiedException. All cases share one javac run (it is slow).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from pinctl.exports import EXPORTERS, ExportOptions
from pinctl.exports.okhttp import string_literal
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import Pin, compute
from tests.support.servers import server_context, tls_server
from tests.support.tools import missing, needs

TODAY = date(2025, 6, 1)
JARS = [Path("/usr/share/java/okhttp.jar"), Path("/usr/share/java/okio.jar")]
MISSING = [str(p) for p in JARS if not p.is_file()]

pytestmark = [
    needs("javac", "java"),
    pytest.mark.usefixtures("okhttp_jars"),
]


@pytest.fixture(scope="module")
def okhttp_jars() -> None:
    if MISSING:
        missing(f"OkHttp jars missing ({', '.join(MISSING)}): install libokhttp-java")


PROGRAM = """\
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

public class NAME {
    public static void main(String[] args) throws Exception {
        KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
        roots.load(null, null);
        try (InputStream in = new FileInputStream(args[0])) {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            roots.setCertificateEntry("ca", x509.generateCertificate(in));
        }
        String algorithm = TrustManagerFactory.getDefaultAlgorithm();
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(algorithm);
        tmf.init(roots);
        X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {trust}, null);

EXPORT
        OkHttpClient client = new OkHttpClient.Builder()
            .sslSocketFactory(tls.getSocketFactory(), trust)
            .certificatePinner(certificatePinner)
            .dns(host -> Collections.singletonList(InetAddress.getByName("127.0.0.1")))
            .connectTimeout(5, TimeUnit.SECONDS)
            .readTimeout(5, TimeUnit.SECONDS)
            .build();
        Request request = new Request.Builder().url(args[1]).build();
        try (Response response = client.newCall(request).execute()) {
            System.out.println("CONNECTED " + response.code() + " " + response.body().string());
        } catch (SSLPeerUnverifiedException e) {
            System.out.println("PINNING FAILED " + e.getMessage().split("\\n")[0]);
            System.exit(3);
        }
    }
}
"""


def spki(pem: bytes) -> Pin:
    return compute(spki_der(x509.load_pem_x509_certificate(pem).public_key()))


def java_export(*pins: PinEntry) -> str:
    pin_file = PinFile(Path("pins.toml"), hosts=(HostEntry("localhost", pins=pins),))
    return EXPORTERS["okhttp-java"](pin_file, (), ExportOptions(TODAY)).text


@pytest.fixture(scope="module")
def localhost(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost")


@pytest.fixture(scope="module")
def programs(
    ca: trustme.CA, localhost: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Compile one client per case, each holding that case's export verbatim."""
    leaf = spki(localhost.cert_chain_pems[0].bytes())
    root = spki(ca.cert_pem.bytes())
    cases = {
        "Exported": java_export(
            PinEntry(leaf, note="the server"), PinEntry(compute(b"spare"), backup=True)
        ),
        "RootPinned": java_export(
            PinEntry(root, level="root"), PinEntry(compute(b"spare"), backup=True)
        ),
        "WrongPin": java_export(PinEntry(compute(b"not the server's key"))),
    }
    directory = tmp_path_factory.mktemp("okhttp")
    (directory / "ca.pem").write_bytes(ca.cert_pem.bytes())
    sources = []
    for name, export in cases.items():
        source = directory / f"{name}.java"
        source.write_text(PROGRAM.replace("NAME", name).replace("EXPORT", export))
        sources.append(str(source))
    classpath = ":".join(str(p) for p in JARS)
    done = subprocess.run(
        ["javac", "-nowarn", "-cp", classpath, "-d", str(directory), *sources],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"javac rejected the export:\n{done.stderr}"
    return directory


@pytest.fixture(scope="module")
def port(localhost: trustme.LeafCert) -> Iterator[int]:
    with tls_server(server_context(localhost)) as server:
        yield server.port


def run_java(programs: Path, name: str, port: int) -> subprocess.CompletedProcess[str]:
    classpath = ":".join([str(programs), *(str(p) for p in JARS)])
    return subprocess.run(
        [
            "java",
            "-Xshare:auto",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            name,
            str(programs / "ca.pem"),
            f"https://localhost:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_okhttp_connects_with_the_exported_pins(programs: Path, port: int) -> None:
    """The exported CertificatePinner, pasted as is, lets OkHttp reach the server it pins."""
    done = run_java(programs, "Exported", port)
    assert (done.returncode, done.stdout.strip()) == (0, "CONNECTED 200 ok"), done.stderr


def test_okhttp_accepts_a_root_pin(programs: Path, port: int) -> None:
    """OkHttp checks every certificate of the cleaned chain, so a CA pin also connects."""
    done = run_java(programs, "RootPinned", port)
    assert (done.returncode, done.stdout.strip()) == (0, "CONNECTED 200 ok"), done.stderr


def test_okhttp_refuses_a_wrong_pin(programs: Path, port: int) -> None:
    """With a pin that is not the server's, OkHttp fails with SSLPeerUnverifiedException."""
    done = run_java(programs, "WrongPin", port)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "PINNING FAILED Certificate pinning failure!"


def test_hostile_text_compiles_as_inert_literals_and_comments(tmp_path: Path) -> None:
    """Quotes, backslashes, `\\u000a` and non-ASCII in a host or note cannot break the Java."""
    hostile = 'we"ird\\u0022\\host\u00e9'
    note = 'x */ \\u000a System.exit(1); "'
    pin_file = PinFile(
        Path("pins.toml"),
        hosts=(
            HostEntry(hostile, pins=(PinEntry(compute(b"a"), note=note), PinEntry(compute(b"b")))),
        ),
    )
    export = EXPORTERS["okhttp-java"](pin_file, (), ExportOptions(TODAY)).text
    source = tmp_path / "Hostile.java"
    source.write_text(
        "import okhttp3.CertificatePinner;\n"
        "public class Hostile {\n"
        "    public static void main(String[] args) {\n"
        f"        System.out.println({string_literal(hostile, kotlin=False)});\n"
        "        if (args.length > 0) {\n" + export + "        }\n    }\n}\n"
    )
    classpath = ":".join(str(p) for p in JARS)
    done = subprocess.run(
        ["javac", "-encoding", "UTF-8", "-cp", classpath, "-d", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ran = subprocess.run(
        ["java", "-Dstdout.encoding=UTF-8", "-cp", str(tmp_path), "Hostile"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (ran.returncode, ran.stdout) == (0, hostile + "\n"), ran.stderr
