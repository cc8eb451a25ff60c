#!/usr/bin/env bash
# Makes actionlint (the GitHub Actions workflow linter, https://github.com/rhysd/actionlint) available
# and prints the directory that holds it as the LAST line of its output:
#
#     "$(scripts/ensure-actionlint.sh | tail -n 1)/actionlint" .github/workflows/*.yml
#
# Release binaries cannot be downloaded on our machines, but the Go module proxy is reachable, so it is
# built with `go install` (no replace directives, unlike the Pulumi engine):
#   1. an `actionlint` already on PATH at the pinned version is used as is;
#   2. otherwise the cache (~/.cache/supabase-dr/actionlint-<version>/, or $SUPABASE_DR_CACHE) is used;
#   3. otherwise it is built into the cache: about 15-50 s on a fresh 2-core machine, modules included.
# ACTIONLINT_VERSION overrides the pin. v1.7.11 is the newest release whose go.mod accepts Go 1.24 (the
# project's minimum; v1.7.12 needs 1.25). Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail

log() { printf 'ensure-actionlint: %s\n' "$*" >&2; }
die() { printf 'ensure-actionlint: error: %s\n' "$*" >&2; exit 1; }

version=${ACTIONLINT_VERSION:-v1.7.11}
[[ "$version" == v* ]] || version="v$version"
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
bin_dir="$cache_root/actionlint-$version"

installed_version() { # the first line of `actionlint -version`, or nothing
  "$1" -version 2>/dev/null | head -n 1 | tr -d '[:space:]' || true
}

# 1. On PATH at the pinned version.
if path_bin=$(command -v actionlint 2>/dev/null) && [[ "$(installed_version "$path_bin")" == "$version" ]]; then
  log "using actionlint $version from PATH ($path_bin)"
  dirname "$path_bin"
  exit 0
fi

# 2. The cache.
if [[ -x "$bin_dir/actionlint" && "$(installed_version "$bin_dir/actionlint")" == "$version" ]]; then
  log "using cached actionlint $version ($bin_dir)"
  echo "$bin_dir"
  exit 0
fi

# 3. Build.
command -v go >/dev/null 2>&1 ||
  die "Go is not installed (needed to build actionlint $version). Install Go >= 1.24, or put actionlint $version on PATH, or set ACTIONLINT_BIN for the tests."
start=$(date +%s)
log "building actionlint $version with 'go install' (first time only)"
rm -rf "$bin_dir.partial"
mkdir -p "$bin_dir.partial"
# GOFLAGS from the caller (say -mod=vendor) would not apply to a module@version install.
if ! GOFLAGS='' GOBIN="$bin_dir.partial" go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2; then
  rm -rf "$bin_dir.partial"
  die "go install github.com/rhysd/actionlint/cmd/actionlint@$version failed (see above); check access to the Go module proxy (${GOPROXY:-$(go env GOPROXY)})"
fi
rm -rf "$bin_dir"
mv "$bin_dir.partial" "$bin_dir"
log "actionlint $version ready in $bin_dir ($(( $(date +%s) - start ))s)"
echo "$bin_dir"
