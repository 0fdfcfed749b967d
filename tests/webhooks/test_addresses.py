"""Where a delivery may go (server-side request forgery): the rules for an endpoint's URL, the check
of every address a name resolves to at send time, and the connection made to the checked address.

Name resolution is the outside world here: a few tests give names their answers by replacing
``socket.getaddrinfo`` for those names only (everything else resolves as usual)."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.errors import ValidationFailed
from tests.webhooks.receiver import Receiver
from webhooks import addresses, sending
from webhooks.signing import SIGNATURE_HEADER

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """``dns["name"] = ["1.2.3.4", …]`` makes ``name`` resolve to those addresses."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]
            ]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = False


def refused_at_registration(url: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        addresses.endpoint_target(url)
    return caught.value.fields["url"][0]


# --- Registration ---------------------------------------------------------------------------------


def test_an_https_url_is_taken_apart(production):
    target = addresses.endpoint_target("https://Pos.Example.com/hooks/union?shop=7")
    assert (target.scheme, target.host, target.port, target.path, target.host_header) == (
        "https",
        "pos.example.com",
        443,
        "/hooks/union?shop=7",
        "pos.example.com",
    )
    assert addresses.endpoint_target("https://pos.example.com:8443").host_header == "pos.example.com:8443"
    assert addresses.endpoint_target("https://收银.例子.中国/h").host == "xn--wbvw67h.xn--fsqu00a.xn--fiqs8s"


@pytest.mark.parametrize(
    "url",
    [
        "http://pos.example.com/hooks",
        "http://127.0.0.1:8000/hooks",
        "http://localhost:8000/hooks",
        "ftp://pos.example.com/",
        "javascript:alert(1)",
        "https://",
        "pos.example.com/hooks",
    ],
)
def test_only_https_in_production(production, url):
    assert refused_at_registration(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hooks",
        "https://192.168.1.10/hooks",
        "https://172.16.0.1/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.100.100.200/latest/meta-data/",
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[fd00:ec2::254]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://[64:ff9b::a00:1]/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
        "https://localhost/hooks",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(production, url):
    assert refused_at_registration(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@pos.example.com/hooks",
        "https://pos.example.com/hooks#frag",
        "https://pos.example.com/ho oks",
        "https://pos.example.com:99999/",
        "https://pos.example.com/" + "x" * 500,
    ],
)
def test_malformed_urls_are_refused_with_a_message(production, url):
    assert refused_at_registration(url)


def test_loopback_http_only_where_allowed(settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = True
    for url in ("http://127.0.0.1:9000/h", "http://localhost:9000/h", "http://[::1]:9000/h"):
        assert addresses.endpoint_target(url).scheme == "http"
    # Loopback is allowed, the private network still is not, nor plain http to anywhere else.
    assert refused_at_registration("http://10.0.0.5:9000/h")
    assert refused_at_registration("https://10.0.0.5/h")
    assert refused_at_registration("http://pos.example.com/h")

    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
    settings.DEBUG = True  # development allows loopback too
    assert addresses.endpoint_target("http://127.0.0.1:9000/h").port == 9000


# --- Send time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        ["10.1.2.3"],
        ["169.254.169.254"],
        ["100.100.100.200"],
        ["127.0.0.1"],
        ["::1"],
        ["fe80::1"],
        ["93.184.216.34", "192.168.0.7"],  # one private address among public ones is enough
    ],
)
def test_a_name_resolving_to_a_forbidden_address_is_refused_at_send_time(production, dns, answer):
    dns["hooks.example.net"] = answer
    target = addresses.endpoint_target("https://hooks.example.net/h")  # fine when registered
    with pytest.raises(addresses.AddressRefused):
        addresses.resolve(target)


def test_a_public_name_resolves_to_its_addresses(production, dns):
    dns["hooks.example.net"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    target = addresses.endpoint_target("https://hooks.example.net/h")
    assert addresses.resolve(target) == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


def test_a_name_that_does_not_resolve_is_refused(production):
    target = addresses.endpoint_target("https://no-such-host.invalid/h")
    with pytest.raises(addresses.AddressRefused):
        addresses.resolve(target)


def test_a_refused_address_is_never_contacted(settings, dns):
    """The receiver listens on 127.0.0.1; with loopback not allowed, a name pointing there gets
    nothing, and the attempt says why."""
    with Receiver() as receiver:
        dns["rebind.example.net"] = ["127.0.0.1"]
        settings.DEBUG = False
        settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
        answer = sending.post(f"http://localhost:{receiver.port}/h", b"{}", {})
        answer_by_name = sending.post(f"https://rebind.example.net:{receiver.port}/h", b"{}", {})
        assert receiver.received() == []
    assert answer.status_code is None and answer.error
    assert answer_by_name.status_code is None and "拒绝" in answer_by_name.error


def test_the_request_goes_to_the_checked_address_with_the_name_in_the_host_header():
    """The name is resolved once, by the check; the connection is made to that address (the next one
    when it refuses: localhost may answer ::1 first), with the name in the Host header."""
    with Receiver() as receiver:
        answer = sending.post(
            f"http://localhost:{receiver.port}/first", b'{"a":1}', {SIGNATURE_HEADER: "t=1,v1=0"}
        )
        [request] = receiver.received()
    assert answer.status_code == 200 and answer.succeeded
    assert request.path == "/first" and request.body == b'{"a":1}'
    assert request.headers["Host"] == f"localhost:{receiver.port}"
    assert request.headers[SIGNATURE_HEADER] == "t=1,v1=0"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


# --- HTTPS ----------------------------------------------------------------------------------------


def _certificate_authority(tmp_path, name: str):
    """A CA and a server certificate for ``name`` signed by it; returns (ca_file, server context)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_checked_address(
    settings, dns, tmp_path
):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = True  # the test receiver is on this machine
    ca_file, context = _certificate_authority(tmp_path, "receiver.example.net")
    settings.WEBHOOK_CA_FILE = str(ca_file)
    dns["receiver.example.net"] = ["127.0.0.1"]
    dns["impostor.example.net"] = ["127.0.0.1"]
    with Receiver([204], tls_context=context) as receiver:
        good = sending.post(f"https://receiver.example.net:{receiver.port}/tls", b"{}", {})
        wrong_name = sending.post(f"https://impostor.example.net:{receiver.port}/tls", b"{}", {})
        seen = receiver.received()
    assert good.status_code == 204 and good.succeeded, good.error
    assert [r.headers["Host"] for r in seen] == [f"receiver.example.net:{receiver.port}"]
    assert wrong_name.status_code is None and "TLS" in wrong_name.error


def test_an_untrusted_certificate_is_refused(settings, dns, tmp_path):
    _ca_file, context = _certificate_authority(tmp_path, "receiver.example.net")
    settings.WEBHOOK_CA_FILE = ""  # the system's CAs do not know this one
    dns["receiver.example.net"] = ["127.0.0.1"]
    with Receiver([200], tls_context=context) as receiver:
        answer = sending.post(f"https://receiver.example.net:{receiver.port}/tls", b"{}", {})
        assert receiver.received() == []
    assert answer.status_code is None and "TLS" in answer.error
