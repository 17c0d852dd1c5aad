#!/usr/bin/env bash
# sealshare against age and rage (the Go and the Rust implementations of age)
# on the same 1 GiB file, in one run (hyperfine), beside the machine's floor:
#   encrypt, writing to the same filesystem: `sealshare put` into a store there
#     vs `age -r <recipient> -o <file>`, `rage -r ...`, and `cp` of the file;
#   decrypt to /dev/null: `sealshare get -o /dev/null` vs `age -d`, `rage -d`,
#     and `cat` of the file to /dev/null;
#   decrypt again with the other core busy (`sha256sum /dev/zero` beside it);
#   peak memory (GNU time) and user/system CPU time;
#   `put` of a folder of 10,000 small files against `cp -r` of it.
# Goals (issue 17): put 1.6x and get 2.0x as fast as the faster of age and
# rage, peak memory at most 48 MiB, get 1.2x age on a busy machine, and the
# small files at most 3x `cp -r`.
# Needs: age, hyperfine, time (Debian packages; installed if missing) and rage
# (`cargo install rage`, done if missing).
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
command -v rage >/dev/null || cargo install --locked rage >/dev/null

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
    --prepare "rm -f $work/out.age $work/out.copy $work/puthome/store/blobs/*; sync" \
    -n age "age -r $recipient -o $work/out.age $work/input" \
    -n rage "rage -r $recipient -o $work/out.age $work/input" \
    -n sealshare "env SEALSHARE_HOME=$work/puthome $bin put Bench $work/input" \
    -n floor "cp $work/input $work/out.copy"
echo "## decrypt $size to /dev/null"
# Every input is read once before every run, so each tool decrypts from the
# page cache (this machine otherwise evicts cold files between runs).
decrypt() {
    hyperfine --warmup 1 --runs 10 --export-json "$1" \
        --prepare "cat $work/input $work/input.age $work/home/store/blobs/* > /dev/null" \
        -n age "age -d -i $work/key.txt -o /dev/null $work/input.age" \
        -n rage "rage -d -i $work/key.txt -o /dev/null $work/input.age" \
        -n sealshare "$bin get Bench input -o /dev/null" \
        -n floor "cat $work/input > /dev/null"
}
decrypt "$work/decrypt.json"
echo "## decrypt $size to /dev/null, the other core busy (sha256sum /dev/zero)"
sha256sum /dev/zero & busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
decrypt "$work/busy.json"
kill $busy; trap - EXIT

echo "## medians and CPU time (hyperfine means of user and system time)"
for run in encrypt decrypt busy; do
    python3 - "$work/$run.json" "$run" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
run = sys.argv[2]
for name, r in results.items():
    print(f"{run:8} {name:10} median {r['median']:.3f} s  user {r['user']:.3f} s  system {r['system']:.3f} s")
ours = results["sealshare"]["median"]
faster = min(results["age"]["median"], results["rage"]["median"])
goal = {"encrypt": 1.6, "decrypt": 2.0, "busy": 1.2}[run]
against = results["age"]["median"] if run == "busy" else faster
name = "age" if run == "busy" else "the faster of age and rage"
print(f"{run:8} sealshare is {against / ours:.2f}x as fast as {name} (goal {goal}x); "
      f"the floor takes {results['floor']['median'] / ours:.2f}x sealshare's time")
PY
done
echo "## peak memory and CPU (GNU time: max RSS KiB, user s, system s)"
for cmd in "age -r $recipient -o $work/out.age $work/input" \
           "rage -r $recipient -o $work/out.age $work/input" \
           "env SEALSHARE_HOME=$work/puthome $bin put Bench $work/input" \
           "age -d -i $work/key.txt -o /dev/null $work/input.age" \
           "rage -d -i $work/key.txt -o /dev/null $work/input.age" \
           "$bin get Bench input -o /dev/null"; do
    rm -f "$work/out.age" "$work"/puthome/store/blobs/*.tmp; sync
    /usr/bin/time -f "%M KiB  user %U s  sys %S s  wall %e s  :: ${cmd/#$PWD\//}" $cmd >/dev/null 2>"$work/time.txt" || true
    tail -1 "$work/time.txt"
done
echo "## demo, and put of a folder of 10,000 small files"
/usr/bin/time -f "demo: wall %e s, max RSS %M KiB" "$bin" demo >/dev/null 2>"$work/time.txt"; tail -1 "$work/time.txt"
mkdir -p "$work/small"
for i in $(seq 1 10000); do printf 'file %d\n' "$i" > "$work/small/f$i.txt"; done
sync
/usr/bin/time -f "%e" -o "$work/cp.txt" cp -r "$work/small" "$work/small-copy"
sync
SEALSHARE_HOME=$work/puthome /usr/bin/time -f "%e %M" -o "$work/put.txt" "$bin" put Bench "$work/small" >/dev/null
read -r put_s put_kib < "$work/put.txt"
read -r cp_s < "$work/cp.txt"
python3 -c "import sys; p, c = float(sys.argv[1]), float(sys.argv[2]); print(f'put 10,000 small files: {p:.2f} s (max RSS {sys.argv[3]} KiB); cp -r: {c:.2f} s; {p / c:.1f}x cp -r (goal at most 3x)')" "$put_s" "$cp_s" "$put_kib"
rm -rf "$work/input" "$work/input.age" "$work/out.age" "$work/out.copy" "$work/small-copy"
