#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, publishes overlayd with NativeAOT (the build the
# docs recommend; NativeAotTests runs it), runs the test projects one at a time, and ends with the plain line
# "N passed, N failed, N skipped". Run as root (network namespaces, netlink, apt-get).
#
#   scripts/test.sh                                         every test project in Overlay.sln
#   scripts/test.sh test/X/X.csproj [...] [dotnet test args]   only these projects, e.g. --filter Name~Lease
#
# Under CI=true nothing may be skipped: CI runs as root with etcd and every kernel feature, so a test that would
# skip fails instead (Overlay.TestKit's Requirement.Unmet), and a skipped count above 0 fails the run as well.
# Outside CI, an OVERLAY_AOT_OVERLAYD already set names a native overlayd to test instead of publishing one, and
# OVERLAY_SKIP_CLI_AOT=1 skips the NativeAOT publish check of overlayctl. The Debian package test
# (scripts/package-deb.sh) packages the two native binaries published here and publishes only the CNI plugin.
set -uo pipefail
cd "$(dirname "$0")/.."
summary() { echo "$1 passed, $2 failed, $3 skipped"; }
ci=${CI:-}; ci=${ci,,} # "true" as CI systems set it, in any case, as Overlay.TestKit reads it
bash scripts/install-deps.sh || { summary 0 1 0; exit 1; }
dotnet build Overlay.sln -c Release -warnaserror -nologo -v q || { summary 0 1 0; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

projects=() args=()
for a in "$@"; do
  if [[ "$a" == *.csproj && -f "$a" ]]; then projects+=("$a"); else args+=("$a"); fi
done
((${#projects[@]})) || projects=(Overlay.sln)

# The native overlayd, published once. Its own intermediate folder keeps src/*/obj as the build left them.
# Trim and AOT warnings mean the native build may behave unlike the tested one: any warning fails the run.
if [ "$ci" = true ] || [ -z "${OVERLAY_AOT_OVERLAYD:-}" ]; then
  started=$SECONDS
  dotnet publish src/Overlay.Daemon -c Release -r linux-x64 -p:PublishAot=true -warnaserror -nologo -v q \
    --artifacts-path "$work/aot-build" -o "$work/aot" >"$work/publish.log" 2>&1
  published=$?
  cat "$work/publish.log"
  if [ "$published" -ne 0 ] || grep -qE '(^|[^[:alpha:]])warning([^[:alpha:]]|$)' "$work/publish.log"; then
    echo "the NativeAOT publish of overlayd failed or printed warnings" >&2
    summary 0 1 0
    exit 1
  fi
  echo "published the NativeAOT overlayd in $((SECONDS - started)) s"
  export OVERLAY_AOT_OVERLAYD="$work/aot/overlayd"
fi

# overlayctl must stay NativeAOT-publishable too (System.CommandLine, source-generated JSON): publish it and run it.
if [ "$ci" = true ] || [ -z "${OVERLAY_SKIP_CLI_AOT:-}" ]; then
  started=$SECONDS
  dotnet publish src/Overlay.Cli -c Release -r linux-x64 -p:PublishAot=true -warnaserror -nologo -v q \
    --artifacts-path "$work/aot-cli-build" -o "$work/aot-cli" >"$work/publish-cli.log" 2>&1
  published=$?
  cat "$work/publish-cli.log"
  if [ "$published" -ne 0 ] || grep -qE '(^|[^[:alpha:]])warning([^[:alpha:]]|$)' "$work/publish-cli.log" \
    || ! "$work/aot-cli/overlayctl" version >/dev/null; then
    echo "the NativeAOT publish of overlayctl failed, printed warnings, or the binary does not run" >&2
    summary 0 1 0
    exit 1
  fi
  echo "published the NativeAOT overlayctl in $((SECONDS - started)) s"
  export OVERLAY_AOT_OVERLAYCTL="$work/aot-cli/overlayctl" # the package test packages it instead of publishing it again
fi

# One test project at a time: the end-to-end tests measure time (repairs within 1 s, pings lost) and
# should not compete with each other for the two cores CI has.
status=0
for p in "${projects[@]}"; do
  dotnet test "$p" -c Release --no-build --nologo -m:1 --logger trx --results-directory "$work/results" "${args[@]}" || status=1
done

# The TRX counters: a test NUnit ignored, found inconclusive (Assume) or warned about is "NotExecuted", which the
# counters leave out of executed without counting it anywhere else: skipped is what neither passed nor failed.
passed=0 failed=0 skipped=0
counter() { local n; n=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2"); echo "${n:-0}"; }
for f in "$work"/results/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f")
  p=$(counter passed "$c")
  fl=$(($(counter failed "$c") + $(counter error "$c") + $(counter timeout "$c") + $(counter aborted "$c")))
  passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + $(counter total "$c") - p - fl))
done
# A test host that crashed leaves no counters: count the failing run so it cannot look green.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$ci" = true ] && [ "$skipped" -gt 0 ]; then
  echo "CI=true: $skipped tests were skipped; in CI every test must run" >&2
  status=1
fi
summary "$passed" "$failed" "$skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
