#!/usr/bin/env bash
# End-to-end check of our Node.js language host with the real Pulumi CLI:
# builds the host the way scripts/ensure-pulumi.sh does (in a copy of this
# directory), puts it beside the cached `pulumi`, and runs a tiny TypeScript
# program through `pulumi up` against a local file backend.
#
# Usage: tools/language-host-nodejs/e2e.sh
# Env:   PULUMI_BIN_DIR  dir holding pulumi + pulumi-resource-pulumi-nodejs
#                        (default: the ensure-pulumi.sh cache for the locked version)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
node_modules="$repo_root/node_modules"
[[ -d "$node_modules/@pulumi/pulumi" ]] || { echo "FAIL: $node_modules/@pulumi/pulumi missing (run npm ci)"; exit 1; }
version=$(node -p 'require(process.argv[1]).version' "$node_modules/@pulumi/pulumi/package.json")
cache_root=${SUPABASE_DR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-dr}
src_bin=${PULUMI_BIN_DIR:-$cache_root/pulumi-v$version/bin}
[[ -x "$src_bin/pulumi" ]] || { echo "FAIL: no pulumi in $src_bin (run scripts/ensure-pulumi.sh)"; exit 1; }

tmp=$(mktemp -d /tmp/lh-e2e.XXXXXX)
# Set LH_E2E_KEEP_TMP=1 to keep the temp dir (logs, state) for debugging.
if [[ -n "${LH_E2E_KEEP_TMP:-}" ]]; then trap 'echo "kept $tmp"' EXIT; else trap 'rm -rf "$tmp"' EXIT; fi

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. Build exactly as the build script does.
mkdir -p "$tmp/bin" "$tmp/src"
cp "$here"/*.go "$here"/go.mod "$here"/go.sum "$tmp/src/"
if (cd "$tmp/src" &&
    go mod edit -require="github.com/pulumi/pulumi/sdk/v3@v$version" &&
    go mod tidy &&
    go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$tmp/bin/pulumi-language-nodejs" .) >"$tmp/build.log" 2>&1; then
  pass "build pulumi-language-nodejs"
else
  cat "$tmp/build.log"; fail "build pulumi-language-nodejs"; exit 1
fi
cp "$src_bin/pulumi" "$src_bin/pulumi-resource-pulumi-nodejs" "$tmp/bin/"

# 2. A throw-away project using the repo's node_modules.
proj="$tmp/proj"
mkdir -p "$proj" "$tmp/state" "$tmp/home"
cat >"$proj/Pulumi.yaml" <<'YAML'
name: lh-e2e
runtime:
  name: nodejs
  options:
    typescript: true
YAML
cat >"$proj/package.json" <<JSON
{ "name": "lh-e2e", "private": true, "dependencies": { "@pulumi/pulumi": "$version" } }
JSON
cat >"$proj/tsconfig.json" <<'JSON'
{ "compilerOptions": { "strict": true, "target": "ES2022", "module": "commonjs",
  "moduleResolution": "node", "esModuleInterop": true, "skipLibCheck": true } }
JSON
cat >"$proj/index.ts" <<'TS'
import * as pulumi from "@pulumi/pulumi";
const cfg = new pulumi.Config();
export const greeting = "hello " + cfg.require("who");
export const secretLen = cfg.requireSecret("token").apply(t => t.length);
TS
ln -s "$node_modules" "$proj/node_modules"

export PATH="$tmp/bin:$PATH"
export PULUMI_BACKEND_URL="file://$tmp/state"
export PULUMI_CONFIG_PASSPHRASE=test
export PULUMI_HOME="$tmp/home"
export PULUMI_SKIP_UPDATE_CHECK=true
# Never fetch plugins from the network; everything needed is on PATH.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
cd "$proj"

# step NAME CMD...: run a command, log its output, PASS/FAIL on exit status.
step() {
  local name=$1; shift
  if "$@" >"$tmp/out.log" 2>&1; then pass "$name"; else cat "$tmp/out.log"; fail "$name"; fi
}

step "stack init" pulumi stack init dev --non-interactive
step "config set who" pulumi config set who world
step "config set --secret token" pulumi config set --secret token abcd
step "pulumi up" pulumi up --yes --non-interactive

got=$(pulumi stack output greeting 2>&1)
[[ "$got" == "hello world" ]] && pass "output greeting = '$got'" || fail "output greeting: got '$got', want 'hello world'"
got=$(pulumi stack output secretLen --show-secrets 2>&1)
[[ "$got" == "4" ]] && pass "secret config reached program (secretLen = $got)" || fail "secretLen: got '$got', want 4"
got=$(pulumi stack output secretLen 2>&1)
[[ "$got" == "[secret]" ]] && pass "secretLen stays secret" || fail "secretLen not secret: got '$got'"

step "pulumi about" pulumi about --non-interactive
cp "$tmp/out.log" "$tmp/about.log"
# About reports node's version without the "v"; the engine prints it as the runtime version.
node_version=$(node --version); node_version=${node_version#v}
grep -q "nodejs.*$node_version" "$tmp/about.log" && pass "about shows nodejs runtime" || { cat "$tmp/out.log"; fail "about: no nodejs runtime"; }

# 3. A failing program: up must fail and show the program's error.
cat >"$proj/index.ts" <<'TS'
throw new Error("lh-e2e deliberate failure");
TS
if pulumi up --yes --non-interactive >"$tmp/fail.log" 2>&1; then
  cat "$tmp/fail.log"; fail "failing program: pulumi up exited 0"
else
  pass "failing program: pulumi up exited non-zero"
  grep -q "lh-e2e deliberate failure" "$tmp/fail.log" && pass "failing program: error message shown" ||
    { cat "$tmp/fail.log"; fail "failing program: error message not shown"; }
fi

# A program that exits on its own with a plain non-zero code gets the host's generic message.
cat >"$proj/index.ts" <<'TS'
process.exit(3);
TS
if pulumi up --yes --non-interactive >"$tmp/exit.log" 2>&1; then
  cat "$tmp/exit.log"; fail "exit(3) program: pulumi up exited 0"
else
  grep -q "Program exited with non-zero exit code: 3" "$tmp/exit.log" && pass "exit(3) program: reported as exit code 3" ||
    { cat "$tmp/exit.log"; fail "exit(3) program: message not shown"; }
fi

# 4. Clean up the stack (destroy does not run the program).
step "pulumi destroy" pulumi destroy --yes --non-interactive
step "pulumi stack rm" pulumi stack rm --yes --non-interactive

if ((failures > 0)); then
  echo "e2e: $failures check(s) FAILED"
  exit 1
fi
echo "e2e: all checks passed"
