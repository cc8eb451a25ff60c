#!/usr/bin/env bash
# Makes the bundle of one command-line entry (scripts/<name>.ts) available, and prints its path as the
# LAST line of its output:
#
#     scripts/ensure-cli.sh <name>            e.g. scripts/ensure-cli.sh drill
#     scripts/ensure-cli.sh --sources-hash    only the hash the bundles of this checkout are keyed by
#
# scripts/run-cli.sh runs the bundle with node; `npm run <name>` goes through it. The commands are
# bundled ahead of time (scripts/build-cli.mjs, esbuild) so that no process compiles TypeScript at run
# time: tsx used to, for ~1 s and ~100 MB in every drill's orchestrator.
#
# Bundles are kept by a hash of the sources in ~/.cache/supabase-dr/cli-builds/<hash>/ (or
# $SUPABASE_DR_CACHE/cli-builds): outside the checkout, so `git clean` and `npm ci` leave them alone.
# A bundle names no path of the checkout that built it (scripts/run-cli.sh tells it which checkout
# it runs in), so checkouts with the same sources share one bundle, and checkouts with different
# sources get different hashes and never overwrite each other's. An entry is built the first time it
# runs with given sources (a few seconds), then found: edit lib/, run `npm run drill`, and the drill
# runs the edit. The six most recently used hashes are kept.
#
# The hash covers every file a bundle can be made of: the code under the source directories below, the
# package and TypeScript settings, the installed dependencies (npm's node_modules/.package-lock.json,
# which `npm ci`/`npm install` rewrite) and the two build scripts. scripts/build-cli.mjs refuses to
# bundle a source file the hash does not cover, so this list cannot silently fall behind the imports.
# Progress goes to stderr; only the bundle's path (or the hash) goes to stdout.
set -euo pipefail

log() { printf 'ensure-cli: %s\n' "$*" >&2; }
die() { printf 'ensure-cli: error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: scripts/ensure-cli.sh <name> | --sources-hash"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

SOURCE_DIRS=(scripts lib programs components sdk provider dynamic schema)
SOURCE_FILES=(index.ts package.json package-lock.json tsconfig.json node_modules/.package-lock.json scripts/ensure-cli.sh)

# The files the hash covers, relative to the checkout, sorted bytewise (the same list in any checkout).
source_list() {
  local dirs=() d f
  for d in "${SOURCE_DIRS[@]}"; do
    if [[ -d "$d" ]]; then dirs+=("$d"); fi
  done
  {
    if ((${#dirs[@]} > 0)); then
      find "${dirs[@]}" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
        -o -name '*.js' -o -name '*.mjs' -o -name '*.cjs' -o -name '*.json' \) -print
    fi
    for f in "${SOURCE_FILES[@]}"; do
      if [[ -f "$f" ]]; then printf '%s\n' "$f"; fi
    done
  } | LC_ALL=C sort -u
}

sources=$(source_list)
# Paths and contents: a renamed file changes the hash as an edited one does.
hash=$(printf '%s\n' "$sources" | tr '\n' '\0' | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [[ "$1" == "--sources-hash" ]]; then
  echo "$hash"
  exit 0
fi

name=$1
[[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "'$name' is not a command name (scripts/<name>.ts, lowercase, digits and '-')"
if [[ ! -f "scripts/$name.ts" ]]; then
  available=$(cd scripts && ls -1 -- *.ts 2>/dev/null | sed 's/\.ts$//' | tr '\n' ' ')
  die "there is no scripts/$name.ts in $repo_root (commands: ${available:-none})"
fi
command -v node >/dev/null 2>&1 || die "node is not on PATH (run through scripts/with-node.sh)"

cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
builds_dir="$cache_root/cli-builds"
build="$builds_dir/$hash"
bundle="$build/$name.js"
mkdir -p "$builds_dir"

if [[ ! -f "$bundle" ]]; then
  [[ -f node_modules/esbuild/package.json ]] || die "node_modules/esbuild is missing in $repo_root: run 'npm ci' first"
  # One build at a time on this machine (concurrent commands, test workers); whoever waited finds
  # the bundle the other one built.
  exec 9>"$builds_dir/.lock"
  flock 9
  if [[ ! -f "$bundle" ]]; then
    start=$(date +%s)
    log "bundling scripts/$name.ts (sources $hash)"
    mkdir -p "$build"
    partial=$(mktemp -d "$build/.partial-$name.XXXXXX")
    trap 'rm -rf "$partial"' EXIT
    printf '%s\n' "$sources" >"$partial/sources.txt"
    node scripts/build-cli.mjs "$partial" "$partial/sources.txt" "$name" || die "bundling scripts/$name.ts failed (see above)"
    # A rename: a command starting now finds either no bundle or the whole one.
    mv "$partial/$name.js" "$bundle"
    cp "$partial/sources.txt" "$build/sources.txt"
    rm -rf "$partial"
    trap - EXIT
    log "bundled in $(($(date +%s) - start))s: $bundle"
    # Keep the six most recently used hashes (this one included: it was just written).
    ls -1dt "$builds_dir"/*/ 2>/dev/null | tail -n +7 | xargs -r rm -rf
  fi
  exec 9>&-
else
  # Marks the hash as used, for the pruning above.
  touch -c "$build" 2>/dev/null || true
fi
echo "$bundle"
