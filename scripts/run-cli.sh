#!/usr/bin/env bash
# Runs a command-line entry of this checkout from its ahead-of-time bundle:
#
#     scripts/run-cli.sh <name> [args...]        e.g. scripts/run-cli.sh drill --env staging
#
# runs scripts/<name>.ts as bundled by scripts/ensure-cli.sh (built first when the sources changed),
# with the `node` on PATH; package.json's scripts run it through scripts/with-node.sh, which puts the
# Node that "engines.node" asks for there. The command runs in place of this script (same process id,
# signals and exit status), with $SUPABASE_DR_CLI_CHECKOUT naming this checkout: the bundle is shared
# by checkouts with the same sources and finds this one's files (scripts/, node_modules/) through it.
set -euo pipefail

(($# > 0)) || { printf 'usage: %s <name> [args...]\n' "$0" >&2; exit 2; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=$1
shift
bundle=$(bash "$repo_root/scripts/ensure-cli.sh" "$name" | tail -n 1)
[[ -f "$bundle" ]] || { printf 'run-cli: scripts/ensure-cli.sh gave no bundle for %s (got "%s")\n' "$name" "$bundle" >&2; exit 1; }
SUPABASE_DR_CLI_CHECKOUT=$repo_root exec node "$bundle" "$@"
