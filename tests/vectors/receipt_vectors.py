#!/usr/bin/env python3
"""Receipt test vectors (docs/token-format.md section 13), written from the
document alone with the Python standard library: RFC 9162 tree hashes and
inclusion proofs computed by the recursive definitions (MTH and PATH of
RFC 9162 section 2.1), the head encoding, Ed25519 signatures (RFC 8032,
from verify_token_vectors.py) and the receipt encoding.

  receipt_vectors.py gen  tests/vectors/receipt-v1.json   writes the vectors
  receipt_vectors.py check tests/vectors/receipt-v1.json  verifies them:
      every root and proof is recomputed, every receipt decoded and
      verified (its path by RFC 9162 section 2.1.3.2), and every rejection
      refused for the reason it names.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_token_vectors import (G, L, _compress, _mul,  # noqa: E402
                                  ed25519_public, ed25519_verify, h)

HEAD_DOMAIN = b"mandate/receipt/v1/head\0"
LEAF_DOMAIN = b"mandate/receipt/v1/leaf\0"
HEAD_BYTES = 1 + 16 + 8 + 8 + 4 + 8 + 32 + 32


def sha(b):
    return hashlib.sha256(b).digest()


def leaf_hash(data):
    return sha(b"\x00" + data)


def node_hash(left, right):
    return sha(b"\x01" + left + right)


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 9162 MTH over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 9162 PATH(m, D[n]) over leaf hashes."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def verify_path(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return "index"
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return "path"
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return "ok" if sn == 0 and r == root else "path"


def ed25519_sign(seed, msg):
    d = hashlib.sha512(seed).digest()
    a = int.from_bytes(d[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    public = _compress(_mul(a, G))
    r = int.from_bytes(hashlib.sha512(d[32:] + msg).digest(), "little") % L
    R = _compress(_mul(r, G))
    k = int.from_bytes(hashlib.sha512(R + public + msg).digest(),
                       "little") % L
    return R + ((r + k * a) % L).to_bytes(32, "little")


def key_id(public):
    return h(public, 16, "mandate/key/v1/id")


def leaf_data(seq, record_hash, token_id):
    return LEAF_DOMAIN + seq.to_bytes(8, "big") + record_hash + token_id


def head_bytes(hd):
    return (b"\x01" + hd["key_id"] + hd["first"].to_bytes(8, "big") +
            hd["last"].to_bytes(8, "big") + hd["size"].to_bytes(4, "big") +
            hd["time"].to_bytes(8, "big") + hd["root"] + hd["prev"])


def encode(seq, record_hash, index, proof, head, sig):
    return (b"\x01" + seq.to_bytes(8, "big") + record_hash +
            index.to_bytes(4, "big") + bytes([len(proof)]) + b"".join(proof) +
            head + sig)


def decode_and_verify(data, token_id, public):
    """The verdict on a receipt: "ok" or the reason it is refused."""
    if len(data) < 46 or data[0] != 1 or data[45] > 32:
        return "malformed"
    plen = data[45]
    if len(data) != 46 + 32 * plen + HEAD_BYTES + 64:
        return "malformed"
    seq = int.from_bytes(data[1:9], "big")
    record_hash, index = data[9:41], int.from_bytes(data[41:45], "big")
    proof = [data[46 + 32 * i:78 + 32 * i] for i in range(plen)]
    hb = data[46 + 32 * plen:46 + 32 * plen + HEAD_BYTES]
    sig = data[46 + 32 * plen + HEAD_BYTES:]
    kid, first = hb[1:17], int.from_bytes(hb[17:25], "big")
    last, size = int.from_bytes(hb[25:33], "big"), int.from_bytes(hb[33:37],
                                                                  "big")
    tm, root = int.from_bytes(hb[37:45], "big"), hb[45:77]
    if (hb[0] != 1 or size == 0 or first == 0 or last < first or
            last - first < size - 1 or tm >= 1 << 63):
        return "malformed"
    if index >= size:
        return "index"
    if len(proof) != len(path(index, [b""] * size)):
        return "malformed"
    if not (first <= seq <= last and seq - first >= index and
            last - seq >= size - 1 - index):
        return "range"
    if kid != key_id(public):
        return "key"
    if not ed25519_verify(public, HEAD_DOMAIN + hb, sig):
        return "signature"
    leaf = leaf_hash(leaf_data(seq, record_hash, token_id))
    return verify_path(index, size, leaf, proof, root)


def merkle_vectors():
    out = []
    for n in (1, 2, 3, 4, 5, 7, 8, 16):
        leaves = [leaf_hash(bytes([i])) for i in range(n)]
        out.append({"leaves": n, "leaf_data": "one byte, the index",
                    "root": mth(leaves).hex(),
                    "proofs": [[p.hex() for p in path(m, leaves)]
                               for m in range(n)]})
    return out


def batch(seed, seqs, first, last, time_ms, prev, tag):
    """One signed batch over decisions at seqs; returns head and leaves."""
    public = ed25519_public(seed)
    recs = [sha(b"record-%s-%d" % (tag.encode(), s)) for s in seqs]
    toks = [sha(b"token-%s-%d" % (tag.encode(), s)) for s in seqs]
    leaves = [leaf_hash(leaf_data(s, r, t)) for s, r, t in
              zip(seqs, recs, toks)]
    hd = {"key_id": key_id(public), "first": first, "last": last,
          "size": len(seqs), "time": time_ms, "root": mth(leaves),
          "prev": prev}
    hb = head_bytes(hd)
    return {"seqs": seqs, "records": recs, "tokens": toks, "leaves": leaves,
            "head": hb, "sig": ed25519_sign(seed, HEAD_DOMAIN + hb)}


def receipt_of(b, i):
    return encode(b["seqs"][i], b["records"][i], i, path(i, b["leaves"]),
                  b["head"], b["sig"])


def flip(data, at):
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def generate():
    root_seed, other_seed = b"\x01" * 32, b"\x02" * 32
    a = batch(root_seed, [10, 11, 13, 14, 16], 10, 16, 1767225600000,
              b"\x00" * 32, "a")
    b = batch(root_seed, [17, 18, 20], 17, 20, 1767225600250,
              sha(a["head"]), "b")
    o = batch(other_seed, [10, 11, 13, 14, 16], 10, 16, 1767225600000,
              b"\x00" * 32, "a")
    r2 = receipt_of(a, 2)
    receipts = []
    for name, bb in (("a", a), ("b", b)):
        for i in range(len(bb["seqs"])):
            receipts.append({"batch": name, "index": i,
                             "seq": bb["seqs"][i],
                             "token_id": bb["tokens"][i].hex(),
                             "record_hash": bb["records"][i].hex(),
                             "bytes": receipt_of(bb, i).hex()})
    plen = len(path(2, a["leaves"]))
    hoff = 46 + 32 * plen
    rej = [
        ("record hash byte flipped", flip(r2, 20), "path"),
        ("path byte flipped", flip(r2, 50), "path"),
        ("head root byte flipped", flip(r2, hoff + 50), "signature"),
        ("signature byte flipped", flip(r2, len(r2) - 5), "signature"),
        ("proof for another leaf",
         encode(13, a["records"][2], 2, path(3, a["leaves"]), a["head"],
                a["sig"]), "path"),
        ("head from another key",
         encode(13, a["records"][2], 2, path(2, o["leaves"]), o["head"],
                o["sig"]), "key"),
        ("head of another batch",
         encode(13, a["records"][2], 2, path(2, b["leaves"]), b["head"],
                b["sig"]), "range"),
        ("index past the tree size",
         encode(13, a["records"][2], 5, [], a["head"], a["sig"]), "index"),
        ("truncated", r2[:-1], "malformed"),
        ("trailing byte", r2 + b"\x00", "malformed"),
        ("path one node short",
         encode(13, a["records"][2], 2, path(2, a["leaves"])[:-1],
                a["head"], a["sig"]), "malformed"),
    ]
    rejections = [{"name": n, "bytes": d.hex(), "reason": why,
                   "token_id": a["tokens"][2].hex(), "key": "root"}
                  for n, d, why in rej]
    return {
        "keys": {"root": {"seed": root_seed.hex(),
                          "public": ed25519_public(root_seed).hex()},
                 "other": {"seed": other_seed.hex(),
                           "public": ed25519_public(other_seed).hex()}},
        "merkle": merkle_vectors(),
        "heads": {"a": {"bytes": a["head"].hex(), "signature": a["sig"].hex()},
                  "b": {"bytes": b["head"].hex(), "signature": b["sig"].hex(),
                        "prev_is_hash_of": "a"}},
        "receipts": receipts,
        "rejections": rejections,
    }


def check(v):
    for m in v["merkle"]:
        leaves = [leaf_hash(bytes([i])) for i in range(m["leaves"])]
        root = mth(leaves)
        assert root.hex() == m["root"], m["leaves"]
        for i, p in enumerate(m["proofs"]):
            proof = [bytes.fromhex(x) for x in p]
            assert proof == path(i, leaves)
            assert verify_path(i, len(leaves), leaves[i], proof,
                               root) == "ok"
    keys = {n: bytes.fromhex(k["public"]) for n, k in v["keys"].items()}
    for n, k in v["keys"].items():
        assert ed25519_public(bytes.fromhex(k["seed"])) == keys[n], n
    ha, hb = v["heads"]["a"], v["heads"]["b"]
    assert bytes.fromhex(hb["bytes"])[-32:] == sha(bytes.fromhex(ha["bytes"]))
    for r in v["receipts"]:
        got = decode_and_verify(bytes.fromhex(r["bytes"]),
                                bytes.fromhex(r["token_id"]), keys["root"])
        assert got == "ok", (r["batch"], r["index"], got)
        other = bytes(32)
        assert decode_and_verify(bytes.fromhex(r["bytes"]), other,
                                 keys["root"]) == "path"
    for r in v["rejections"]:
        got = decode_and_verify(bytes.fromhex(r["bytes"]),
                                bytes.fromhex(r["token_id"]), keys[r["key"]])
        assert got == r["reason"], (r["name"], got)
    print("independent receipt verifier: %d trees, %d receipts and %d "
          "rejections agree" % (len(v["merkle"]), len(v["receipts"]),
                                len(v["rejections"])))


def main():
    mode, where = sys.argv[1], sys.argv[2]
    if mode == "gen":
        v = generate()
        check(v)
        with open(where, "w") as f:
            json.dump(v, f, indent=1)
            f.write("\n")
    else:
        check(json.load(open(where)))


if __name__ == "__main__":
    main()
