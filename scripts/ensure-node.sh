#!/usr/bin/env bash
# Makes a Node.js that satisfies package.json's "engines.node" available, and prints the directory that
# holds its `node` as the LAST line of its output:
#
#     export PATH="$(scripts/ensure-node.sh | tail -n 1):$PATH"
#
# @pulumi/pulumi declares node >= 22, and Node 20 is past its end of life, but many machines (ours, CI
# images) still ship 20. Release tarballs cannot be downloaded from nodejs.org here; the npm registry is
# reachable and its `node-linux-<arch>` packages ship the official binary (bin/node), so:
#   1. a `node` on PATH that satisfies "engines.node" is used as is;
#   2. otherwise the cache (~/.cache/supabase-dr/node-v<version>/bin, or $SUPABASE_DR_CACHE) is used;
#   3. otherwise `npm pack` fetches node-linux-<arch>@<version>, its SHA-512 is checked against the
#      integrity pinned below (or, for another version, the one the registry publishes), and bin/node is
#      unpacked into the cache.
# The version installed is pinned here, with the tarballs' integrity, rather than resolved from the
# registry at run time: every machine runs the same Node, and a tarball that changed behind a version
# number is refused. $SUPABASE_DR_NODE_VERSION=<x.y.z> asks for exactly that version instead (then
# only a node reporting exactly it is accepted from PATH).
# Progress goes to stderr; only the bin directory goes to stdout. $SUPABASE_DR_NODE_QUIET=1 silences
# the messages of the steps that change nothing (scripts/with-node.sh runs this before every command).
set -euo pipefail

# The newest 24.x (LTS line) the npm registry served on 2026-11-30, and the integrity `npm view
# node-linux-<arch>@<version> dist.integrity` gave. Raise all three together.
PINNED_VERSION=24.22.3
PINNED_INTEGRITY_X64=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
PINNED_INTEGRITY_ARM64=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==

log() { printf 'ensure-node: %s\n' "$*" >&2; }
note() { [[ "${SUPABASE_DR_NODE_QUIET:-}" == 1 ]] || log "$@"; }
die() { printf 'ensure-node: error: %s\n' "$*" >&2; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# version_ge A B: A >= B for dotted numeric versions (missing parts count as 0).
version_ge() {
  local IFS=. i
  local -a a=($1) b=($2)
  for i in 0 1 2; do
    ((10#${a[i]:-0} > 10#${b[i]:-0})) && return 0
    ((10#${a[i]:-0} < 10#${b[i]:-0})) && return 1
  done
  return 0
}

# The minimum comes from package.json, the one place the requirement is declared. Read with a regular
# expression rather than node: the node on PATH may be missing or too old to be trusted with anything.
package_json="$repo_root/package.json"
[[ -f "$package_json" ]] || die "package.json not found in $repo_root"
engines_re='"engines"[[:space:]]*:[[:space:]]*\{[^}]*"node"[[:space:]]*:[[:space:]]*"([^"]*)"'
[[ "$(<"$package_json")" =~ $engines_re ]] || die "$package_json has no \"engines\": { \"node\": ... } entry"
engines_node=${BASH_REMATCH[1]}
[[ "$engines_node" =~ ^\>=[[:space:]]*v?([0-9]+(\.[0-9]+){0,2})$ ]] ||
  die "$package_json \"engines.node\" is \"$engines_node\"; this script understands only \">=X[.Y[.Z]]\""
minimum=${BASH_REMATCH[1]}

wanted=${SUPABASE_DR_NODE_VERSION:-}
if [[ -n "$wanted" ]]; then
  [[ "$wanted" =~ ^v?([0-9]+\.[0-9]+\.[0-9]+)$ ]] || die "SUPABASE_DR_NODE_VERSION=$wanted is not a version like 24.22.3"
  wanted=${BASH_REMATCH[1]}
  version_ge "$wanted" "$minimum" || die "SUPABASE_DR_NODE_VERSION=$wanted does not satisfy engines.node \"$engines_node\" in $package_json"
  install_version=$wanted
else
  version_ge "$PINNED_VERSION" "$minimum" ||
    die "the pinned Node $PINNED_VERSION does not satisfy engines.node \"$engines_node\": raise PINNED_VERSION in $0"
  install_version=$PINNED_VERSION
fi

# acceptable VERSION: whether a node reporting vVERSION may be used.
acceptable() {
  if [[ -n "$wanted" ]]; then [[ "$1" == "$wanted" ]]; else version_ge "$1" "$minimum"; fi
}

# node_version BINARY: the version a node binary reports, without the "v", or nothing if it does not run.
node_version() {
  local v
  v=$("$1" --version 2>/dev/null) || return 0
  v=${v#v}
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && printf '%s' "$v"
  return 0
}

# 1. The machine's node.
if path_node=$(command -v node 2>/dev/null); then
  path_version=$(node_version "$path_node")
  if [[ -n "$path_version" ]] && acceptable "$path_version"; then
    note "using node v$path_version from PATH ($path_node)"
    dirname "$path_node"
    exit 0
  fi
  if [[ -n "$path_version" ]]; then
    note "node on PATH ($path_node) is v$path_version; need ${wanted:-$engines_node}"
  else
    note "node on PATH ($path_node) does not run or reports no version; need ${wanted:-$engines_node}"
  fi
fi

# 2. The cache.
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
prefix="$cache_root/node-v$install_version"
bin_dir="$prefix/bin"
if [[ -x "$bin_dir/node" && "$(node_version "$bin_dir/node")" == "$install_version" ]]; then
  note "using cached node v$install_version ($bin_dir)"
  echo "$bin_dir"
  exit 0
fi

# 3. Install from the npm registry.
case "$(uname -s)" in
  Linux) ;;
  *) die "installing Node is supported on Linux only (this is $(uname -s)); install Node $install_version (or any version satisfying \"$engines_node\") yourself and put it on PATH" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64; pinned_integrity=$PINNED_INTEGRITY_X64 ;;
  aarch64 | arm64) arch=arm64; pinned_integrity=$PINNED_INTEGRITY_ARM64 ;;
  *) die "no Node package for CPU $(uname -m) (supported: x86_64, aarch64); install Node $install_version yourself and put it on PATH" ;;
esac
# The official Linux binaries link against glibc; on musl (Alpine) they would not start.
# (musl's ldd exits non-zero for --version, hence no pipe under pipefail.)
ldd_version=$(ldd --version 2>&1 || true)
if [[ "$ldd_version" == *musl* ]]; then
  die "this Linux uses musl libc; the registry's Node binaries need glibc. Install Node $install_version from your distribution (apk add nodejs) instead"
fi
command -v npm >/dev/null 2>&1 ||
  die "npm is needed to fetch Node $install_version from the npm registry, and none is on PATH. Install any Node.js with npm first (e.g. apt-get install nodejs npm)"

package="node-linux-$arch@$install_version"
if [[ "$install_version" == "$PINNED_VERSION" ]]; then
  expected_integrity=$pinned_integrity
else
  expected_integrity=$(npm view "$package" dist.integrity 2>/dev/null) || true
  [[ "$expected_integrity" == sha512-* ]] ||
    die "the npm registry ($(npm config get registry)) has no $package (or no SHA-512 integrity for it)"
fi

start=$(date +%s)
mkdir -p "$cache_root"
work=$(mktemp -d "${TMPDIR:-/tmp}/supabase-dr-node.XXXXXX")
# Unpack into a private directory and move it into place at the end: concurrent runs never see a
# half-written node.
partial=$(mktemp -d "$cache_root/node-v$install_version.partial.XXXXXX")
trap 'rm -rf "$work" "$partial"' EXIT

log "fetching $package from the npm registry (first time only; about 50 MB)"
(cd "$work" && npm pack "$package" --silent >/dev/null) ||
  die "npm pack $package failed (registry: $(npm config get registry)); see npm's message above"
tarballs=("$work"/*.tgz)
[[ ${#tarballs[@]} -eq 1 && -f "${tarballs[0]}" ]] || die "npm pack $package produced no single tarball in $work"
tarball=${tarballs[0]}

# npm has already checked the tarball against the registry's metadata; this checks it against the
# integrity pinned above, so a registry (or mirror) serving other bytes under this version is refused.
# npm runs on some node, so one is there to hash with, whatever its version.
actual_integrity=$(node -e '
  const data = require("fs").readFileSync(process.argv[1]);
  process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(data).digest("base64"));' "$tarball") ||
  die "could not compute the SHA-512 of $tarball"
[[ "$actual_integrity" == "$expected_integrity" ]] ||
  die "integrity mismatch for $package: expected $expected_integrity, got $actual_integrity; nothing was installed"

mkdir -p "$partial/bin"
tar -xzf "$tarball" -C "$partial" --strip-components=1 package/bin/node package/LICENSE ||
  die "$package does not contain package/bin/node"
chmod 755 "$partial" "$partial/bin" "$partial/bin/node"
got=$(node_version "$partial/bin/node")
[[ "$got" == "$install_version" ]] ||
  die "the node from $package does not run here or reports the wrong version (got '${got:-nothing}', expected $install_version)"

if [[ -x "$bin_dir/node" && "$(node_version "$bin_dir/node")" == "$install_version" ]]; then
  log "another run installed node v$install_version first; keeping it"
else
  rm -rf "$prefix"
  mv "$partial" "$prefix"
fi
log "node v$install_version ready in $bin_dir ($(($(date +%s) - start))s)"
echo "$bin_dir"
