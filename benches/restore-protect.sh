#!/usr/bin/env bash
# restore-protect.sh - what rollback protection costs a restore (issue 15).
#
# Usage: benches/restore-protect.sh WORK_DIR [RUNS]
#
# On WORK_DIR (put it on a tmpfs: `mount -t tmpfs -o size=8g tmpfs /mnt/ram`), with the
# dataset of ../shared/bench/peers.sh (DATASET, default: built by `peers.sh make-dataset`)
# and its seeded next-day change:
#   day 1: the dataset, backed up by vcd and by restic, and restored by vcd into `template`
#          (a target that holds the previous day's data);
#   day 2: the next-day change, backed up by both.
# Then RUNS times (default 5), in turn:
#   protected  `vcd restore` of day 2 over a fresh copy of `template`, with --delete: the
#              rollback image of the target is taken first (the default)
#   plain      `vcd restore` of day 2 into an empty directory (nothing to protect)
#   unprot     the same as protected with --no-rollback (what the image alone costs)
#   restic     `restic restore` of day 2 into an empty directory
# Each timed under /usr/bin/time (wall seconds, peak RSS); the copy of the template is not
# timed (nor the 2 s after it: see below). Prints each run and the medians with the ratios
# protected/plain and restic/protected.
set -euo pipefail

W=${1:?usage: restore-protect.sh WORK_DIR [RUNS]}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers.sh}
VCD=${VCD:-$ROOT/target/release/vcd}
export VCD_PASSWORD=bench RESTIC_PASSWORD=bench
mkdir -p "$W"
W=$(cd "$W" && pwd)
rm -rf "${W:?}"/*

if [ -z "${DATASET:-}" ]; then
    DATASET=$W/dataset
    bash "$PEERS" make-dataset "$DATASET" >/dev/null
fi
cp -a "$DATASET" "$W/src"
"$VCD" -q init -r "$W/repo"
"$VCD" -q backup -r "$W/repo" "$W/src"
restic -q init -r "$W/restic" >/dev/null
restic -q backup -r "$W/restic" "$W/src" >/dev/null
"$VCD" -q restore -r "$W/repo" latest --target "$W/template"
bash "$PEERS" mutate "$W/src" >/dev/null
"$VCD" -q backup -r "$W/repo" "$W/src"
restic -q backup -r "$W/restic" "$W/src" >/dev/null
day2=$("$VCD" snapshots -r "$W/repo" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
rm -rf "$W/src"
sync

# time NAME CMD...: appends "NAME wall_s peak_kib" to $W/times.
t() {
    local name=$1
    shift
    /usr/bin/time -f "$name %e %M" -a -o "$W/times" "$@" >/dev/null
}
: >"$W/times"
for i in $(seq "$RUNS"); do
    # The copy's change times are seconds old: a restore trusts no file changed within a
    # second of its image, and a real target holds yesterday's data. Wait that second out.
    rm -rf "$W/t" && cp -a "$W/template" "$W/t" && sync && sleep 2
    t protected "$VCD" -q restore -r "$W/repo" "$day2" --target "$W/t" --delete
    rm -rf "$W/t" && cp -a "$W/template" "$W/t" && sync && sleep 2
    t unprot "$VCD" -q restore -r "$W/repo" "$day2" --target "$W/t" --delete --no-rollback
    rm -rf "$W/t" && sync
    t plain "$VCD" -q restore -r "$W/repo" "$day2" --target "$W/t"
    rm -rf "$W/t" && sync
    t restic restic -q restore -r "$W/restic" latest --target "$W/t"
    rm -rf "$W/t" && sync
    echo "run $i done" >&2
done
cat "$W/times"
python3 - "$W/times" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    runs.setdefault(name, []).append((float(wall), int(rss)))
med = {n: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v) / 1024)
       for n, v in runs.items()}
print("| restore | median wall (s) | median peak RSS (MiB) |")
print("|---|---:|---:|")
for n in ("protected", "unprot", "plain", "restic"):
    if n in med:
        print(f"| {n} | {med[n][0]:.2f} | {med[n][1]:.0f} |")
p, q, r = med["protected"][0], med["plain"][0], med["restic"][0]
print(f"\nprotected / plain: {p / q:.3f}x; restic / protected: {r / p:.2f}x; "
      f"restic / plain: {r / q:.2f}x")
EOF
