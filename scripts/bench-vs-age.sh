#!/usr/bin/env bash
# sealshare against age on the same 1 GiB file, in one run (hyperfine):
#   encrypt, writing to the same filesystem: `sealshare put` into a store there
#     vs `age -r <recipient> -o <file>`;
#   decrypt to /dev/null: `sealshare get -o /dev/null` vs `age -d -o /dev/null`.
# Also peak memory (GNU time) and user/system CPU time.
# Needs: age, hyperfine, time (Debian packages; installed if missing).
# Usage: scripts/bench-vs-age.sh [size, default 1G]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}

need=()
command -v age >/dev/null || need+=(age)
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

cargo build --release --locked -p sealshare-cli
bin=$PWD/target/release/sealshare
work=$PWD/target/bench-vs-age
rm -rf "$work" && mkdir -p "$work"
head -c "$size" /dev/urandom > "$work/input"

export SEALSHARE_PASSWORD=bench SEALSHARE_PROFILE=bench
# One home to read from (one item), one to write into (blobs cleared between runs).
for h in home puthome; do
    SEALSHARE_HOME=$work/$h "$bin" account create bench >/dev/null
    SEALSHARE_HOME=$work/$h "$bin" collection create Bench >/dev/null
done
export SEALSHARE_HOME=$work/home
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")
age -r "$recipient" -o "$work/input.age" "$work/input"
"$bin" put Bench "$work/input" >/dev/null

echo "## encrypt $size (output on the same filesystem)"
# Each run starts with the previous output deleted and written back (`sync`),
# so no run pays for the one before it.
hyperfine --warmup 1 --runs 10 --export-json "$work/encrypt.json" \
    --prepare "rm -f $work/out.age $work/puthome/store/blobs/*; sync" \
    -n age "age -r $recipient -o $work/out.age $work/input" \
    -n sealshare "env SEALSHARE_HOME=$work/puthome $bin put Bench $work/input"
echo "## decrypt $size to /dev/null"
# Both inputs are read once before every run, so each tool decrypts from the
# page cache (this machine otherwise evicts cold files between runs).
hyperfine --warmup 1 --runs 10 --export-json "$work/decrypt.json" \
    --prepare "cat $work/input.age $work/home/store/blobs/* > /dev/null" \
    -n age "age -d -i $work/key.txt -o /dev/null $work/input.age" \
    -n sealshare "$bin get Bench input -o /dev/null"

echo "## medians and CPU time (hyperfine means of user and system time)"
for run in encrypt decrypt; do
    python3 - "$work/$run.json" "$run" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
age, ours = results["age"], results["sealshare"]
for name, r in (("age", age), ("sealshare", ours)):
    print(f"{sys.argv[2]:8} {name:10} median {r['median']:.3f} s  user {r['user']:.3f} s  system {r['system']:.3f} s")
print(f"{sys.argv[2]:8} sealshare is {age['median'] / ours['median']:.2f}x as fast as age (medians)")
PY
done
echo "## peak memory and CPU (GNU time: max RSS KiB, user s, system s)"
for cmd in "age -r $recipient -o $work/out.age $work/input" \
           "env SEALSHARE_HOME=$work/puthome $bin put Bench $work/input" \
           "age -d -i $work/key.txt -o /dev/null $work/input.age" \
           "$bin get Bench input -o /dev/null"; do
    rm -f "$work/out.age" "$work"/puthome/store/blobs/*.tmp; sync
    /usr/bin/time -f "%M KiB  user %U s  sys %S s  wall %e s  :: ${cmd/#$PWD\//}" $cmd >/dev/null 2>"$work/time.txt" || true
    tail -1 "$work/time.txt"
done
echo "## demo, and put of a folder of 10,000 small files"
/usr/bin/time -f "demo: wall %e s, max RSS %M KiB" "$bin" demo >/dev/null 2>"$work/time.txt"; tail -1 "$work/time.txt"
mkdir -p "$work/small"
for i in $(seq 1 10000); do printf 'file %d\n' "$i" > "$work/small/f$i.txt"; done
SEALSHARE_HOME=$work/puthome /usr/bin/time -f "put 10,000 small files: wall %e s, max RSS %M KiB" "$bin" put Bench "$work/small" >/dev/null 2>"$work/time.txt"; tail -1 "$work/time.txt"
rm -rf "$work/input" "$work/input.age" "$work/out.age"
