#!/usr/bin/env bash
# Makes the supabase-dr resource provider plugin available to the Pulumi engine, and prints the plugin
# directory that holds it as the LAST line of its output:
#
#     scripts/ensure-provider.sh [plugins-dir]
#
# The plugin is installed as <plugins-dir>/resource-supabase-dr-v<version>/ (version: package.json),
# the layout of PULUMI_HOME/plugins, where the engine looks for the version a resource asks for.
# plugins-dir defaults to $SUPABASE_DR_PLUGINS_DIR, else ~/.cache/supabase-dr/plugin-sets/<sources hash>
# (or under $SUPABASE_DR_CACHE): a directory outside any checkout, so the plugin, like the state that
# names it, outlives the checkout that built it. lib/pulumi/engine.ts points the engine's private
# PULUMI_HOME/plugins at it; scripts/ensure-pulumi.sh also installs into ${PULUMI_HOME:-~/.pulumi}/plugins
# for the `pulumi` CLI.
#
# Built ahead of time, once per version and sources: scripts/build-provider.mjs bundles provider/main.ts
# with everything it imports into one JavaScript file, and a launcher runs it with the `node` on PATH.
# Builds are kept by sources hash in ~/.cache/supabase-dr/provider-builds/ (the last 5), so switching
# between checkouts does not rebuild; the installed copy is replaced only when the sources differ.
# Progress goes to stderr; only the plugin directory goes to stdout.
set -euo pipefail

log() { printf 'ensure-provider: %s\n' "$*" >&2; }
die() { printf 'ensure-provider: error: %s\n' "$*" >&2; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v node >/dev/null 2>&1 || die "node is not on PATH (the plugin runs with it)"
[[ -f "$repo_root/node_modules/esbuild/package.json" ]] || die "node_modules/esbuild is missing in $repo_root: run 'npm ci' first"

# Read without starting node: this runs before every engine run, and is usually a no-op.
version=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$repo_root/package.json" | head -n 1)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$ ]] || die "package.json version '$version' is not a semantic version"
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
builds_dir="$cache_root/provider-builds"

# What the bundle is made of, by path relative to the checkout and content: the same sources in two
# checkouts give the same hash (no rebuild), any edit gives a new one.
sources=$(cd "$repo_root" && {
  find provider lib -type f \( -name '*.ts' -o -name '*.sql' -o -name '*.json' \) -print
  printf '%s\n' package.json package-lock.json scripts/build-provider.mjs scripts/ensure-provider.sh
} | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)

# By default each set of sources gets its own plugin directory, plugin-sets/<sources>/: two checkouts
# (or a checkout being edited while another one's tests run) never swap each other's plugin under a
# running engine. A stack names only the plugin's version, so any checkout at that version can refresh
# or destroy it with its own set.
plugins_dir=${1:-${SUPABASE_DR_PLUGINS_DIR:-$cache_root/plugin-sets/$sources}}
mkdir -p "$plugins_dir" "$builds_dir"
plugins_dir=$(cd "$plugins_dir" && pwd)

target="$plugins_dir/resource-supabase-dr-v$version"
installed_sources() { # the sources hash of an installed or built plugin directory, or nothing
  [[ -f "$1/build.json" ]] && sed -n 's/.*"sources": *"\([0-9a-f]*\)".*/\1/p' "$1/build.json" || true
}
if [[ "$(installed_sources "$target")" == "$sources" ]]; then
  log "plugin resource-supabase-dr-v$version is up to date in $plugins_dir"
  echo "$plugins_dir"
  exit 0
fi

# One build and one install at a time on this machine (concurrent drills, test workers).
exec 9>"$builds_dir/.lock"
flock 9

build="$builds_dir/v$version-$sources"
if [[ "$(installed_sources "$build")" != "$sources" ]]; then
  start=$(date +%s)
  log "building the supabase-dr provider v$version (sources $sources)"
  partial=$(mktemp -d "$builds_dir/.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  node "$repo_root/scripts/build-provider.mjs" "$partial" || die "building the provider bundle failed (see above)"
  cat >"$partial/pulumi-resource-supabase-dr" <<EOF
#!/bin/sh
# supabase-dr resource provider v$version (sources $sources), built by scripts/ensure-provider.sh.
# Runs the bundle beside this script with the node on PATH; it needs no node_modules and no checkout.
# Shell built-ins only before the exec: anything this script started would inherit the engine's
# environment (PULUMI_CONFIG holds the program's secrets, decrypted).
case "\$0" in */*) dir=\${0%/*} ;; *) dir=. ;; esac
exec node "\$dir/main.js" "\$@"
EOF
  chmod 755 "$partial/pulumi-resource-supabase-dr"
  cat >"$partial/PulumiPlugin.yaml" <<EOF
# supabase-dr resource provider v$version. The engine runs the executable pulumi-resource-supabase-dr
# beside this file; the runtime below is what that executable needs.
runtime: nodejs
EOF
  printf '{ "name": "supabase-dr", "version": "%s", "sources": "%s", "builtAt": "%s" }\n' \
    "$version" "$sources" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$partial/build.json"
  chmod 755 "$partial"
  rm -rf "$build"
  mv "$partial" "$build"
  trap - EXIT
  log "built in $(( $(date +%s) - start ))s"
  # Keep the five newest builds, and the plugin sets of the ten newest sources.
  ls -1dt "$builds_dir"/v* 2>/dev/null | tail -n +6 | xargs -r rm -rf
  ls -1dt "$cache_root/plugin-sets"/* 2>/dev/null | tail -n +11 | xargs -r rm -rf
fi

# Install: a full copy (the engine skips symlinked plugin directories), swapped in by rename so the
# engine never sees a half-copied plugin. Names starting with a dot are not plugins to the engine.
if [[ "$(installed_sources "$target")" != "$sources" ]]; then
  staging=$(mktemp -d "$plugins_dir/.supabase-dr-install.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  cp -a "$build/." "$staging/"
  chmod 755 "$staging"
  old=""
  if [[ -e "$target" ]]; then
    old="$plugins_dir/.supabase-dr-old.$$"
    mv "$target" "$old"
  fi
  mv "$staging" "$target"
  trap - EXIT
  [[ -n "$old" ]] && rm -rf "$old"
  log "installed resource-supabase-dr-v$version in $plugins_dir"
fi
echo "$plugins_dir"
