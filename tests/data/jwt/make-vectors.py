#!/usr/bin/env python3
"""make-vectors.py -- regenerate the JWT test vectors.

Only for regenerating them: tests/check_jwt.c and fuzz/fuzz_jwt.c use the
committed tests/data/jwt/vectors.h, and neither the build nor the tests
need Python.  This needs PyJWT and cryptography (Debian: python3-jwt
python3-cryptography); every run makes new keys, so every token changes.

Writes tests/data/jwt/vectors.h (public keys, an HMAC secret, tokens for
every algorithm, and tokens that must be refused) and the seeds of
fuzz/corpus/fuzz_jwt/ (a control octet, then a token).

    python3 tests/data/jwt/make-vectors.py     (a python3 that has both)
"""
import base64
import hashlib
import hmac
import json
import os

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature)

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..",
                                    ".."))
OUT = os.path.join(TOP, "tests", "data", "jwt", "vectors.h")
SEEDS = os.path.join(TOP, "fuzz", "corpus", "fuzz_jwt")

NOW = 1700000000
SECRET = b"kafkagate-jwt-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz!"
CLAIMS = {
    "key": "user-key",
    "iss": "https://issuer.example",
    "sub": "alice",
    "aud": ["kafkagate", "other"],
    "exp": NOW + 3600,
    "nbf": NOW - 60,
    "iat": NOW - 60,
}


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seg(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def hs256_raw(header, payload, secret):
    """A token signed with HMAC-SHA256 by hand (PyJWT refuses a PEM
    secret and the alg "none" with a signature)."""
    inp = seg(header) + "." + seg(payload)
    mac = hmac.new(secret, inp.encode(), hashlib.sha256).digest()
    return inp + "." + b64u(mac)


def c_string(s):
    out = []
    for line in s.splitlines(keepends=True):
        esc = line.replace("\\", "\\\\").replace('"', '\\"')
        esc = esc.replace("\n", "\\n")
        out.append('"%s"' % esc)
    return "\n    ".join(out)


def main():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_other = rsa.generate_private_key(public_exponent=65537,
                                         key_size=2048)
    rsa_small = rsa.generate_private_key(public_exponent=65537,
                                         key_size=1024)
    ec256 = ec.generate_private_key(ec.SECP256R1())
    ec384 = ec.generate_private_key(ec.SECP384R1())
    ec256k = ec.generate_private_key(ec.SECP256K1())

    keys = {
        "JWT_T_RSA_PEM": pem(rsa_key),
        "JWT_T_RSA_OTHER_PEM": pem(rsa_other),
        "JWT_T_RSA1024_PEM": pem(rsa_small),
        "JWT_T_EC256_PEM": pem(ec256),
        "JWT_T_EC384_PEM": pem(ec384),
        "JWT_T_EC256K1_PEM": pem(ec256k),
    }

    tokens = {}
    for alg in ("HS256", "HS384", "HS512"):
        tokens["JWT_T_" + alg] = jwt.encode(CLAIMS, SECRET, algorithm=alg)
    for alg in ("RS256", "RS384", "RS512"):
        tokens["JWT_T_" + alg] = jwt.encode(CLAIMS, rsa_key, algorithm=alg)
    tokens["JWT_T_ES256"] = jwt.encode(CLAIMS, ec256, algorithm="ES256")
    tokens["JWT_T_ES384"] = jwt.encode(CLAIMS, ec384, algorithm="ES384")
    # Signed by another RSA key: must not verify with JWT_T_RSA_PEM.
    tokens["JWT_T_RS256_OTHER"] = jwt.encode(CLAIMS, rsa_other,
                                             algorithm="RS256")

    # alg none, as PyJWT makes it (empty third segment), and with a
    # signature segment.
    tokens["JWT_T_NONE"] = jwt.encode(CLAIMS, None, algorithm="none")
    tokens["JWT_T_NONE_SIGNED"] = hs256_raw({"alg": "none", "typ": "JWT"},
                                            CLAIMS, SECRET)
    # Algorithm confusion: HS256 keyed with the RSA public key's PEM.
    tokens["JWT_T_CONFUSION"] = hs256_raw(
        {"alg": "HS256", "typ": "JWT"}, CLAIMS,
        keys["JWT_T_RSA_PEM"].encode())

    # ES256 with the DER signature some libraries send instead of R || S.
    inp = seg({"alg": "ES256", "typ": "JWT"}) + "." + seg(CLAIMS)
    der = ec256.sign(inp.encode(), ec.ECDSA(hashes.SHA256()))
    tokens["JWT_T_ES256_DER"] = inp + "." + b64u(der)
    # And R || S cut to 63 octets.
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    tokens["JWT_T_ES256_SHORT"] = inp + "." + b64u(raw[:63])
    # A P-256 signature in an ES384 header: right alg for no key here.
    tokens["JWT_T_ES384_AS_256"] = (
        seg({"alg": "ES384", "typ": "JWT"}) + "." + seg(CLAIMS) + "." +
        b64u(raw))

    # Dates: a window [NOW - 100, NOW + 100), a decimal exp, none at all.
    tokens["JWT_T_WINDOW"] = jwt.encode(
        {"key": "user-key", "exp": NOW + 100, "nbf": NOW - 100},
        SECRET, algorithm="HS256")
    tokens["JWT_T_EXP_DECIMAL"] = jwt.encode(
        {"key": "user-key", "exp": NOW + 100.75, "nbf": NOW - 0.25},
        SECRET, algorithm="HS256")
    tokens["JWT_T_NO_EXP"] = jwt.encode({"key": "user-key"}, SECRET,
                                        algorithm="HS256")
    tokens["JWT_T_NO_KEY"] = jwt.encode({"exp": NOW + 100}, SECRET,
                                        algorithm="HS256")
    tokens["JWT_T_AUD_STRING"] = jwt.encode(
        {"key": "user-key", "aud": "kafkagate", "iss": "other-issuer"},
        SECRET, algorithm="HS256")

    # PyJWT agrees that the valid ones are valid at NOW.
    for name in ("JWT_T_HS256", "JWT_T_RS256", "JWT_T_ES256",
                 "JWT_T_ES384"):
        alg = name[6:]
        k = {"H": SECRET, "R": rsa_key.public_key(),
             "E": (ec256 if alg == "ES256" else ec384).public_key()}[alg[0]]
        jwt.decode(tokens[name], k, algorithms=[alg], audience="kafkagate",
                   issuer="https://issuer.example",
                   options={"verify_exp": False, "verify_nbf": False})

    with open(OUT, "w") as f:
        f.write("/*\n * vectors.h -- JWT test vectors, generated by "
                "tests/data/jwt/make-vectors.py\n * (PyJWT %s): do not "
                "edit; run the script to regenerate them.\n */\n"
                % jwt.__version__)
        f.write("#ifndef TESTS_DATA_JWT_VECTORS_H\n"
                "#define TESTS_DATA_JWT_VECTORS_H\n\n")
        f.write("/* The time the tokens are made for. */\n"
                "#define JWT_T_NOW\t%d\n\n" % NOW)
        f.write("/* The HS* secret. */\n#define JWT_T_SECRET\t\"%s\"\n\n"
                % SECRET.decode())
        f.write("/* Public keys. */\n")
        for name, text in keys.items():
            f.write("static const char %s[] =\n    %s;\n" %
                    (name.lower(), c_string(text)))
        f.write("\n/* Tokens; claims of the valid ones: %s */\n"
                % json.dumps(CLAIMS, separators=(",", ":")).replace(
                    "*/", "* /"))
        for name, tok in tokens.items():
            f.write("static const char %s[] =\n    \"%s\";\n"
                    % (name.lower(), tok))
        f.write("\n#endif /* TESTS_DATA_JWT_VECTORS_H */\n")

    os.makedirs(SEEDS, exist_ok=True)
    seeds = {
        "hs256": tokens["JWT_T_HS256"],
        "rs256": tokens["JWT_T_RS256"],
        "es256": tokens["JWT_T_ES256"],
        "none": tokens["JWT_T_NONE"],
        "confusion": tokens["JWT_T_CONFUSION"],
        "window": tokens["JWT_T_WINDOW"],
        "exp_decimal": tokens["JWT_T_EXP_DECIMAL"],
        "crit": hs256_raw({"alg": "HS256", "crit": ["b64"], "b64": False},
                          {"key": "k"}, SECRET),
        "escapes": hs256_raw(
            {"alg": "HS256", "typ": "jwt"},
            {"key": "\u00e9\U0001F600\"\\/\b\f\n\r\t",
             "aud": ["a", "b", "c"], "x": [{"y": [1.5e3, -0, True, None]}]},
            SECRET),
    }
    # fuzz/fuzz_jwt.c reads a control octet first: 0x40 checks iss and
    # aud at JWT_T_NOW, 0x00 checks neither.
    for name, tok in seeds.items():
        ctl = b"\x40" if name in ("hs256", "rs256", "es256") else b"\x00"
        with open(os.path.join(SEEDS, name), "wb") as f:
            f.write(ctl + tok.encode())


if __name__ == "__main__":
    main()
