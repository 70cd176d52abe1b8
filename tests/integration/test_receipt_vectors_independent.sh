#!/usr/bin/env bash
# The receipt test vectors checked by a second, independent implementation
# (Python standard library only, written from docs/token-format.md section
# 13): trees, proofs, heads, signatures and every rejection's reason.
set -euo pipefail
src=${MDT_SOURCE_DIR:?MDT_SOURCE_DIR not set}
python3 "$src/tests/vectors/receipt_vectors.py" check \
    "$src/tests/vectors/receipt-v1.json"
