"""Test the Digest answers against RFC 7616 and RFC 2617 and the challenge parser."""

import pytest

from custom_components.smart_community.protocols.isapi import IsapiAuthError
from custom_components.smart_community.protocols.isapi.digest import (
    Challenge,
    DigestAuth,
    parse_challenges,
    select_digest,
)

from .conftest import parse_digest_header

RFC7616_CHALLENGES = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", '
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def answer(
    challenge: Challenge, username: str, password: str, cnonce: str
) -> dict[str, str]:
    """Answer one challenge for GET /dir/index.html and split the header."""
    auth = DigestAuth(username, password, cnonce_factory=lambda: cnonce)
    auth.update(challenge)
    header = auth.authorization("GET", "/dir/index.html")
    assert header is not None
    assert header.startswith("Digest ")
    return parse_digest_header(header)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    """Reproduce the responses of RFC 7616 section 3.9.1."""
    challenge = next(
        c for c in parse_challenges(RFC7616_CHALLENGES) if c.algorithm == algorithm
    )
    params = answer(challenge, "Mufasa", "Circle of Life", RFC7616_CNONCE)
    assert params["response"] == expected
    assert params["nc"] == "00000001"
    assert params["qop"] == "auth"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert params["algorithm"] == algorithm
    assert params["uri"] == "/dir/index.html"


def test_rfc2617_example() -> None:
    """Reproduce the response of RFC 2617 section 3.5 (no algorithm named)."""
    [challenge] = parse_challenges(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    params = answer(challenge, "Mufasa", "Circle Of Life", "0a4f113b")
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert "algorithm" not in params


def test_select_prefers_sha256_and_ignores_basic() -> None:
    """Pick the strongest Digest challenge; Basic and unknown ones are never used."""
    challenges = parse_challenges(
        'Basic realm="x", Digest realm="x", nonce="a", algorithm=SHA-512-256, '
        + RFC7616_CHALLENGES
    )
    assert [c.scheme for c in challenges] == ["Basic", "Digest", "Digest", "Digest"]
    chosen = select_digest(challenges)
    assert chosen is not None
    assert chosen.algorithm == "SHA-256"
    assert select_digest(parse_challenges('Basic realm="DS-K1T"')) is None
    assert select_digest(parse_challenges('Digest realm="no nonce"')) is None


def test_parse_quirks() -> None:
    """Read escaped quotes, bare values, stray characters and upper-case stale."""
    [challenge] = parse_challenges(
        'Digest realm="a \\"quoted\\" realm" , nonce=abc ,, stale=TRUE, @ qop="auth"'
    )
    assert challenge.params["realm"] == 'a "quoted" realm'
    assert challenge.params["nonce"] == "abc"
    assert challenge.params["qop"] == "auth"
    assert challenge.stale
    assert challenge.is_digest
    assert parse_challenges("") == []
    # A parameter before any scheme is no Digest challenge.
    assert select_digest(parse_challenges('realm=x, nonce="n"')) is None


def test_md5_sess_and_nonce_count() -> None:
    """Count uses of a nonce, restart at a new one, and hash MD5-sess twice."""
    auth = DigestAuth("admin", "pw", cnonce_factory=lambda: "c0ffee")
    assert auth.authorization("GET", "/") is None
    [first] = parse_challenges(
        'Digest realm="r", nonce="n1", qop=auth, algorithm=MD5-sess'
    )
    auth.update(first)
    counts = [
        parse_digest_header(auth.authorization("GET", "/a") or "")["nc"]
        for _ in range(3)
    ]
    assert counts == ["00000001", "00000002", "00000003"]
    auth.update(first)  # the same nonce again keeps counting
    assert (
        parse_digest_header(auth.authorization("GET", "/a") or "")["nc"] == "00000004"
    )
    [second] = parse_challenges(
        'Digest realm="r", nonce="n2", qop=auth, algorithm=MD5-sess'
    )
    auth.update(second)
    params = parse_digest_header(auth.authorization("GET", "/a") or "")
    assert params["nc"] == "00000001"
    assert params["algorithm"] == "MD5-sess"
    auth.forget()
    assert auth.authorization("GET", "/a") is None


def test_no_qop_and_quoting() -> None:
    """Answer an RFC 2069 challenge without nc; quote odd usernames."""
    [challenge] = parse_challenges('Digest realm="r", nonce="n"')
    auth = DigestAuth('ad"min\\', "pw")
    auth.update(challenge)
    header = auth.authorization("GET", "/x?y=1")
    assert header is not None
    params = parse_digest_header(header)
    assert params["username"] == 'ad"min\\'
    assert "nc" not in params
    assert "cnonce" not in params
    assert "opaque" not in params
    # A random cnonce by default.
    [with_qop] = parse_challenges('Digest realm="r", nonce="n", qop="auth"')
    auth.update(with_qop)
    one = parse_digest_header(auth.authorization("GET", "/") or "")["cnonce"]
    two = parse_digest_header(auth.authorization("GET", "/") or "")["cnonce"]
    assert one != two
    assert len(one) == 32


def test_auth_int_only_is_refused() -> None:
    """Refuse a device that only accepts qop=auth-int."""
    [challenge] = parse_challenges('Digest realm="r", nonce="n", qop="auth-int"')
    auth = DigestAuth("admin", "pw")
    auth.update(challenge)
    with pytest.raises(IsapiAuthError, match="auth-int"):
        auth.authorization("GET", "/")


def test_password_not_in_repr() -> None:
    """Keep the password out of logs."""
    assert "secret" not in repr(DigestAuth("admin", "secret"))
