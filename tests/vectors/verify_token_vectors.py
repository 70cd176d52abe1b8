#!/usr/bin/env python3
"""An independent verifier for Mandate tokens, written from
docs/token-format.md alone (Python standard library only), run against
tests/vectors/token-v1.json.

It re-implements: strict canonical msgpack decoding, the envelope and
block field rules, key ids and token ids (BLAKE2b), the Ed25519 block
chain with its domain-separated inputs, chained and broker blocks (RFC
8032 verification, written out below), the carried-secret check, the
attenuation rules (among them: only broker blocks change holder or
task), the request check of section 7 for scopes without query
restrictions (all the vectors use), and proofs of possession.  Every
vector's verdict must match.

usage: verify_token_vectors.py tests/vectors/token-v1.json
"""
import base64
import hashlib
import json
import sys

# --------------------------------------------------------------- Ed25519
# RFC 8032 section 5.1, verification and public-key derivation only.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % P
    B = (y1 + x1) * (y2 + x2) % P
    C = 2 * t1 * t2 * D % P
    Dd = 2 * z1 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _equal(a, b):
    x1, y1, z1, _ = a
    x2, y2, z2, _ = b
    return (x1 * z2 - x2 * z1) % P == 0 and (y1 * z2 - y2 * z1) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


GY = 4 * pow(5, P - 2, P) % P
GX = _recover_x(GY, 0)
G = (GX, GY, 1, GX * GY % P)


def _compress(pt):
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return _compress(_mul(a, G))


def ed25519_verify(public, msg, sig):
    A = _decompress(public)
    R = _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if A is None or R is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(),
                       "little") % L
    return _equal(_mul(s, G), _add(R, _mul(k, A)))


# ------------------------------------------------------ canonical msgpack
class Reject(Exception):
    def __init__(self, code, block=-1):
        super().__init__(code)
        self.code, self.block = code, block


class Reader:
    def __init__(self, b, block=-1):
        self.b, self.i, self.block = b, 0, block

    def fail(self):
        raise Reject("MDT_EDECODE", self.block)

    def take(self, n):
        if self.i + n > len(self.b):
            self.fail()
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def be(self, n):
        return int.from_bytes(self.take(n), "big")

    def uint(self):
        t = self.take(1)[0]
        if t <= 0x7f:
            return t
        widths = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
        if t not in widths:
            self.fail()
        v = self.be(widths[t])
        need = 1 if v <= 0xff else 2 if v <= 0xffff else 4 if v < 2**32 else 8
        if v <= 0x7f or widths[t] != need:
            self.fail()
        return v

    def length(self, fixbase, fixmax, tags):
        t = self.take(1)[0]
        if fixbase <= t <= fixbase + fixmax and fixmax:
            return t - fixbase
        if t not in tags:
            self.fail()
        n = self.be(tags[t])
        short = [w for w, lim in ((1, 0xff), (2, 0xffff), (4, 2**32 - 1))
                 if n <= lim and w in tags.values()]
        if (fixmax and n <= fixmax) or tags[t] != short[0]:
            self.fail()
        return n

    def str(self):
        n = self.length(0xa0, 31, {0xd9: 1, 0xda: 2, 0xdb: 4})
        s = self.take(n).decode("utf-8")  # UnicodeDecodeError: invalid
        if n == 0 or any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in s):
            self.fail()
        return s

    def bin(self, exact=None):
        n = self.length(0, 0, {0xc4: 1, 0xc5: 2, 0xc6: 4})
        if exact is not None and n != exact:
            self.fail()
        return self.take(n)

    def array(self):
        return self.length(0x90, 15, {0xdc: 2, 0xdd: 4})

    def map_keys(self, allowed):
        n = self.length(0x80, 15, {0xde: 2, 0xdf: 4})
        prev = -1
        for _ in range(n):
            k = self.uint()
            if k <= prev or k not in allowed:
                self.fail()
            prev = k
            yield k

    def end(self):
        if self.i != len(self.b):
            self.fail()


# ---------------------------------------------------------------- tokens
FIELDS = {1: "version", 2: "key_id", 3: "task", 4: "parent_task",
          5: "issued_at", 6: "expires_at", 7: "holder", 8: "holder_key",
          9: "clinician", 10: "patient", 11: "purpose", 12: "scopes",
          13: "depth", 14: "audience", 15: "resource", 16: "next_key",
          17: "sealed", 18: "nonce", 19: "broker"}
B0_ONLY = {"version", "key_id", "parent_task", "clinician", "patient",
           "purpose"}
B0_REQUIRED = {"version", "key_id", "task", "issued_at", "expires_at",
               "holder", "holder_key", "clinician", "patient", "purpose",
               "scopes", "depth"}


def h(data, size, prefix):
    return hashlib.blake2b(prefix.encode() + b"\0" + data,
                           digest_size=size).digest()


def read_block(raw, index):
    r = Reader(raw, index)
    b = {}
    for k in r.map_keys(FIELDS):
        name = FIELDS[k]
        if name in ("version", "issued_at", "expires_at", "depth"):
            b[name] = r.uint()
        elif name in ("key_id", "nonce"):
            b[name] = r.bin(16)
        elif name in ("holder_key", "next_key"):
            b[name] = r.bin(32)
        elif name == "scopes":
            b[name] = [r.str() for _ in range(r.array())]
            if b[name] != sorted(set(b[name])):
                r.fail()
        elif name in ("sealed", "broker"):
            if r.take(1) != b"\xc3":
                r.fail()
            b[name] = True
        else:
            b[name] = r.str()
    r.end()
    if index == 0 and not B0_REQUIRED <= b.keys():
        r.fail()
    if index > 0 and B0_ONLY & b.keys():
        r.fail()
    if index == 0 and ("nonce" in b or "broker" in b):
        r.fail()
    if ("holder" in b) != ("holder_key" in b):
        r.fail()
    if ("next_key" in b) == ("sealed" in b):
        r.fail()
    if index == 0 and (b["version"] != 1 or b["expires_at"] <= b["issued_at"]):
        raise Reject("MDT_EVERSION" if b["version"] != 1 else "MDT_EDECODE", 0)
    return b


def decode(data):
    r = Reader(data)
    env, blocks = {}, []
    for k in r.map_keys({1, 2, 3}):
        if k == 1:
            env["version"] = r.uint()
            if env["version"] != 1:
                raise Reject("MDT_EVERSION")
        elif k == 2:
            for _ in range(r.array()):
                if r.array() != 2:
                    r.fail()
                blocks.append((r.bin(), r.bin(64)))
        else:
            env["proof"] = r.bin(32)
    r.end()
    if "version" not in env or not blocks:
        r.fail()
    parsed = [read_block(raw, i) for i, (raw, _) in enumerate(blocks)]
    for i, b in enumerate(parsed):
        if b.get("sealed") and i != len(parsed) - 1:
            raise Reject("MDT_ESEALED", i)
    if ("proof" in env) == bool(parsed[-1].get("sealed")):
        raise Reject("MDT_EDECODE", len(parsed) - 1)
    return {"blocks": blocks, "parsed": parsed, "proof": env.get("proof")}


def scope_contains(outer, inner):
    """Containment for unrestricted scopes: every inner scope is within
    one outer scope (same or narrower context, type, letters)."""
    rank = {"patient": 1, "user": 2, "system": 3}

    def within(i, o):
        (ic, it, ip), (oc, ot, op) = parse_scope(i), parse_scope(o)
        if (ic == "tool") != (oc == "tool"):
            return False
        if ic != "tool" and rank[ic] > rank[oc]:
            return False
        return (ot == "*" or ot == it) and set(ip) <= set(op)
    return all(any(within(i, o) for o in outer) for i in inner)


def parse_scope(s):
    ctx, rest = s.split("/", 1)
    typ, perms = rest.rsplit(".", 1)
    if "?" in perms:
        raise NotImplementedError("query restrictions are not covered here")
    return ctx, typ, perms


def verify(tok, root):
    p0 = tok["parsed"][0]
    if p0["key_id"] != h(root, 16, "mandate/key/v1/id"):
        raise Reject("MDT_EKEY", 0)
    prev, key = bytes(64), root
    for i, ((raw, sig), b) in enumerate(zip(tok["blocks"], tok["parsed"])):
        domain = b"mandate/token/v1/block\0"
        if b.get("broker"):
            domain, key = b"mandate/token/v1/broker-block\0", root
        msg = domain + i.to_bytes(4, "big") + prev + raw
        if not ed25519_verify(key, msg, sig):
            raise Reject("MDT_ESIG", i)
        prev, key = sig, b.get("next_key")
    if tok["proof"] is not None and \
            ed25519_public(tok["proof"]) != tok["parsed"][-1]["next_key"]:
        raise Reject("MDT_ECHAIN", len(tok["blocks"]) - 1)
    depth, last, aud = p0["depth"], p0["scopes"], p0.get("audience")
    for i, b in enumerate(tok["parsed"][1:], 1):
        if not b.get("broker") and ("holder" in b or "holder_key" in b):
            raise Reject("MDT_EHOLDER", i)
        if not b.get("broker") and ("task" in b or "parent_task" in b):
            raise Reject("MDT_ESCOPE", i)
        if "holder" in b and (depth == 0 or "depth" not in b):
            raise Reject("MDT_EDEPTH", i)
        if "depth" in b:
            if b["depth"] >= depth:
                raise Reject("MDT_EDEPTH", i)
            depth = b["depth"]
        if "scopes" in b:
            if not scope_contains(last, b["scopes"]):
                raise Reject("MDT_ESCOPE", i)
            last = b["scopes"]
        if "audience" in b:
            if aud is not None and aud != b["audience"]:
                raise Reject("MDT_EAUDIENCE", i)
            aud = b["audience"]


def effective(tok):
    e = {"audience": None, "resource": None, "exp": None, "exp_block": 0}
    for i, b in enumerate(tok["parsed"]):
        for k in ("holder", "holder_key"):
            if k in b:
                e[k] = b[k]
        if "expires_at" in b and (e["exp"] is None or b["expires_at"] < e["exp"]):
            e["exp"], e["exp_block"] = b["expires_at"], i
        for k in ("audience", "resource"):
            if e[k] is None and k in b:
                e[k] = b[k]
    e["sealed"] = bool(tok["parsed"][-1].get("sealed"))
    e["broker_last"] = bool(tok["parsed"][-1].get("broker"))
    return e


def matches(scopes, action, resource, req_patient, token_patient):
    typ = resource.split("/")[0].split("?")[0]
    for s in scopes:
        ctx, styp, perms = parse_scope(s)
        if ctx == "tool" or action not in perms:
            continue
        if styp != "*" and styp != typ:
            continue
        if ctx == "patient" and req_patient != token_patient:
            continue
        return True
    return False


def check(tok, d):
    e, now = effective(tok), d["now"]
    for i, b in enumerate(tok["parsed"]):
        if "issued_at" in b and now < b["issued_at"] - 60:
            return "MDT_EEXPIRED", i
    if now >= e["exp"]:
        return "MDT_EEXPIRED", e["exp_block"]
    if e["audience"] is not None and e["audience"] != d.get("audience"):
        return "MDT_EAUDIENCE", -1
    if d["single_action"] and (d.get("audience") is None or e["audience"] is None):
        return "MDT_EAUDIENCE", -1
    if d["single_action"] and (not e["sealed"] or e["resource"] is None):
        return "MDT_ESCOPE", -1
    if d["single_action"] and not e["broker_last"]:
        return "MDT_EHOLDER", len(tok["parsed"]) - 1
    patient = tok["parsed"][0]["patient"]
    if d["patient"] is not None and d["patient"] != patient:
        return "MDT_EPATIENT", 0
    for i, b in enumerate(tok["parsed"]):
        if "resource" in b and b["resource"] != d["resource"]:
            return "MDT_ESCOPE", i
    for i, b in enumerate(tok["parsed"]):
        if "scopes" in b and not matches(b["scopes"], d["action"],
                                         d["resource"], d["patient"], patient):
            return "MDT_ESCOPE", i
    return "OK", -1


def lp(s):
    b = (s or "").encode()
    return len(b).to_bytes(2, "big") + b


def main(path):
    v = json.load(open(path))
    keys = {n: bytes.fromhex(k["public"]) for n, k in v["keys"].items()}
    for n, k in v["keys"].items():
        assert ed25519_public(bytes.fromhex(k["seed"])) == keys[n], n
        assert h(keys[n], 16, "mandate/key/v1/id").hex() == k["key_id"], n
    root, tokens = keys["root"], {}
    for t in v["tokens"]:
        data = bytes.fromhex(t["bytes"])
        text = "mdt1." + base64.urlsafe_b64encode(data).decode().rstrip("=")
        assert text == t["text"], t["name"]
        assert h(data, 32, "mandate/token/v1/id").hex() == t["id"], t["name"]
        tok = decode(data)
        verify(tok, root)
        for (raw, sig), want in zip(tok["blocks"], t["blocks"]):
            assert raw.hex() == want["bytes"] and sig.hex() == want["signature"]
        tokens[t["name"]] = (tok, data)
    for d in v["decisions"]:
        got = check(tokens[d["token"]][0], d)
        assert got == (d["code"], d["block"]), (d, got)
    for r in v["rejections"]:
        try:
            tok = decode(bytes.fromhex(r["bytes"]))
            verify(tok, keys[r["root"]])
            got = ("OK", -1)
        except Reject as e:
            got = (e.code, e.block)
        assert got == (r["code"], r["block"]), (r["name"], got)
    pop = v["pop"]
    tok, data = tokens[pop["token"]]
    msg = (b"mandate/token/v1/pop\0" + h(data, 32, "mandate/token/v1/id") +
           lp(pop.get("audience")) + lp(pop["action"]) + lp(pop["resource"]) +
           lp(pop["nonce"]) + pop["time"].to_bytes(8, "big", signed=True))
    assert ed25519_verify(effective(tok)["holder_key"], msg,
                          bytes.fromhex(pop["signature"])), "pop"
    print("independent verifier: %d tokens, %d decisions, %d rejections and "
          "the proof of possession agree with %s" %
          (len(v["tokens"]), len(v["decisions"]), len(v["rejections"]), path))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/vectors/token-v1.json")
