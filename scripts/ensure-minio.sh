#!/usr/bin/env bash
# Makes a MinIO server (S3 with Object Lock) available for the vault tests, and prints the directory
# that holds it as the LAST line of its output:
#
#     export PATH="$(scripts/ensure-minio.sh | tail -n 1):$PATH"
#
# Release binaries cannot be downloaded on our machines, but the Go module proxy is reachable, so the
# server is built from its Go module (MinIO's master is published as pseudo-versions):
#   1. a `minio` already on PATH is used as is (any version: tests only need S3 + Object Lock);
#   2. otherwise the cache (~/.cache/supabase-dr/minio-<version>/bin, or $SUPABASE_DR_CACHE) is used;
#   3. otherwise `GOBIN=<tmp> go install github.com/minio/minio@<version>` builds it and the bin
#      directory is moved into place atomically. A cold build took 4m04s (go1.26, 2026-02 module);
#      later builds reuse Go's own build cache.
# A `go install`ed MinIO reports "DEVELOPMENT.GOGET" as its version, so the cache directory's name is
# what pins the version. Progress goes to stderr; only the bin directory goes to stdout.
set -euo pipefail

log() { printf 'ensure-minio: %s\n' "$*" >&2; }
die() { printf 'ensure-minio: error: %s\n' "$*" >&2; exit 1; }

version=${MINIO_MODULE_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
module=github.com/minio/minio
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
bin_dir="$cache_root/minio-$version/bin"

# 1. PATH.
if path_minio=$(command -v minio 2>/dev/null) && "$path_minio" --version >/dev/null 2>&1; then
  dir=$(dirname "$path_minio")
  log "using minio from PATH ($dir)"
  echo "$dir"
  exit 0
fi

# 2. The cache.
if [[ -x "$bin_dir/minio" ]] && "$bin_dir/minio" --version >/dev/null 2>&1; then
  log "using cached minio $version ($bin_dir)"
  echo "$bin_dir"
  exit 0
fi

# 3. Build.
command -v go >/dev/null 2>&1 ||
  die "Go is not installed (needed to build MinIO $version). Install Go >= 1.24 or put a minio binary on PATH."
start=$(date +%s)
mkdir -p "$(dirname "$bin_dir")"
# Build into a private directory and rename at the end: concurrent runs never see a half-built binary.
partial=$(mktemp -d "$(dirname "$bin_dir")/bin.partial.XXXXXX")
trap 'rm -rf "$partial"' EXIT

log "building minio $version from Go modules (first time only; takes about 4 minutes)"
if ! out=$(GOBIN="$partial" GOFLAGS=${GOFLAGS:--mod=mod} go install "$module@$version" 2>&1); then
  printf '%s\n' "$out" >&2
  if grep -qiE 'proxy|dial tcp|no such host|connection refused|i/o timeout|404|410|not found' <<<"$out"; then
    die "could not fetch $module@$version from the Go module proxy (${GOPROXY:-$(go env GOPROXY)}). Check network access to the proxy; details above."
  fi
  die "go install $module@$version failed (see above)"
fi
[[ -x "$partial/minio" ]] || die "go install finished but produced no minio binary in $partial"
chmod 755 "$partial"
if [[ -x "$bin_dir/minio" ]]; then
  log "another run finished the build first; keeping its binary"
else
  mv "$partial" "$bin_dir" 2>/dev/null || { rm -rf "$bin_dir"; mv "$partial" "$bin_dir"; }
fi
log "minio $version ready in $bin_dir ($(( $(date +%s) - start ))s)"
echo "$bin_dir"
