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
# Nothing but shell built-ins runs with the command's environment (its secrets, for `npm run drill`)
# except the command itself: no `dirname` or `tail` here, the helper through scripts/helper-env.sh.
case ${BASH_SOURCE[0]} in */*) here=${BASH_SOURCE[0]%/*} ;; *) here=. ;; esac
repo_root=$(CDPATH= cd -- "$here/.." && pwd)
# shellcheck source=scripts/helper-env.sh
source "$repo_root/scripts/helper-env.sh"
name=$1
shift
# Its last line is the bundle's path.
helper_out=$(run_helper bash "$repo_root/scripts/ensure-cli.sh" "$name")
bundle=${helper_out##*$'\n'}
[[ -f "$bundle" ]] || { printf 'run-cli: scripts/ensure-cli.sh gave no bundle for %s (got "%s")\n' "$name" "$bundle" >&2; exit 1; }
SUPABASE_DR_CLI_CHECKOUT=$repo_root exec node "$bundle" "$@"
