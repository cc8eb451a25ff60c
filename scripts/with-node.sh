#!/usr/bin/env bash
# Runs a command under the Node.js that package.json's "engines.node" asks for:
#
#     scripts/with-node.sh <command> [args...]      e.g. scripts/with-node.sh npm ci
#
# package.json's scripts go through it (`npm test` runs `bash scripts/with-node.sh vitest run`,
# `npm run drill` runs `bash scripts/with-node.sh bash scripts/run-cli.sh drill`), so they run on a
# suitable Node even where the machine's own `node` is older. scripts/ensure-node.sh finds or installs
# that Node; its directory goes first on PATH, so that everything the command starts by name runs on it
# too: the bundled commands (scripts/run-cli.sh runs `node`), vitest and tsx (`#!/usr/bin/env node`),
# the Pulumi engine's language host and the provider plugins, which all run `node` from PATH. npm puts the node that runs npm itself in
# $NODE and $npm_node_execpath; they are pointed at the same Node, for tools that read them.
set -euo pipefail

(($# > 0)) || { printf 'usage: %s <command> [args...]\n' "$0" >&2; exit 2; }

# Nothing but shell built-ins runs with the command's environment (its secrets, for `npm run drill`)
# except the command itself: no `dirname` or `tail` here, the helper through scripts/helper-env.sh.
case ${BASH_SOURCE[0]} in */*) here=${BASH_SOURCE[0]%/*} ;; *) here=. ;; esac
here=$(CDPATH= cd -- "$here" && pwd)
# shellcheck source=scripts/helper-env.sh
source "$here/helper-env.sh"
helper_out=$(SUPABASE_DR_NODE_QUIET=${SUPABASE_DR_NODE_QUIET:-1} run_helper bash "$here/ensure-node.sh")
bin_dir=${helper_out##*$'\n'}
[[ -x "$bin_dir/node" ]] || { printf 'with-node: scripts/ensure-node.sh gave no node (got "%s")\n' "$bin_dir" >&2; exit 1; }

# When the node already first on PATH is the one to use, PATH is left alone: putting its directory
# (often /usr/bin) in front would also put every other tool there ahead of node_modules/.bin.
current=$(command -v node 2>/dev/null || true)
if [[ -z "$current" || "${current%/*}" != "$bin_dir" ]]; then
  export PATH="$bin_dir:$PATH"
fi
[[ -z "${NODE:-}" ]] || export NODE="$bin_dir/node"
[[ -z "${npm_node_execpath:-}" ]] || export npm_node_execpath="$bin_dir/node"
exec "$@"
