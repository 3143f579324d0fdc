#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, runs every test project, and ends with
# the plain line "N passed, N failed". Run as root (network namespaces, netlink, apt-get).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
dotnet build Overlay.sln -c Release -warnaserror -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# One test project at a time: the end-to-end tests measure time (repairs within 1 s, pings lost) and
# should not compete with each other for the two cores CI has.
dotnet test Overlay.sln -c Release --no-build --nologo -m:1 --logger trx --results-directory "$results" "$@"
status=$?
passed=0 failed=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$f")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  fl=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${fl:-0}))
done
# A test host that crashed leaves no counters: count the failing run so it cannot look green.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
