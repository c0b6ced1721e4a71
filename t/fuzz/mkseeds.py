#!/usr/bin/env python3
"""Writes the seed corpora of t/fuzz/corpus/ (all but token's, which the
token harness writes itself with the module's encoder: see README.md).

    t/fuzz/mkseeds.py            from the repository's top directory

Existing seeds of the same names are overwritten; others are left alone.
"""

import os
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(TOP, "t", "fuzz", "corpus")


def write(name, seed, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# base32: RFC 4648 section 10, and what users type

B32 = {
    "rfc-empty": "",
    "rfc-f": "MY======",
    "rfc-fo": "MZXQ====",
    "rfc-foo": "MZXW6===",
    "rfc-foob": "MZXW6YQ=",
    "rfc-fooba": "MZXW6YTB",
    "rfc-foobar": "MZXW6YTBOI======",
    "unpadded": "MZXW6YTBOI",
    "lower-spaced": "mzxw 6ytb oi",
    "rfc6238-sha1": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "grouped-32": "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP "
                  "JBSW Y3DP EHPK 3PXP",
    "bad-trailing-bits": "MZ",
    "bad-length": "M",
    "bad-char": "M1======",
    "bad-pad": "MY=======",
    "data-after-pad": "MY==MY==",
}
for k, v in B32.items():
    write("base32", k, v)

# form bodies as the pages post them

CSRF = "Gm1Xq0nZ3kq2b7yP8sV5uWtR4eQ1aZ0cD9fH6jK3lMn"
FORMS = {
    "login": "user=alice&password=s3cret%21&csrf=@&next=%2Fadmin%2F",
    "login-plus": "user=alice+smith&password=a+b%2Bc&csrf=@&next=/",
    "login-utf8": "user=%C3%A9l%C3%A8ve&password=p%C3%A4ss&csrf=@&next=%2F",
    "verify": "code=123456&trust=1&csrf=@&next=%2Fapp%3Fx%3D1",
    "verify-notrust": "code=12345678&csrf=@&next=%2F",
    "enroll": "code=654321&trust=1&csrf=@&next=%2Fconsole%2F",
    "recovery": "code=abcd-efgh-ijkl&csrf=@&next=%2F",
    "reset": "code=000000&csrf=@",
    "logout": "csrf=@",
    "unknown-fields": "a=1&&b&user=bob&=x&password=&code",
    "empty": "",
    "repeated": "user=a&user=b",
    "bad-escape": "user=%zz",
    "bad-escape-name": "us%e=x",
    "short-escape": "password=abc%4",
    "escaped-name": "%75ser=alice&pass%77ord=pw",
}
FORMS = {k: v.replace("@", CSRF) for k, v in FORMS.items()}
for k, v in FORMS.items():
    write("form", k, v)

# next: as posted (decoded) and as in a query string (decoded here)

NEXT = {
    "root": "/",
    "path": "/admin/",
    "query": "/app/?a=1&b=%2F#frag",
    "deep": "/a/b/c/../d/./e",
    "scheme-relative": "//evil.example/",
    "backslash": "/\\evil.example/",
    "escaped-slash": "/%2Fevil.example",
    "escaped-backslash": "/%5cevil.example",
    "double-escaped": "/%252Fevil.example",
    "absolute": "http://evil.example/",
    "javascript": "javascript:alert(1)",
    "query-encoded": "%2F%2Fevil.example",
    "space": "/a b",
    "relative": "admin",
}
for k, v in NEXT.items():
    write("next", k, v)

# htpasswd: a user-length byte, the user, a byte that seeds the chunk
# sizes, then the file

HTPASSWD = (
    "# password \"secret\" in each format auth_basic reads\n"
    "plain:{PLAIN}secret\n"
    "sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
    "ssha:{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA==\n"
    "apr1:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0\n"
    "md5:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n"
    "sha256:$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA\n"
    "sha512:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5kn"
    "V8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n"
    "des:abNANd1rDfiNc\n"
    "comment:{PLAIN}secret:the comment field\n"
)
PW = {
    "alice-first": ("alice", "alice:{PLAIN}pw\nbob:{PLAIN}x\n"),
    "formats-apr1": ("apr1", HTPASSWD),
    "formats-sha512": ("sha512", HTPASSWD),
    "formats-des": ("des", HTPASSWD),
    "formats-comment": ("comment", HTPASSWD),
    "formats-missing": ("nobody", HTPASSWD),
    "crlf": ("bob", "alice:{PLAIN}a\r\nbob:{PLAIN}b\r\n"),
    "no-final-newline": ("bob", "alice:x\nbob:$apr1$x$y"),
    "prefix-user": ("ali", "alice:x\nali:y\n"),
    "commented-user": ("bob", "#bob:x\nbob:y\n"),
    "hash-user": ("#bob", "#bob:x\n"),
    "empty-lines": ("bob", "\n\n\nbob:z\n\n"),
    "twice": ("bob", "bob:first\nbob:second\n"),
    "empty-hash": ("bob", "bob:\n"),
    "no-colon": ("bob", "bob\nbob:x\n"),
    "long-line": ("bob", "bob:{PLAIN}" + "x" * 40 + "\nbob:y\n"),
    "long-other": ("bob", "alice:" + "$" * 40 + "\nbob:$y\n"),
    "long-comment": ("bob", "#" + "c" * 50 + "\nbob:z\r\n"),
}
for i, (k, (u, f)) in enumerate(PW.items()):
    write("password", k, bytes([len(u)]) + u.encode() + bytes([i])
          + f.encode("latin-1"))

# render: built-in templates (even first byte: number in sorted order)
# with hostile values, and every template as a fuzzed template (odd first
# byte, 2-byte length)

html = os.path.join(TOP, "html")
tpls = sorted(f for f in os.listdir(html) if f.endswith(".html"))
VALUES = [
    b"",
    b"x\0<script>alert(1)</script>\0\"'><img src=x onerror=alert(1)>\0&amp;",
    b"<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&"
    b"\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&\0<>\"'&",
    b"Sign in\0ACME\0/_totp/style.css\0<p>body</p>\0alice",
]
for i, t in enumerate(tpls):
    name = t[:-5]
    for j, v in enumerate(VALUES):
        write("render", "%s-values-%d" % (name, j), bytes([2 * i]) + v)
    with open(os.path.join(html, t), "rb") as f:
        body = f.read()
    write("render", "%s-template" % name,
          b"\x01" + struct.pack(">H", len(body)) + body + VALUES[1])
for k, v in {
    "tiny-sections": b"{{#a}}<{{b}}>{{/a}}{{^a}}'{{{b}}}'{{/a}}",
    "unclosed": b"{{#a}}{{b}",
    "mismatched": b"{{#a}}{{/b}}",
    "deep": b"{{#a}}" * 17 + b"{{/a}}" * 17,
    "braces": b"{{{{}}}{ {{}} {{a}}}",
}.items():
    write("render", "tpl-" + k,
          b"\x01" + struct.pack(">H", len(v)) + v + b"\0<'>\0\"")

# store: reply trees (see build_reply() in fuzz_store.c)


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return b"\x00" + bytes([len(b)]) + b


NIL = b"\x06"


def arr(*elems, n=None):
    count = 0x80 if n is None and len(elems) == 6 else (n if n is not None else len(elems))
    return b"\x09" + bytes([count]) + b"".join(elems)


def integer(v):
    return b"\x07" + struct.pack(">q", v)


EPOCH = "00112233445566778899aabbccddeeff"
SECRET = "AcVdY2m0r7Zp1QxWnK3bT9sLfH4gJ6eUoI8yR5tE2wC"
STORE = {
    "enrolled-sha1": arr(s(SECRET), s("sha1"), s("6"), s("30"), s(EPOCH), s("0")),
    "enrolled-sha256": arr(s(SECRET), s("SHA256"), s("8"), s("60"),
                           s(EPOCH.upper()), s("56666666")),
    "enrolled-sha512": arr(s(SECRET), s("sha512"), s("7"), s("3600"), s(EPOCH),
                           s("18446744073709551615")),
    "not-enrolled": arr(NIL, NIL, NIL, NIL, NIL, NIL),
    "half": arr(s(SECRET), NIL, s("6"), s("30"), s(EPOCH), s("0")),
    "bad-digits": arr(s(SECRET), s("sha1"), s("9"), s("30"), s(EPOCH), s("0")),
    "bad-period": arr(s(SECRET), s("sha1"), s("6"), s("0"), s(EPOCH), s("0")),
    "bad-epoch": arr(s(SECRET), s("sha1"), s("6"), s("30"), s(EPOCH[:-1] + "g"),
                     s("0")),
    "short-epoch": arr(s(SECRET), s("sha1"), s("6"), s("30"), s(EPOCH[:-2]),
                       s("0")),
    "last-overflow": arr(s(SECRET), s("sha1"), s("6"), s("30"), s(EPOCH),
                         s("18446744073709551616")),
    "integer-field": arr(s(SECRET), s("sha1"), integer(6), s("30"), s(EPOCH),
                         s("0")),
    "five": arr(NIL, NIL, NIL, NIL, NIL, n=5),
    "nested": arr(arr(s("a"), n=1), NIL, NIL, NIL, NIL, NIL),
    "error": b"\x08" + bytes([len("ERR wrong")]) + b"ERR wrong",
    "status": b"\x0a\x02OK",
    "nil": NIL,
    "null": b"\x10",
    "int-0": integer(0),
    "int-1": integer(1),
    "int-minus-1": integer(-1),
    "int-minus-2": integer(-2),
    "int-lockout": integer(900),
    "int-big": integer(10 * 365 * 86400 + 1),
    "pending": s("c2VhbGVkIHNlY3JldA") + b"\x02\x04" + b"3600",
    "pending-empty": s(""),
}
for k, v in STORE.items():
    write("store", k, v)

print("seeds written under", os.path.relpath(CORPUS, TOP), file=sys.stderr)
