#!/usr/bin/env bash
# The fault and bad-input suite (jest project "reliability") on a real three-broker Kafka
# cluster, then its results: test/reliability/results.json and a table (printed, and in
# docs/reliability.md). It fails unless all twelve scenarios ran, every one passed, and none
# lost an event. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

run() { bash scripts/with-node.sh "$@"; }

# The scenarios run the built services as processes where one is killed or signalled.
run tsc -b
status=0
RELIABILITY_PUBLISH=true run jest "$@" --selectProjects reliability || status=$?
run tsx test/reliability/support/publish-results.ts || status=1
run prettier --log-level warn --write test/reliability/results.json docs/reliability.md
exit "$status"
