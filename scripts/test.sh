#!/usr/bin/env bash
# The whole suite, as CI runs it: lint and format check, typecheck and build, the monitoring
# checks (promtool, amtool), unit tests, and end-to-end tests against a real Kafka broker (the
# repo's scripts start one from cached Maven Central jars unless KAFKA_BROKERS names one) and a
# real Jaeger, Prometheus and Alertmanager (built once from the Go module proxy), among them the
# image test, which builds our images with podman (Debian's podman, runc and mmdebstrap) on a base
# of Debian and our Node; the tools step installs those and makes the base. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -d node_modules ]; then
  echo "test: no node_modules; run 'npm ci' first (the README's test command does)" >&2
  exit 1
fi
# The outage and failover tests start brokers of their own even with KAFKA_BROKERS set.
for tool in java mvn openssl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test: '$tool' is needed to run the local Kafka brokers and the schema registry of the end-to-end tests (openssl: their TLS certificates; python3: the independent Avro reader)" >&2
    exit 1
  fi
done
if ! command -v go >/dev/null 2>&1 && [ ! -x .cache/tools/jaeger-*/jaeger ]; then
  echo "test: 'go' is needed to build Jaeger (the trace backend of the tracing tests), Prometheus, Alertmanager, the Pushgateway, Helm and our Go checks from the Go module proxy" >&2
  exit 1
fi

run() { bash scripts/with-node.sh "$@"; }

echo "==> lint"
run eslint .
run prettier --check . >/dev/null
echo "==> typecheck and build"
run tsc -b
run tsc -p tsconfig.check.json
echo "==> tools (built once into .cache/tools)"
run tsx scripts/tools/cli.ts ensure >/dev/null
echo "==> monitoring: promtool and amtool on the config and rules (npm run monitoring:test)"
# The generated files' freshness is left to the unit tests below, which check it too.
run tsx scripts/monitoring/test.ts --skip generate
echo "==> tests"
mkdir -p .cache
results=.cache/jest-results.json
rm -f "$results"
status=0
run jest --ci --json --outputFile="$results" "$@" || status=$?

if [ -f "$results" ]; then
  # One plain closing line, whatever reads the log: "tests: N passed, N failed, N skipped".
  run node -e '
    const r = require(process.argv[1]);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    if (process.env.CI === "true" && r.numPendingTests + r.numTodoTests > 0) {
      console.error("test: tests were skipped; with CI=true every test must run");
      process.exit(1);
    }
    if (r.numTotalTests === 0) { console.error("test: no test ran"); process.exit(1); }
  ' "$PWD/$results" || status=1
fi
exit "$status"
