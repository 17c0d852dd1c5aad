#!/usr/bin/env bash
# The core's documentation builds without a warning (no broken or private
# links) and shows only the domain API at the crate root: no module but the
# hidden `internal` one, whose page rustdoc does not list.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --locked -p sealshare --no-deps --quiet
index=target/doc/sealshare/index.html
test -f "$index" || { echo "no $index" >&2; exit 1; }
if grep -q 'id="modules"' "$index"; then
  echo "the crate root's documentation lists modules; the domain API is re-exported, modules stay private:" >&2
  grep -o 'href="[a-z_]*/index.html"' "$index" >&2 || true
  exit 1
fi
for t in Account Identity TrustStore Client Collection Remote Role Error LinkUrl PublicView InviteTerms; do
  grep -q "\"[a-z]*\.$t\.html\"" "$index" || { echo "the crate root's documentation lacks $t" >&2; exit 1; }
done
echo "documentation: the crate root shows the domain API only"
