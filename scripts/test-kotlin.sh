#!/usr/bin/env bash
# Compiles the generated Kotlin, bindings/kotlin/StoryTest.kt and the README's
# Kotlin example with the Kotlin
# compiler from the npm registry, and runs it on the JDK with JNA from Debian.
# Expects scripts/bindings.sh to have run. Installs what it needs, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."

KOTLIN_VERSION=2.4.20
tools=target/tools
kotlin_home="$tools/kotlin-compiler-$KOTLIN_VERSION/package"
if [[ ! -x "$kotlin_home/bin/kotlinc-jvm" ]]; then
    mkdir -p "$tools/kotlin-compiler-$KOTLIN_VERSION"
    (cd "$tools/kotlin-compiler-$KOTLIN_VERSION" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz")
    chmod +x "$kotlin_home"/bin/*
fi
if [[ ! -f /usr/share/java/jna.jar ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjna-java >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjna-java >/dev/null
    fi
fi
if ! command -v java >/dev/null; then
    echo "a JDK (17 or later) is needed" >&2
    exit 1
fi

out=target/kotlin
mkdir -p "$out"
jar="$out/story-test.jar"
# The README's Kotlin example runs too (StoryTest.kt's main calls it), so what
# an app developer copies from there is known to work.
snippet="$out/ReadmeSnippet.kt"
{
    echo 'import uniffi.sealshare_ffi.*'
    echo 'fun readmeSnippet() {'
    awk '/^```kotlin$/ {inside=1; next} /^```$/ && inside {exit} inside && !/^import / {print}' README.md
    echo '}'
} > "$snippet.new"
if ! cmp -s "$snippet.new" "$snippet"; then mv "$snippet.new" "$snippet"; else rm "$snippet.new"; fi
if [[ $(wc -l < "$snippet") -lt 5 ]]; then
    echo "README.md has no Kotlin example to run" >&2
    exit 1
fi
sources=(target/bindings/kotlin/uniffi/sealshare_ffi/sealshare_ffi.kt bindings/kotlin/StoryTest.kt bindings/kotlin/LifecycleTest.kt bindings/kotlin/ServerStoryTest.kt "$snippet")
if [[ ! -f "$jar" ]] || [[ -n "$(find "${sources[@]}" -newer "$jar")" ]]; then
    "$kotlin_home/bin/kotlinc-jvm" -nowarn -cp /usr/share/java/jna.jar "${sources[@]}" -d "$jar"
fi
run() {
    java -Djna.library.path=target/bindings/lib \
        -cp "$jar:/usr/share/java/jna.jar:$kotlin_home/lib/kotlin-stdlib.jar" StoryTestKt "$@"
}
run
# The app's life, each step a new process: restart twice, lock, roll back;
# a member reinstalls and everyone opens from scratch.
for story in "setup restart restart rollback" "setup reinstall from-scratch"; do
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    for step in $story; do
        run lifecycle "$step" "$dir"
    done
    rm -rf "$dir"
done
echo "kotlin: all lifecycle steps passed"

# Two phones over a real server process on a loopback port.
server_bin=${SEALSHARE_SERVER_BIN:-}
if [[ -z "$server_bin" ]]; then
    cargo build --locked -q -p sealshare-server --bin sealshare-server
    server_bin=target/debug/sealshare-server
fi
data=$(mktemp -d)
out_fifo="$data/out"
mkfifo "$out_fifo"
"$server_bin" --data "$data/store" --listen 127.0.0.1:0 > "$out_fifo" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$data"' EXIT
exec 3< "$out_fifo"
if ! read -r -t 60 first <&3 || [[ "$first" != "listening on "* ]]; then
    echo "the server did not start: ${first:-nothing}" >&2
    exit 1
fi
run server "http://${first#listening on }"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
exec 3<&-
