#!/usr/bin/env bash
# `make demo`: the clinic scenario, a real run of Mandate (docs/clinic-demo.md).
#   bash examples/demo.sh BUILD_DIR
# The broker, a FHIR gateway, an orchestrator acting for a clinician and
# three agents run as separate processes; the script narrates what happened
# and why, and exits non-zero if any outcome differs from the expected one.
# The delegation-token walk-through with mandatectl alone is
# examples/token-walkthrough.sh.
set -euo pipefail
build=${1:?usage: examples/demo.sh BUILD_DIR}
exec bash "$(dirname "${BASH_SOURCE[0]}")/clinic/run-demo.sh" "$build"
