#!/usr/bin/env bash
# Runs ../shared/bench/peers.sh (restic, borg; rustic when installed) with vcd plugged in as the
# "new" tool, so all tools are measured in one run on the same data.
#   benches/peers-vcd.sh            (dataset at /work/bench/dataset, work dir /mnt/ram/work)
# Build first: cargo build --release -p vcd-cli. Make the dataset with
#   bash ../shared/bench/peers.sh make-dataset /work/bench/dataset
# and put the work dir on a tmpfs (mount -t tmpfs -o size=14g tmpfs /mnt/ram).
here=$(cd "$(dirname "$0")/.." && pwd)
DATASET=${DATASET:-/work/bench/dataset}
WORK=${WORK:-/mnt/ram/work}
export PEERS_PASSWORD=peerbench-password VCD_PASSWORD=peerbench-password
export VCD_CACHE_DIR=$WORK/vcd/cache
export NEW_NAME=vcd
export NEW_VERSION='$here/target/release/vcd --version'
export NEW_INIT='$here/target/release/vcd --repo {repo} init -q'
export NEW_BACKUP='$here/target/release/vcd --repo {repo} backup -q {src}'
export NEW_RESTORE='$here/target/release/vcd --repo {repo} restore -q latest --target {dst}'
export NEW_CHECK='$here/target/release/vcd --repo {repo} check -q --read-data'
export NEW_CACHE=$WORK/vcd/cache
TOOLS="${TOOLS:-new restic borg}" bash "$here/../shared/bench/peers.sh" run "$DATASET" "$WORK"
