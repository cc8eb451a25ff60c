#!/usr/bin/env bash
# Makes an S3 server with Object Lock available for the vault tests — Versity Gateway (versitygw,
# Apache-2.0, https://github.com/versity/versitygw) over its posix backend — and prints the directory
# that holds it as the LAST line of its output:
#
#     export PATH="$(scripts/ensure-s3-server.sh | tail -n 1):$PATH"
#
# Release binaries cannot be downloaded on our machines, but the Go module proxy is reachable, so the
# gateway is built from its Go module:
#   1. a `versitygw` already on PATH that reports the pinned version is used as is (Object Lock
#      behaviour differs between releases, and the tests assert it);
#   2. otherwise the cache (~/.cache/supabase-dr/versitygw-<version>/bin, or $SUPABASE_DR_CACHE) is used;
#   3. otherwise `GOBIN=<tmp> go install github.com/versity/versitygw/cmd/versitygw@<version>` builds it
#      and the bin directory is moved into place atomically. Its go.mod has no replace directives, so
#      no wrapper module is needed (unlike the Pulumi engine). It needs Go >= 1.25 (its go.mod says
#      so; with GOTOOLCHAIN=auto an older go fetches that toolchain from the proxy). A cold build
#      (empty module and build caches, 2 cores) takes about 3-4 minutes; later builds reuse Go's caches.
# VERSITYGW_VERSION overrides the pin. The version is stamped into the binary (`versitygw --version`),
# as upstream's Makefile does, so the cache check can verify it. Progress goes to stderr; only the bin
# directory goes to stdout.
set -euo pipefail

log() { printf 'ensure-s3-server: %s\n' "$*" >&2; }
die() { printf 'ensure-s3-server: error: %s\n' "$*" >&2; exit 1; }

version=${VERSITYGW_VERSION:-v1.8.0}
[[ "$version" == v* ]] || version="v$version"
module=github.com/versity/versitygw
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
bin_dir="$cache_root/versitygw-$version/bin"

installed_version() { # the version a versitygw binary reports ("Version  : v1.8.0"), or nothing
  "$1" --version 2>/dev/null | awk -F': *' '/^Version/ { print $2; exit }' | tr -d '[:space:]' || true
}

# 1. PATH.
if path_bin=$(command -v versitygw 2>/dev/null) && [[ "$(installed_version "$path_bin")" == "$version" ]]; then
  dir=$(dirname "$path_bin")
  log "using versitygw $version from PATH ($dir)"
  echo "$dir"
  exit 0
fi

# 2. The cache.
if [[ -x "$bin_dir/versitygw" && "$(installed_version "$bin_dir/versitygw")" == "$version" ]]; then
  log "using cached versitygw $version ($bin_dir)"
  echo "$bin_dir"
  exit 0
fi

# 3. Build.
command -v go >/dev/null 2>&1 ||
  die "Go is not installed (needed to build Versity Gateway $version). Install Go >= 1.25, or put versitygw $version on PATH."
start=$(date +%s)
mkdir -p "$(dirname "$bin_dir")"
# Build into a private directory and rename at the end: concurrent runs never see a half-built binary.
partial=$(mktemp -d "$(dirname "$bin_dir")/bin.partial.XXXXXX")
trap 'rm -rf "$partial"' EXIT

log "building versitygw $version from Go modules (first time only; takes about 3-4 minutes)"
ldflags="-s -w -X main.Version=$version -X main.Build=go-module -X main.BuildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# GOFLAGS from the caller (say -mod=vendor) would not apply to a module@version install.
if ! out=$(GOFLAGS='' GOBIN="$partial" go install -trimpath -ldflags "$ldflags" "$module/cmd/versitygw@$version" 2>&1); then
  printf '%s\n' "$out" >&2
  if grep -qiE 'proxy|dial tcp|no such host|connection refused|i/o timeout|404|410|not found|toolchain' <<<"$out"; then
    die "could not fetch $module@$version (or the Go toolchain its go.mod asks for) from the Go module proxy (${GOPROXY:-$(go env GOPROXY)}). Check network access to the proxy; details above."
  fi
  die "go install $module/cmd/versitygw@$version failed (see above; it needs Go >= 1.25, found $(go env GOVERSION))"
fi
[[ -x "$partial/versitygw" ]] || die "go install finished but produced no versitygw binary in $partial"
[[ "$(installed_version "$partial/versitygw")" == "$version" ]] ||
  die "the versitygw built in $partial does not report version $version"
chmod 755 "$partial"
if [[ -x "$bin_dir/versitygw" && "$(installed_version "$bin_dir/versitygw")" == "$version" ]]; then
  log "another run finished the build first; keeping its binary"
else
  rm -rf "$bin_dir"
  mv "$partial" "$bin_dir"
fi
log "versitygw $version ready in $bin_dir ($(( $(date +%s) - start ))s)"
echo "$bin_dir"
