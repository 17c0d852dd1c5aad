#!/usr/bin/env bash
# Compiles the generated Kotlin and bindings/kotlin/StoryTest.kt with the Kotlin
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
sources=(target/bindings/kotlin/uniffi/sealshare_ffi/sealshare_ffi.kt bindings/kotlin/StoryTest.kt)
if [[ ! -f "$jar" ]] || [[ -n "$(find "${sources[@]}" -newer "$jar")" ]]; then
    "$kotlin_home/bin/kotlinc-jvm" -nowarn -cp /usr/share/java/jna.jar "${sources[@]}" -d "$jar"
fi
java -Djna.library.path=target/debug \
    -cp "$jar:/usr/share/java/jna.jar:$kotlin_home/lib/kotlin-stdlib.jar" StoryTestKt
