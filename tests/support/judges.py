"""Independent judges: openssl, and the formats Android and Apple document."""

from __future__ import annotations

import base64
import plistlib
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any


def openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def openssl_pin(spki_der: bytes, alg: str = "sha256") -> str:
    """The pipeline users run today: ... | openssl dgst -binary | base64."""
    digest = openssl("dgst", f"-{alg}", "-binary", data=spki_der)
    return f"{alg}/" + base64.b64encode(digest).decode()


def openssl_key_pin(key: str, alg: str = "sha256") -> str:
    """The pin of a key file's public key as `openssl pkey -pubout` writes it."""
    return openssl_pin(openssl("pkey", "-in", key, "-pubout", "-outform", "der"), alg)


def openssl_fails(*args: str) -> bool:
    return subprocess.run(["openssl", *args], capture_output=True, check=False).returncode != 0


# From developer.android.com/privacy-and-security/security-config ("Configuration file
# format"): element -> (allowed attributes and values, allowed children, text allowed).
ANDROID_SCHEMA: dict[str, tuple[dict[str, set[str] | re.Pattern[str] | None], set[str], bool]] = {
    "network-security-config": ({}, {"base-config", "domain-config", "debug-overrides"}, False),
    "domain-config": (
        {"cleartextTrafficPermitted": {"true", "false"}},
        {"domain", "trust-anchors", "pin-set", "domain-config"},
        False,
    ),
    "domain": ({"includeSubdomains": {"true", "false"}}, set(), True),
    "pin-set": ({"expiration": None}, {"pin"}, False),
    "pin": ({"digest": {"SHA-256"}}, set(), True),
    "trust-anchors": ({}, {"certificates"}, False),
    # src: "system", "user", or a raw resource, whose names are [a-z0-9_] starting a letter.
    "certificates": (
        {"src": re.compile(r"system|user|@raw/[a-z][a-z0-9_]*"), "overridePins": {"true", "false"}},
        set(),
        False,
    ),
}


def check_android(text: str) -> ET.Element:
    """Raise AssertionError unless `text` follows Android's network-security-config format."""
    root = ET.fromstring(text)  # noqa: S314  # pinctl's own output, not untrusted input
    assert root.tag == "network-security-config"

    def walk(el: ET.Element) -> None:
        assert el.tag in ANDROID_SCHEMA, f"unknown element <{el.tag}>"
        attrs, children, has_text = ANDROID_SCHEMA[el.tag]
        for name, value in el.attrib.items():
            assert name in attrs, f"<{el.tag}> has no attribute {name}"
            allowed = attrs[name]
            if isinstance(allowed, re.Pattern):
                assert allowed.fullmatch(value), f"{el.tag}@{name}={value!r}"
            elif allowed is None:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), f"bad date {value!r}"
                date.fromisoformat(value)
            else:
                assert value in allowed, f"{el.tag}@{name}={value!r}"
        if not has_text:
            assert not (el.text or "").strip(), f"<{el.tag}> holds text"
        for child in el:
            assert child.tag in children, f"<{child.tag}> inside <{el.tag}>"
            walk(child)
        if el.tag == "domain-config":
            assert el.findall("domain"), "a domain-config needs at least one <domain>"
            assert len(el.findall("pin-set")) <= 1
        if el.tag == "pin":
            assert el.get("digest") == "SHA-256"
            assert len(base64.b64decode(el.text or "", validate=True)) == 32

    walk(root)
    return root


# From Apple's Information Property List reference, NSPinnedDomains.
IOS_DOMAIN_KEYS = {"NSIncludesSubdomains", "NSPinnedCAIdentities", "NSPinnedLeafIdentities"}


def check_ios(text: str) -> dict[str, Any]:
    """Raise AssertionError unless `text` is a plist of NSAppTransportSecurity > NSPinnedDomains."""
    doc = plistlib.loads(text.encode())
    assert set(doc) == {"NSAppTransportSecurity"}
    assert set(doc["NSAppTransportSecurity"]) == {"NSPinnedDomains"}
    domains = doc["NSAppTransportSecurity"]["NSPinnedDomains"]
    assert isinstance(domains, dict)
    assert domains
    for name, config in domains.items():
        assert isinstance(name, str)
        assert name
        assert set(config) <= IOS_DOMAIN_KEYS
        assert isinstance(config.get("NSIncludesSubdomains", False), bool)
        lists = [
            config[k] for k in ("NSPinnedCAIdentities", "NSPinnedLeafIdentities") if k in config
        ]
        assert lists, "a pinned domain needs NSPinnedCAIdentities or NSPinnedLeafIdentities"
        for identities in lists:
            assert isinstance(identities, list)
            assert identities
            for identity in identities:
                assert set(identity) == {"SPKI-SHA256-BASE64"}
                assert len(base64.b64decode(identity["SPKI-SHA256-BASE64"], validate=True)) == 32
    return domains


def openssl_starttls_pin(protocol: str, port: int, name: str = "localhost") -> str:
    """The pipeline users run today for a STARTTLS server's key:
    ``openssl s_client -starttls PROTO -connect ... | openssl x509 -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64``."""
    args = ["s_client", "-starttls", protocol, "-connect", f"127.0.0.1:{port}"]
    args += ["-servername", name]
    if protocol.startswith("xmpp"):
        args += ["-xmpphost", name]
    served = subprocess.run(
        ["openssl", *args], input=b"", capture_output=True, check=False, timeout=30
    ).stdout
    public = openssl("x509", "-pubkey", "-noout", data=served)
    return openssl_pin(openssl("pkey", "-pubin", "-outform", "der", data=public))


# -- Real clients as judges of a live server: OkHttp's CertificatePinner and curl ----------

OKHTTP_JARS = ("/usr/share/java/okhttp.jar", "/usr/share/java/okio.jar")

_OKHTTP_JUDGE = """\
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.CertificatePinner;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/** java Judge ROOTS.pem URL PIN...: OkHttp's verdict, with those roots and pins. */
public class Judge {
    public static void main(String[] args) throws Exception {
        KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
        roots.load(null, null);
        try (InputStream in = new FileInputStream(args[0])) {
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                roots.setCertificateEntry("ca" + i++, c);
            }
        }
        TrustManagerFactory tmf =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {trust}, null);
        CertificatePinner.Builder pins = new CertificatePinner.Builder();
        for (int i = 2; i < args.length; i++) pins.add("localhost", args[i]);
        OkHttpClient client = new OkHttpClient.Builder()
            .sslSocketFactory(tls.getSocketFactory(), trust)
            .certificatePinner(pins.build())
            .dns(host -> Collections.singletonList(InetAddress.getByName("127.0.0.1")))
            .connectTimeout(10, TimeUnit.SECONDS)
            .readTimeout(10, TimeUnit.SECONDS)
            .build();
        try (Response r = client.newCall(new Request.Builder().url(args[1]).build()).execute()) {
            System.out.println("CONNECTED");
        } catch (SSLPeerUnverifiedException e) {
            System.out.println("PINNING FAILED");
            System.exit(3);
        } catch (SSLHandshakeException e) {
            System.out.println("UNTRUSTED");
            System.exit(4);
        }
    }
}
"""


def okhttp_judge(directory: str) -> list[str]:
    """Compile the OkHttp judge into `directory`; the argv prefix that runs it."""
    import os

    source = os.path.join(directory, "Judge.java")
    with open(source, "w") as handle:
        handle.write(_OKHTTP_JUDGE)
    classpath = ":".join(OKHTTP_JARS)
    subprocess.run(
        ["javac", "-nowarn", "-cp", classpath, "-d", directory, source],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp",
            f"{directory}:{classpath}", "Judge"]  # fmt: skip


def okhttp_connects(judge: list[str], roots: str, port: int, pins: list[str]) -> str:
    """CONNECTED, PINNING FAILED or UNTRUSTED, as OkHttp decides for https://localhost:PORT/."""
    done = subprocess.run(
        [*judge, roots, f"https://localhost:{port}/", *pins],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    verdict = done.stdout.strip()
    assert verdict in ("CONNECTED", "PINNING FAILED", "UNTRUSTED"), done.stderr
    return verdict


def curl_connects(roots: str, port: int, pins: list[str]) -> str:
    """CONNECTED, PINNING FAILED (exit 90) or UNTRUSTED (exit 60), as curl decides."""
    pinned = ";".join(p.replace("sha256/", "sha256//", 1) for p in pins)
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "--max-time", "20", "--cacert", roots,
         "--pinnedpubkey", pinned, "--resolve", f"localhost:{port}:127.0.0.1",
         f"https://localhost:{port}/"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    verdicts = {0: "CONNECTED", 90: "PINNING FAILED", 60: "UNTRUSTED"}
    assert done.returncode in verdicts, (done.returncode, done.stderr)
    return verdicts[done.returncode]
