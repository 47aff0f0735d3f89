#!/usr/bin/env bash
# Browser tests of the workbench: Debian's chromium driven by playwright-core against
# `tessera demo --keep-running` on loopback. Installs what it needs (chromium from apt,
# playwright-core from npm at the version pinned in tests/browser/package-lock.json).
#   bash scripts/browser-tests.sh                       run them
#   bash scripts/browser-tests.sh --update-screenshots  also refresh docs/img/workbench-*.png
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
[ "${1:-}" = "--update-screenshots" ] && update=1

if ! command -v chromium >/dev/null 2>&1; then
  echo "browser tests: installing chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y --no-install-recommends chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "browser tests: node is required (Debian package nodejs)" >&2
  exit 1
fi
(cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

# The same build as `cargo test --workspace` (a plain `cargo build` unifies features differently
# and would rebuild every dependency); it also places target/debug/tessera.
cargo test --workspace --no-run --quiet
target_dir="${CARGO_TARGET_DIR:-target}"
artifacts="$target_dir/browser-artifacts"
rm -rf "$artifacts"; mkdir -p "$artifacts"
run_dir="$(mktemp -d)"
log="$artifacts/demo.log"
"$target_dir/debug/tessera" demo --keep-running --dir "$run_dir/demo" >"$log" 2>&1 &
demo_pid=$!
cleanup() { kill -INT "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; rm -rf "$run_dir"; }
trap cleanup EXIT

url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's/^Workbench: //p' "$log" | head -1)"
  [ -n "$url" ] && break
  if ! kill -0 "$demo_pid" 2>/dev/null; then cat "$log" >&2; echo "browser tests: the demo exited" >&2; exit 1; fi
  sleep 0.2
done
[ -n "$url" ] || { cat "$log" >&2; echo "browser tests: no workbench URL from the demo" >&2; exit 1; }

node --test-reporter=spec tests/browser/workbench.test.mjs "$url" "$artifacts"
echo "browser tests: screenshots in $artifacts"
if [ "$update" = 1 ]; then
  mkdir -p docs/img
  for f in "$artifacts"/*.png; do cp "$f" "docs/img/workbench-$(basename "$f")"; done
  echo "browser tests: docs/img/workbench-*.png updated"
fi
