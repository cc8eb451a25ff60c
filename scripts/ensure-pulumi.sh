#!/usr/bin/env bash
# Makes the Pulumi engine available at the version of @pulumi/pulumi in package-lock.json, and prints
# the directory that holds it as the LAST line of its output:
#
#     export PATH="$(scripts/ensure-pulumi.sh | tail -n 1):$PATH"
#
# Release binaries cannot be downloaded on our machines (the `pulumi` npm package only downloads them),
# but the Go module proxy is reachable, so the engine is built from its Go modules:
#   1. a `pulumi` already on PATH at the right version is used as is;
#   2. otherwise the cache (~/.cache/supabase-dr/pulumi-v<version>/bin, or $SUPABASE_DR_CACHE) is used;
#   3. otherwise the CLI is built with `go build` in a throw-away wrapper module. pkg/v3 carries
#      `replace` directives in its go.mod, which `go install module@version` refuses; the wrapper requires
#      pkg/v3 and sdk/v3 at the same version and repeats pkg/v3's non-local replaces.
# The Node.js language host is built from its Go module when the proxy serves it; when it does not
# (ours refuses that module), the project's own minimal host in tools/language-host-nodejs is built.
# The pulumi-resource-pulumi-nodejs script (dynamic providers, only for stacks made before the
# supabase-dr provider package) is installed beside them. The supabase-dr provider plugin is installed
# by scripts/ensure-provider.sh into the `pulumi` CLI's plugin directory, ${PULUMI_HOME:-~/.pulumi}/plugins,
# for prod/staging stacks run with the CLI (drill runs use their own directory: lib/pulumi/engine.ts
# sets SUPABASE_DR_SKIP_CLI_PLUGIN=1).
# Progress goes to stderr; only the bin directory goes to stdout.
set -euo pipefail

log() { printf 'ensure-pulumi: %s\n' "$*" >&2; }
die() { printf 'ensure-pulumi: error: %s\n' "$*" >&2; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

version=${PULUMI_VERSION:-}
if [[ -z "$version" ]]; then
  [[ -f "$repo_root/package-lock.json" ]] || die "package-lock.json not found in $repo_root"
  version=$(node -e '
    const lock = require(process.argv[1]);
    const p = lock.packages && lock.packages["node_modules/@pulumi/pulumi"];
    if (!p) process.exit(3);
    console.log(p.version);' "$repo_root/package-lock.json") ||
    die "@pulumi/pulumi is not in package-lock.json: run npm install first"
fi
sdk_dir="$repo_root/node_modules/@pulumi/pulumi"
[[ -d "$sdk_dir" ]] || die "node_modules/@pulumi/pulumi is missing: run 'npm ci' first"

cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
bin_dir="$cache_root/pulumi-v$version/bin"

installed_version() { # prints the version a pulumi binary reports, or nothing
  "$1" version 2>/dev/null | tr -d '[:space:]' || true
}

install_dynamic_provider_script() {
  # The script resolves @pulumi/pulumi from the plugin's working directory; the project's
  # node_modules is its fallback so that inline programs in temp work dirs find it too.
  cat >"$1/pulumi-resource-pulumi-nodejs" <<EOF
#!/bin/sh
# Installed by supabase-dr's scripts/ensure-pulumi.sh from @pulumi/pulumi $version.
script=\$(node -e "try { console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider')) } catch { }" 2>/dev/null)
if [ -z "\$script" ]; then
  script="\${SUPABASE_DR_NODE_MODULES:-$repo_root/node_modules}/@pulumi/pulumi/cmd/dynamic-provider/index.js"
fi
exec node "\$script" "\$@"
EOF
  chmod +x "$1/pulumi-resource-pulumi-nodejs"
}

install_provider_for_cli() {
  [[ "${SUPABASE_DR_SKIP_CLI_PLUGIN:-}" == "1" ]] && return 0
  bash "$repo_root/scripts/ensure-provider.sh" "${PULUMI_HOME:-$HOME/.pulumi}/plugins" >/dev/null
}

# 1. A pulumi on PATH at the right version, with its language host beside it.
if path_pulumi=$(command -v pulumi 2>/dev/null) && [[ "$(installed_version "$path_pulumi")" == "v$version" ]]; then
  dir=$(dirname "$path_pulumi")
  if [[ -x "$dir/pulumi-language-nodejs" && -x "$dir/pulumi-resource-pulumi-nodejs" ]]; then
    log "using pulumi v$version from PATH ($dir)"
    install_provider_for_cli
    echo "$dir"
    exit 0
  fi
fi

# 2. The cache.
if [[ -x "$bin_dir/pulumi" && -x "$bin_dir/pulumi-language-nodejs" && "$(installed_version "$bin_dir/pulumi")" == "v$version" ]]; then
  install_dynamic_provider_script "$bin_dir" # cheap, and follows a moved checkout
  log "using cached pulumi v$version ($bin_dir)"
  install_provider_for_cli
  echo "$bin_dir"
  exit 0
fi

# 3. Build.
command -v go >/dev/null 2>&1 || die "Go is not installed (needed to build the Pulumi engine v$version). Install Go >= 1.24 or put a pulumi v$version on PATH."
export GOFLAGS=${GOFLAGS:--mod=mod}
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/supabase-dr-pulumi-build.XXXXXX")
# Build into a private directory and move it into place at the end: concurrent runs (two test
# processes, say) never see or clobber a half-built bin directory.
mkdir -p "$(dirname "$bin_dir")"
partial=$(mktemp -d "$(dirname "$bin_dir")/bin.partial.XXXXXX")
trap 'rm -rf "$work" "$partial"' EXIT

proxy_error() {
  die "could not fetch $1 from the Go module proxy (${GOPROXY:-$(go env GOPROXY)}). Check network access to the proxy; details above."
}

log "building pulumi v$version from Go modules (first time only; takes several minutes)"
mod_json=$(cd "$work" && go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" 2>&1) || { printf '%s\n' "$mod_json" >&2; proxy_error "github.com/pulumi/pulumi/pkg/v3@v$version"; }
gomod=$(printf '%s' "$mod_json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')

# The wrapper repeats pkg/v3's replace directives, except the local ones (=> ../sdk): those point
# into the pulumi repository, and the wrapper requires sdk/v3 at the same version instead.
replaces=$(awk '
  /^replace \(/ { block=1; next }
  block && /^\)/ { block=0; next }
  block { print; next }
  /^replace / { sub(/^replace /, ""); print }' "$gomod" | grep -v '=> \.' || true)

mkdir -p "$work/cli"
cat >"$work/cli/go.mod" <<EOF
module supabase-dr/pulumi-engine-build

go 1.24

require (
	github.com/pulumi/pulumi/pkg/v3 v$version
	github.com/pulumi/pulumi/sdk/v3 v$version
)
EOF
while IFS= read -r line; do
  [[ -n "${line// }" ]] && printf 'replace %s\n' "$line" >>"$work/cli/go.mod"
done <<<"$replaces"
cat >"$work/cli/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
(cd "$work/cli" && go mod tidy >&2) || proxy_error "the dependencies of pulumi v$version"
(cd "$work/cli" && go build -trimpath -ldflags "$ldflags" -o "$partial/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2) ||
  die "go build of the pulumi CLI failed (see above)"
log "built pulumi CLI in $(( $(date +%s) - start ))s"

# Language host: upstream module first, the project's own host when the proxy refuses it.
lang_mod="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
mkdir -p "$work/lang"
if (cd "$work" && go mod download "$lang_mod@v$version" >/dev/null 2>&1); then
  log "building the upstream Node.js language host"
  cat >"$work/lang/go.mod" <<EOF
module supabase-dr/pulumi-language-build

go 1.24

require (
	$lang_mod v$version
	github.com/pulumi/pulumi/pkg/v3 v$version
	github.com/pulumi/pulumi/sdk/v3 v$version
)
EOF
  while IFS= read -r line; do
    [[ -n "${line// }" ]] && printf 'replace %s\n' "$line" >>"$work/lang/go.mod"
  done <<<"$replaces"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$lang_mod" >"$work/lang/tools.go"
  (cd "$work/lang" && go mod tidy >&2 && go build -trimpath -ldflags "$ldflags" -o "$partial/pulumi-language-nodejs" "$lang_mod" >&2) ||
    die "go build of the Node.js language host failed (see above)"
else
  log "the proxy does not serve $lang_mod@v$version; building tools/language-host-nodejs instead"
  cp -r "$repo_root/tools/language-host-nodejs/." "$work/lang/"
  (cd "$work/lang" && go mod edit -require="github.com/pulumi/pulumi/sdk/v3@v$version" && go mod tidy >&2 &&
    go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$partial/pulumi-language-nodejs" . >&2) ||
    die "go build of tools/language-host-nodejs failed (see above)"
fi

install_dynamic_provider_script "$partial"
chmod 755 "$partial"
if [[ -x "$bin_dir/pulumi" && "$(installed_version "$bin_dir/pulumi")" == "v$version" && -x "$bin_dir/pulumi-language-nodejs" ]]; then
  log "another run finished the build first; keeping its binaries"
else
  rm -rf "$bin_dir"
  mv "$partial" "$bin_dir"
fi
log "pulumi v$version ready in $bin_dir ($(( $(date +%s) - start ))s)"
install_provider_for_cli
echo "$bin_dir"
