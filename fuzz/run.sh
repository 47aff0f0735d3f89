#!/usr/bin/env bash
# Runs the fuzz targets on the stable toolchain (see fuzz/README.md and docs/security.md).
#
#   fuzz/run.sh --smoke                    every target, 3 s each, unoptimized build (.ci/run)
#   fuzz/run.sh --target T [--time S] [--runs N] [-- LIBFUZZER_ARGS...]
#                                          one target until S seconds or N executions
#   fuzz/run.sh --list                     the target names
#   fuzz/run.sh --cmin --target T          minimize the committed corpus of T in place
#
# Installs cargo-fuzz (pinned, `cargo install --locked`) when it is missing. Builds without a
# sanitizer (`-s none`: the crates forbid `unsafe`, so there is nothing for ASan to find that
# Rust's own checks do not) and with debug assertions (`-a`: integer overflow panics instead
# of wrapping silently). New inputs go to a scratch corpus under the cargo target directory;
# the committed corpus in fuzz/corpus/T (and, for the JWS targets, the committed test
# vectors) is only read. A crash writes its reproducer to fuzz/artifacts/T/ and fails.
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-3}

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$here"

smoke=0 list=0 cmin=0 time_s="" runs="" targets=() extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --list) list=1 ;;
    --cmin) cmin=1 ;;
    --target) targets+=("$2"); shift ;;
    --time) time_s="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "fuzz/run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

all_targets() { sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' Cargo.toml | grep -v '^tessera-fuzz$'; }
if [ "$list" = 1 ]; then all_targets; exit 0; fi
if [ "$smoke" = 1 ] && [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(all_targets); fi
if [ ${#targets[@]} -eq 0 ]; then echo "fuzz/run.sh: name a --target, or use --smoke" >&2; exit 2; fi
for t in "${targets[@]}"; do
  all_targets | grep -qx "$t" || { echo "fuzz/run.sh: no target $t" >&2; exit 2; }
done

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "fuzz/run.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

# cargo-fuzz only needs nightly for sanitizers and -Zbuild-std; with `-s none` every flag it
# passes is stable. RUSTC_BOOTSTRAP stays unset so nothing unstable slips in unnoticed.
flags=(-s none -a)
# Smoke runs build unoptimized: on 2 cores the optimized, single-codegen-unit build of the
# dependency tree (aws-lc, SQLite, axum, ...) alone would exceed CI's fuzzing budget, and a
# few seconds per target need coverage, not speed. Long runs build optimized.
[ "$smoke" = 1 ] && flags+=(--dev)
target_dir="${CARGO_TARGET_DIR:-$here/target}"

# Committed seed directories of each target beyond fuzz/corpus/T.
seeds() {
  case "$1" in
    ticket_decode|jose_jws) echo "$root/test-vectors/seed $root/test-vectors/tickets" ;;
    *) echo "" ;;
  esac
}

# The libFuzzer dictionary of each target (boundary numbers, member and parameter names).
dict() {
  case "$1" in
    ticket_claims|jose_jwk|client_assertion|dpop_proof|bundle_ingest|status_list|entity_statement|software_statement) echo "$here/dict/json.dict" ;;
    smart_scope|search_params|token_request) echo "$here/dict/query.dict" ;;
    *) echo "" ;;
  esac
}

echo "fuzz/run.sh: building ${#targets[@]} target(s)"
if [ ${#targets[@]} -gt 1 ]; then
  cargo fuzz build "${flags[@]}"
else
  cargo fuzz build "${flags[@]}" "${targets[0]}"
fi

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if [ "$cmin" = 1 ]; then
    # Merge the committed corpus and the scratch corpus of earlier runs into a fresh minimal
    # set, then replace the committed corpus with it.
    out="$(mktemp -d "$target_dir/cmin-$t.XXXX")"
    # shellcheck disable=SC2046
    cargo fuzz run "${flags[@]}" "$t" "$out" "corpus/$t" "$target_dir/fuzz-corpus/$t" \
      $(seeds "$t") -- -merge=1 "${extra[@]}"
    rm -f "corpus/$t"/*
    cp "$out"/* "corpus/$t"/
    rm -rf "$out"
    continue
  fi
  scratch="$target_dir/fuzz-corpus/$t"
  mkdir -p "$scratch"
  args=(-print_final_stats=1)
  [ -n "$(dict "$t")" ] && args+=("-dict=$(dict "$t")")
  if [ "$smoke" = 1 ]; then
    args+=("-max_total_time=${time_s:-$SMOKE_SECONDS}")
  elif [ -n "$time_s" ]; then
    args+=("-max_total_time=$time_s")
  fi
  [ -n "$runs" ] && args+=("-runs=$runs")
  echo "fuzz/run.sh: running $t"
  # shellcheck disable=SC2046
  cargo fuzz run "${flags[@]}" "$t" "$scratch" "corpus/$t" $(seeds "$t") -- "${args[@]}" "${extra[@]}"
done
echo "fuzz/run.sh: ${#targets[@]} target(s) ran without a finding"
