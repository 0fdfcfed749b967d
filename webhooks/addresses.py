"""Where a delivery may go: the rules for an endpoint's URL and for the addresses it resolves to.

An endpoint is an ``https://`` URL. Plain ``http://`` is accepted only for a receiver on this very
machine (``127.0.0.1``, ``::1`` or ``localhost``) and only where loopback is allowed: in development
(``DEBUG``) or with ``WEBHOOKS_ALLOW_LOOPBACK_HTTP``.

A merchant must not be able to make the portal call into the network it runs in (server-side request
forgery): the database, Redis, a cloud's metadata service (169.254.169.254, 100.100.100.200), an
admin page on a private address. So the host is resolved **at send time**, every time — a name that
pointed at a public address when the endpoint was registered may point elsewhere now — and if any
of its addresses is not a public unicast address, nothing is sent. The connection is then made to
the address that was checked (``webhooks.sending``), never to the name again, so a second lookup
cannot answer differently ("DNS rebinding"). Loopback addresses are let through only where loopback
is allowed; private, link-local, shared (CGNAT), reserved and multicast addresses never are."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from portal.errors import ValidationFailed

URL_MAX = 500
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# IPv6 prefixes that carry an IPv4 address inside: the IPv4 address is what gets reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The endpoint's host cannot be sent to now (it resolves to a forbidden address, or not at all)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA) host name or address, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    host_header: str


def loopback_allowed() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP)


def _url_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"url": [message]})


def endpoint_target(url: str) -> Target:
    """The parts of an endpoint URL, or ValidationFailed (field ``url``) saying what is wrong. Checks
    the form of the URL and, when the host is written as an address, that address; a host name is
    checked when a delivery resolves it (:func:`resolve`)."""
    if not url or len(url) > URL_MAX or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _url_error(_("请填写不超过 %(max)s 个字符、不含空格的地址。") % {"max": URL_MAX})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _url_error(_("地址格式不正确。")) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("https", "http") or not host:
        raise _url_error(_("地址须以 https:// 开头。"))
    if parts.username is not None or parts.password is not None:
        raise _url_error(_("地址中不能包含用户名或密码，请用签名验证请求。"))
    if parts.fragment:
        raise _url_error(_("地址中不能包含“#”片段。"))
    loopback_host = host in LOOPBACK_HOSTS
    if scheme == "http" and not (loopback_host and loopback_allowed()):
        raise _url_error(_("地址须以 https:// 开头。"))
    if loopback_host and not loopback_allowed():
        raise _url_error(_("不能推送到本机地址。"))
    try:
        ascii_host = host.encode("idna").decode("ascii") if not _is_address(host) else host
    except UnicodeError:
        raise _url_error(_("地址中的域名无效。")) from None
    if _is_address(host) and not address_allowed(ipaddress.ip_address(host)):
        raise _url_error(_("不能推送到内网、本机或保留地址。"))
    port = port or (443 if scheme == "https" else 80)
    default_port = port == (443 if scheme == "https" else 80)
    bracketed = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    return Target(
        scheme=scheme,
        host=ascii_host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=bracketed if default_port else f"{bracketed}:{port}",
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """The IPv4 address an IPv6 address really reaches when it embeds one (mapped, NAT64, 6to4,
    Teredo), else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A public unicast address; a loopback address too where loopback is allowed."""
    ip = _reached(ip)
    if ip.is_loopback:
        return loopback_allowed()
    return ip.is_global and not ip.is_multicast


def resolve(target: Target) -> list[str]:
    """The addresses to connect to for ``target``, in the resolver's order; AddressRefused when the
    host does not resolve or when any of its addresses is not allowed (a name with one private
    address among public ones is refused whole: which one a client picks is not ours to know)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise AddressRefused(_("域名无法解析")) from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) names no other host
        if not address_allowed(ipaddress.ip_address(address)):
            raise AddressRefused(_("域名解析到内网、本机或保留地址，已拒绝推送"))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(_("域名无法解析"))
    return addresses
