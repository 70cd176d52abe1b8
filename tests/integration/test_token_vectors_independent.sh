#!/usr/bin/env bash
# The token test vectors checked by a second, independent implementation
# (Python standard library only, written from docs/token-format.md): it
# decodes, verifies and decides every vector the way the C library does.
set -euo pipefail
src=${MDT_SOURCE_DIR:?MDT_SOURCE_DIR not set}
python3 "$src/tests/vectors/verify_token_vectors.py" \
    "$src/tests/vectors/token-v1.json"
