"""Server-side request forgery: the forum URL rule (INTERFACE.md, `forum add` and
MENTORSHIP_ALLOWED_INTERNAL_HOSTS), when a URL is entered and again on every connection."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.serving import make_server

from plugin.cli import run
from plugin.config import ConfigError, load_config
from plugin.discourse.client import DiscourseClient
from plugin.engine.adapter import ForumError, ForumRejected, ForumUnavailable
from plugin.engine.clock import Clock
from plugin.forums.connections import adapter_factory
from plugin.netguard import Refused, check_url, guarded_session
from plugin.storage.db import get_engine, reading, transaction
from plugin.storage.models import Forum
from plugin.zulip.client import ZulipClient
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.server import served
from tests.helpers import LOOPBACK, SECRET
from tests.web.admin.support import csrf, set_connect_secret, sign_in

SETTING = "MENTORSHIP_ALLOWED_INTERNAL_HOSTS"
PUBLIC = "93.184.215.14"  # a global address (documentation ranges are not global)
USER = {"id": 42, "user_id": 42, "username": "maya", "email": "maya@example.com"}
ANSWER = json.dumps({"result": "success", "user": USER}).encode()  # both clients' get_user


# ----- helpers --------------------------------------------------------------------------------


class Trap:
    """Listening ports on 127.0.0.1 and ::1 that tell whether anything connected."""

    def __init__(self) -> None:
        self.v4 = socket.create_server(("127.0.0.1", 0))
        self.v6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
        self.port, self.port6 = self.v4.getsockname()[1], self.v6.getsockname()[1]

    def touched(self) -> bool:
        """Whether a connection reached either port (it waits in the backlog if so)."""
        for sock in (self.v4, self.v6):
            sock.setblocking(False)
            try:
                sock.accept()[0].close()
                return True
            except BlockingIOError:
                continue
        return False

    def close(self) -> None:
        self.v4.close()
        self.v6.close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    trap = Trap()
    yield trap
    trap.close()


class FakeDNS:
    """socket.getaddrinfo with made-up answers for some names; a name's answers come in turn."""

    def __init__(self, real: Callable) -> None:
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def point(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.asked.append(host)
        answers = self.answers[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def mentorship(tmp_path, monkeypatch, capsys):
    """Run `mentorship ARGV` in-process on a fresh SQLite file: (exit code, stdout, stderr)."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("MENTORSHIP_DATABASE_URL", url)
    monkeypatch.setenv("MENTORSHIP_BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.delenv("MENTORSHIP_SECRET_KEY", raising=False)
    monkeypatch.delenv(SETTING, raising=False)

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield call
    get_engine(url).dispose()


def forum_add(url: str) -> tuple[str, ...]:
    return (
        *("forum", "add", "--kind", "discourse", "--name", "forum", "--url", url),
        *("--api-key", "test-key", "--api-username", "mentor_bot", "--webhook-secret", SECRET),
    )


def assert_refused(mentorship, url: str, *needles: str) -> None:
    """`forum add URL` is exit 2 with one line naming the setting, and nothing is stored."""
    code, out, err = mentorship(*forum_add(url))
    assert code == 2 and out == "", (code, out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for needle in (SETTING, *needles):
        assert needle in err, err
    assert json.loads(mentorship("forum", "list", "--json")[1]) == {"forums": []}


def client_of(kind: str, url: str, allowed: frozenset[str]):
    if kind == "discourse":
        return DiscourseClient(url, "test-key", "mentor_bot", allowed_hosts=allowed)
    return ZulipClient(url, "bot@example.com", "test-key", allowed_hosts=allowed)


def answering(seen: list, status: str = "200 OK", headers: tuple = (), body=(ANSWER,)):
    """A WSGI app that records each request's environ and answers `body`."""

    def app(environ, start_response):
        seen.append(environ)
        start_response(status, [("Content-Type", "application/json"), *headers])
        return body() if callable(body) else body

    return app


# ----- forum add ------------------------------------------------------------------------------


def test_forum_add_refuses_cloud_metadata_address(mentorship):
    assert_refused(mentorship, "https://169.254.169.254", "169.254.169.254", "link-local")
    assert_refused(mentorship, "http://169.254.169.254/latest/meta-data")


def test_forum_add_refuses_decimal_ip(mentorship, trap):
    assert_refused(mentorship, f"https://2130706433:{trap.port}", "127.0.0.1", "loopback")
    assert_refused(mentorship, f"http://2130706433:{trap.port}/", "http://")
    assert not trap.touched()


def test_forum_add_refuses_hex_ip(mentorship, trap):
    assert_refused(mentorship, f"https://0x7f000001:{trap.port}", "127.0.0.1", "loopback")
    assert_refused(mentorship, f"https://0x7f.0.0.1:{trap.port}", "127.0.0.1")
    assert not trap.touched()


def test_forum_add_refuses_localhost(mentorship, trap):
    assert_refused(mentorship, f"https://localhost:{trap.port}", "localhost", "loopback")
    assert_refused(mentorship, f"https://127.0.0.1:{trap.port}", "loopback")
    assert not trap.touched()


def test_forum_add_refuses_ipv6_loopback_and_mapped(mentorship, trap):
    assert_refused(mentorship, f"https://[::1]:{trap.port6}", "::1", "loopback")
    assert_refused(mentorship, f"https://[::ffff:127.0.0.1]:{trap.port}", "loopback")
    assert_refused(mentorship, f"https://[::ffff:7f00:1]:{trap.port}", "loopback")
    assert not trap.touched()


def test_http_forum_url_needs_allowed_internal_hosts(mentorship, dns, monkeypatch):
    dns.point("forum.example.com", PUBLIC)
    assert_refused(mentorship, "http://forum.example.com", "http://", "https://")
    monkeypatch.setenv(SETTING, "localhost")  # as written: 127.0.0.1 is another host
    assert_refused(mentorship, "http://127.0.0.1:9", "http://")


def test_allowed_internal_host_is_accepted(mentorship, monkeypatch):
    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    with fake.serve() as url:
        monkeypatch.setenv(SETTING, "forum.internal, 127.0.0.1")
        code, out, err = mentorship(*forum_add(url), "--json")
    assert code == 0, err
    forums = json.loads(mentorship("forum", "list", "--json")[1])["forums"]
    assert [f["url"] for f in forums] == [url]


def test_public_https_forum_url_is_accepted(mentorship, dns):
    dns.point("forum.example.com", PUBLIC)
    # --no-check: nothing answers at PUBLIC; the URL rule is what is under test.
    code, _, err = mentorship(*forum_add("https://forum.example.com/"), "--no-check")
    assert code == 0, err


def test_a_url_that_parsers_read_differently_is_refused():
    for url in (
        "https://forum.example.com@127.0.0.1/",
        "https://127.0.0.1\\@forum.example.com/",
        "https://forum.example.com\t.evil/",
        "https://fórum.example.com/",
    ):
        with pytest.raises(Refused):
            check_url(url, frozenset())


# ----- spellings of internal addresses --------------------------------------------------------

INTERNAL_V4 = st.one_of(
    st.integers(0x7F000000, 0x7FFFFFFF),  # 127.0.0.0/8 loopback
    st.integers(0x0A000000, 0x0AFFFFFF),  # 10.0.0.0/8
    st.integers(0xAC100000, 0xAC1FFFFF),  # 172.16.0.0/12
    st.integers(0xC0A80000, 0xC0A8FFFF),  # 192.168.0.0/16
    st.integers(0xA9FE0000, 0xA9FEFFFF),  # 169.254.0.0/16, cloud metadata among them
    st.integers(0x64400000, 0x647FFFFF),  # 100.64.0.0/10, carrier-grade NAT
    st.integers(0x00000000, 0x00FFFFFF),  # 0.0.0.0/8, which reaches this host
    st.integers(0xE0000000, 0xEFFFFFFF),  # 224.0.0.0/4 multicast
)


def _octets(n: int) -> list[int]:
    return [n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]


SPELLINGS: list[Callable[[int], str]] = [
    lambda n: ".".join(map(str, _octets(n))),
    str,  # decimal: 2130706433
    hex,  # 0x7f000001
    lambda n: ".".join(f"0{o:o}" for o in _octets(n)),  # octal: 0177.0.0.01
    lambda n: ".".join(hex(o) for o in _octets(n)),  # 0x7f.0x0.0x0.0x1
    lambda n: f"{n >> 24}.{n & 0xFFFFFF}",  # 127.1
    lambda n: "[::ffff:" + ".".join(map(str, _octets(n))) + "]",  # IPv4-mapped IPv6
    lambda n: f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]",
    lambda n: f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",  # 6to4 carries an IPv4 address
    lambda n: f"[64:ff9b::{n >> 16:x}:{n & 0xFFFF:x}]",  # NAT64 well-known prefix
]


@settings(max_examples=300, deadline=None)
@given(INTERNAL_V4, st.sampled_from(SPELLINGS))
def test_every_spelling_of_an_internal_ipv4_address_is_refused(number, spell):
    with pytest.raises(Refused, match=SETTING):
        check_url(f"https://{spell(number)}/", frozenset())


@pytest.mark.parametrize(
    "host", ["[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]", "[::7f00:1]"]
)
def test_internal_ipv6_addresses_are_refused(host):
    with pytest.raises(Refused, match=SETTING):
        check_url(f"https://{host}/", frozenset())


# ----- the settings page ----------------------------------------------------------------------


def test_settings_page_refuses_internal_url(client, sessions, forum):
    set_connect_secret(sessions, forum.id)
    sign_in(client, "alice", admin=True)
    page = "/admin/forum/settings"
    for url in ("https://169.254.169.254", "https://0x7f000001", "http://forum.example.com"):
        form = {
            "csrf_token": csrf(client, page),
            "url": url,
            "api_username": "mentor_bot",
            "request_budget_per_minute": "55",
        }
        response = client.post(page, data=form)
        assert response.status_code == 400 and SETTING in response.get_data(as_text=True)
    with reading(sessions) as db:
        assert db.execute(select(Forum.url)).scalar_one() == "http://127.0.0.1:9"


# ----- at connection time ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_client_refuses_when_dns_now_points_inside(kind, dns, trap):
    url = f"https://forum.example.com:{trap.port}"
    dns.point("forum.example.com", PUBLIC, "127.0.0.1")  # public when added, then inside
    check_url(url, frozenset())
    with pytest.raises(ForumUnavailable) as caught:
        client_of(kind, url, frozenset()).get_user("maya")
    assert SETTING in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert not trap.touched()


@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_client_connects_to_the_checked_address(kind, dns):
    seen: list[dict] = []
    with served(answering(seen)) as base:
        port = base.rsplit(":", 1)[1]
        # The name's next answer would lead elsewhere: only the checked answer may be used.
        dns.point("forum.internal", "127.0.0.1", "10.255.255.1")
        user = client_of(kind, f"http://forum.internal:{port}", frozenset({"forum.internal"}))
        assert user.get_user("maya").id == 42
    assert dns.asked == ["forum.internal"]
    assert [environ["HTTP_HOST"] for environ in seen] == [f"forum.internal:{port}"]


def test_a_forum_row_changed_behind_our_back_is_not_called(sessions, forum, config, trap):
    with transaction(sessions) as db:
        db.get(Forum, forum.id).url = f"https://0x7f000001:{trap.port}"  # 127.0.0.1 is listed
    adapter_for = adapter_factory(sessions, Clock(), allowed_hosts=config.allowed_internal_hosts)
    with pytest.raises(ForumUnavailable, match=SETTING):
        adapter_for(forum.id).get_user("maya")
    assert not trap.touched()


def _certificate(tmp_path: Path, name: str) -> tuple[str, str]:
    """A self-signed certificate for `name` only (no IP address in it): (cert, key)."""
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)]
        + ["-addext", f"subjectAltName=DNS:{name}", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_to_the_checked_address_verifies_the_certificate_for_the_host_name(tmp_path, dns):
    cert, key = _certificate(tmp_path, "forum.internal")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = make_server("127.0.0.1", 0, answering([]), threaded=True, ssl_context=context)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        dns.point("forum.internal", "127.0.0.1")
        dns.point("other.internal", "127.0.0.1")
        session = guarded_session(frozenset({"forum.internal", "other.internal"}))
        answer = session.get(f"https://forum.internal:{server.port}/", verify=cert, timeout=5)
        assert answer.status_code == 200 and names == ["forum.internal"]
        with pytest.raises(requests.exceptions.SSLError):  # the certificate names another host
            session.get(f"https://other.internal:{server.port}/", verify=cert, timeout=5)
    finally:
        server.shutdown()
        server.server_close()


# ----- what a forum may answer ----------------------------------------------------------------


def _endless() -> Iterator[bytes]:
    """A body without Content-Length far beyond any cap (bounded, so a failure cannot hang)."""
    yield b'{"result": "success", "padding": "'
    for _ in range(40 * 16):  # 40 MiB
        yield b"x" * 65536
    yield b'"}'


@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_forum_answer_over_size_cap_is_refused(kind):
    with served(answering([], body=_endless)) as base:
        with pytest.raises(ForumUnavailable, match="cap"):
            client_of(kind, base, LOOPBACK).get_user("maya")
        declared = answering([], headers=(("Content-Length", str(2**40)),), body=(b"{}",))
    with served(declared) as base:
        with pytest.raises(ForumUnavailable, match="cap"):
            client_of(kind, base, LOOPBACK).get_user("maya")


@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_redirects_are_not_followed(kind):
    elsewhere: list[dict] = []
    with served(answering(elsewhere)) as other:
        moved = answering([], "302 Found", (("Location", f"{other}/api/v1/users/maya"),))
        with served(moved) as base:
            with pytest.raises(ForumRejected) as caught:
                client_of(kind, base, LOOPBACK).get_user("maya")
            # Not even when a caller of the guarded session asks for it.
            asked = guarded_session(LOOPBACK).get(base, allow_redirects=True, timeout=5)
    assert isinstance(caught.value, ForumError) and caught.value.status == 302
    assert asked.status_code == 302 and elsewhere == []


# ----- configuration --------------------------------------------------------------------------


def test_allowed_internal_hosts_are_read_from_the_environment():
    env = {"MENTORSHIP_DATABASE_URL": "sqlite://"}
    assert load_config(env).allowed_internal_hosts == frozenset()
    env[SETTING] = " Forum.Internal ,127.0.0.1,[::1],"
    allowed = load_config(env).allowed_internal_hosts
    assert allowed == {"forum.internal", "127.0.0.1", "::1"}
    for wrong in ("127.0.0.1:8000", "http://forum.internal", "forum.internal/x"):
        with pytest.raises(ConfigError, match=SETTING):
            load_config(env | {SETTING: wrong})
