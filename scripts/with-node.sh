#!/usr/bin/env bash
# Runs a command with a Node.js that the OpenTelemetry packages accept (>= 22.15) first on PATH.
# When the machine's Node is older, Node 24 comes from the npm registry (it carries the binary
# as node-linux-<arch>) into the git-ignored .cache/node, once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_version="${PIPELINE_NODE_VERSION:-24.21.0}"

node_is_current() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 15) ? 0 : 1)'
}

if ! node_is_current; then
  dir="$root/.cache/node/$node_version"
  if [ ! -x "$dir/bin/node" ]; then
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "with-node: no Node.js $node_version package for $(uname -m); install Node >= 22.15 yourself" >&2; exit 1 ;;
    esac
    echo "with-node: bringing Node.js $node_version into .cache/node (the machine has $(node -v 2>/dev/null || echo none))" >&2
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$node_version" >/dev/null)
    tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp" package/bin/node
    mkdir -p "$dir/bin"
    mv "$tmp/package/bin/node" "$dir/bin/node"
  fi
  export PATH="$dir/bin:$PATH"
fi

export PATH="$root/node_modules/.bin:$PATH"
exec "$@"
