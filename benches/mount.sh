#!/usr/bin/env bash
# Measures the FUSE mount against `vcd restore` and against `restic mount`, in one run:
#   1. sequential read of one ~1 GiB file through the mount vs restoring the same file;
#   2. `ls -lR` over a snapshot of 100,000 files;
#   3. the mount process's peak memory after both.
#
#   benches/mount.sh WORK_DIR [BIG_FILE]
#
# BIG_FILE defaults to 1 GiB built from the Rust toolchains' and /usr/lib's libraries (real,
# compressible binaries), so compression and decompression are exercised as in real use.
#
# A/B mode, for changes to the mount itself (old and new binary, runs interleaved so that drift
# of the machine hits both alike):
#
#   benches/mount.sh --ab OLD_VCD NEW_VCD WORK_DIR SRC_DIR [RUNS]
#
# backs SRC_DIR up once (with OLD_VCD), then per run and binary mounts it (the packs stay in
# the page cache, so the mount's own work is what is measured), reads every file >= 1 MiB
# sequentially in 1 MiB reads (as benches/compare does) and records the throughput and the
# mount process's peak RSS (VmHWM); prints every run and the medians.
set -euo pipefail

if [ "${1:-}" = "--ab" ]; then
    old=$(realpath "${2:?OLD_VCD}"); new=$(realpath "${3:?NEW_VCD}")
    work=$(realpath -m "${4:?WORK_DIR}"); src=$(realpath "${5:?SRC_DIR}"); runs=${6:-3}
    rm -rf "$work"; mkdir -p "$work/mnt"
    export VCD_PASSWORD=bench VCD_CACHE_DIR=$work/vcd-cache
    "$old" init -r "$work/repo" -q
    "$old" backup -r "$work/repo" -q "$src"
    python3 - "$old" "$new" "$work" "$src" "$runs" <<'PY'
import os, statistics, subprocess, sys, time
old, new, work, src, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
mnt, MIB = os.path.join(work, "mnt"), 1 << 20
files = sorted(os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs
               if os.path.getsize(os.path.join(d, f)) >= MIB)
def mounted():
    return any(l.split()[4] == mnt for l in open("/proc/self/mountinfo"))
def one(exe):
    p = subprocess.Popen([exe, "-r", os.path.join(work, "repo"), "mount", "-q", mnt])
    while not mounted():
        time.sleep(0.05)
    base = os.path.join(mnt, "latest", src.lstrip("/"))
    buf, total = bytearray(MIB), 0
    t0 = time.perf_counter()
    for rel in files:
        with open(os.path.join(base, rel), "rb", buffering=0) as f:
            while (n := f.readinto(buf)):
                total += n
    secs = time.perf_counter() - t0
    hwm = next(int(l.split()[1]) for l in open("/proc/%d/status" % p.pid) if l.startswith("VmHWM"))
    p.terminate(); p.wait()
    return total / MIB / secs, hwm / 1024, total
res = {"old": [], "new": []}
for r in range(runs):
    for name, exe in (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old)):
        mbs, rss, total = one(exe)
        res[name].append((mbs, rss))
        print("run %d %s: %.0f MiB/s, peak RSS %.0f MiB (%d files, %.0f MiB)"
              % (r + 1, name, mbs, rss, len(files), total / MIB), flush=True)
print("| binary | runs | median MiB/s | median peak RSS (MiB) |\n|---|---:|---:|---:|")
for name in ("old", "new"):
    print("| %s | %d | %.0f | %.0f |" % (name, runs, statistics.median(x[0] for x in res[name]),
                                        statistics.median(x[1] for x in res[name])))
PY
    exit 0
fi
work=$(realpath -m "${1:?usage: benches/mount.sh WORK_DIR [BIG_FILE]}")
big=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
vcd=${VCD:-$here/target/release/vcd}
[ -x "$vcd" ] || (cd "$here" && cargo build --release -p vcd-cli)
command -v restic >/dev/null || { apt-get update -qq && apt-get install -y -qq restic; }
command -v fusermount3 >/dev/null || { apt-get update -qq && apt-get install -y -qq fuse3; }

rm -rf "$work"; mkdir -p "$work/src-big" "$work/src-many" "$work/mnt"
export VCD_PASSWORD=bench RESTIC_PASSWORD=bench VCD_CACHE_DIR=$work/vcd-cache RESTIC_CACHE_DIR=$work/restic-cache

if [ -z "$big" ]; then
    big=$work/src-big/big.bin
    # Real binaries: the libraries of every installed Rust toolchain, then /usr/lib, up to 1 GiB.
    find "$HOME"/.rustup/toolchains/*/lib /usr/lib -type f -size +1M -print0 2>/dev/null \
        | sort -z | xargs -0 cat 2>/dev/null | head -c 1073741824 > "$big" || true  # head closes the pipe early
else
    cp "$big" "$work/src-big/big.bin"; big=$work/src-big/big.bin
fi
size=$(stat -c %s "$big")
python3 - "$work/src-many" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    p = os.path.join(root, "d%03d" % d); os.makedirs(p)
    for f in range(1000):
        with open(os.path.join(p, "f%04d.txt" % f), "w") as fh:
            fh.write("file %d/%d\n" % (d, f))
PY
sync

secs() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.2f}")' "$1"; }
now() { date +%s.%N; }
mounted() { grep -q " $1 " /proc/self/mountinfo; }
wait_mount() { for _ in $(seq 600); do mounted "$1" && return 0; sleep 0.1; done; echo "mount not ready" >&2; return 1; }
hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }

# ---- vcd
"$vcd" init -r "$work/vcd-repo" -q
"$vcd" backup -r "$work/vcd-repo" -q "$work/src-big" --time 2026-11-20T00:00:00Z
"$vcd" backup -r "$work/vcd-repo" -q "$work/src-many" --time 2026-11-21T00:00:00Z
t=$(now); "$vcd" restore -r "$work/vcd-repo" -q --at 2026-11-20T00:00:01Z --target "$work/vcd-restore"
vcd_restore=$(secs "$t"); rm -rf "$work/vcd-restore"; sync
"$vcd" mount -r "$work/vcd-repo" "$work/mnt" -q & vpid=$!
wait_mount "$work/mnt"
t=$(now); cat "$work/mnt/2026-11-20T00:00:00Z$work/src-big/big.bin" > /dev/null; vcd_read=$(secs "$t")
cmp "$work/mnt/2026-11-20T00:00:00Z$work/src-big/big.bin" "$big"
t=$(now); ls -lR "$work/mnt/2026-11-21T00:00:00Z$work/src-many" > "$work/vcd-ls.txt"; vcd_ls=$(secs "$t")
vcd_files=$(grep -c '^-' "$work/vcd-ls.txt")
vcd_mem=$(hwm $vpid)
kill -TERM $vpid; wait $vpid || true

# ---- restic
restic -r "$work/restic-repo" init -q
restic -r "$work/restic-repo" backup -q "$work/src-big" --tag big
restic -r "$work/restic-repo" backup -q "$work/src-many" --tag many
t=$(now); restic -r "$work/restic-repo" restore -q latest --tag big --target "$work/restic-restore"; restic_restore=$(secs "$t")
rm -rf "$work/restic-restore"; sync
restic -r "$work/restic-repo" mount -q "$work/mnt" & rpid=$!
wait_mount "$work/mnt"
sleep 1
rb=$(ls -d "$work"/mnt/tags/big/*/ | head -1); rm_=$(ls -d "$work"/mnt/tags/many/*/ | head -1)
t=$(now); cat "$rb$work/src-big/big.bin" > /dev/null; restic_read=$(secs "$t")
t=$(now); ls -lR "$rm_$work/src-many" > "$work/restic-ls.txt"; restic_ls=$(secs "$t")
restic_files=$(grep -c '^-' "$work/restic-ls.txt")
restic_mem=$(hwm $rpid)
kill -INT $rpid; wait $rpid || true
mounted "$work/mnt" && fusermount3 -u "$work/mnt"

mb() { python3 -c "print(f'{$size/1048576/$1:.0f}')"; }
echo "## Mount benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; big file $((size/1048576)) MiB; 100,000 small files"
echo
echo "| tool | restore of the big file (s, MiB/s) | sequential read through the mount (s, MiB/s) | mount / restore | ls -lR of 100k files (s) | mount peak RSS (MiB) |"
echo "|---|---|---|---:|---:|---:|"
printf '| vcd | %s (%s) | %s (%s) | %.0f%% | %s (%s files) | %s |\n' "$vcd_restore" "$(mb $vcd_restore)" "$vcd_read" "$(mb $vcd_read)" "$(python3 -c "print(100*$vcd_restore/$vcd_read)")" "$vcd_ls" "$vcd_files" "$vcd_mem"
printf '| restic | %s (%s) | %s (%s) | %.0f%% | %s (%s files) | %s |\n' "$restic_restore" "$(mb $restic_restore)" "$restic_read" "$(mb $restic_read)" "$(python3 -c "print(100*$restic_restore/$restic_read)")" "$restic_ls" "$restic_files" "$restic_mem"
