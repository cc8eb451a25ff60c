# Sourced by scripts/with-node.sh and scripts/run-cli.sh: runs a tool-finding helper (ensure-node.sh,
# ensure-cli.sh) without the command's secrets.
#
# Why: `npm run drill` gets SOURCE_DB_URL, cloud keys, tokens and the state passphrase in its
# environment (weekly-drill.yml's step env), and everything a wrapper starts inherits them. The
# helpers only find or build Node.js and the command's bundle: they get the variables that locate,
# fetch and cache tools, and nothing else. An allowlist, so a secret variable added later is dropped
# without anyone remembering to list it here.

# Runs "$@" with only the tool-locating variables of this environment.
run_helper() {
  (
    local name
    for name in $(compgen -e); do
      case $name in
        PATH | HOME | USER | LOGNAME | SHELL | TMPDIR | TERM | TZ | LANG | LANGUAGE | LC_* | XDG_* | SUPABASE_DR_*) ;;
        http_proxy | https_proxy | no_proxy | all_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY | ALL_PROXY) ;;
        SSL_CERT_FILE | SSL_CERT_DIR | CURL_CA_BUNDLE | NODE_EXTRA_CA_CERTS) ;;
        # ensure-node.sh fetches Node with `npm pack`: the registry, its credentials and cache as the
        # user configured them (`npm run` exports its settings as npm_config_*).
        npm_config_* | NPM_CONFIG_*) ;;
        *) unset "$name" 2>/dev/null || true ;;
      esac
    done
    exec "$@"
  )
}
