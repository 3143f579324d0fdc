#!/usr/bin/env bash
# Builds the Debian package of Overlay with dpkg-deb: OUTDIR/overlay_<version>_amd64.deb holding the NativeAOT
# overlayd, overlayctl and the `overlay` CNI plugin, the systemd unit, a commented /etc/default/overlayd, the man
# pages overlayd(8) and overlayctl(1), shell completions and the docs. What goes where: docs/packaging.md.
#
#   bash scripts/package-deb.sh OUTDIR
#
# Publishes the three binaries with NativeAOT (needs clang and zlib1g-dev, and dpkg-dev for dpkg-shlibdeps:
# scripts/install-deps.sh installs them). To package binaries already published with NativeAOT from this
# checkout instead, name them in OVERLAY_AOT_OVERLAYD, OVERLAY_AOT_OVERLAYCTL and OVERLAY_AOT_CNI (scripts/test.sh
# sets the first two). The version is what `overlayd --version` prints. Exit status: 0 built, 1 failed, 2 usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "package-deb.sh: $*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ] || [[ "$1" == -* ]]; then
  echo "usage: bash scripts/package-deb.sh OUTDIR   (writes OUTDIR/overlay_<version>_amd64.deb)" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
for tool in dpkg-deb dpkg-shlibdeps gzip dotnet; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh installs what the package needs)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022
# The same checkout gives the same package: file dates, gzip headers and the changelog date come from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
mkdir -p "$work/bin"

# One native binary: the one named in $variable, or a NativeAOT publish of src/$project. As in scripts/test.sh, a
# trim or AOT warning fails the build: the native program might then behave unlike the tested one.
native() {
  local project=$1 binary=$2 variable=$3
  local given=${!variable:-}
  if [ -n "$given" ]; then
    [ -x "$given" ] || die "$variable=$given is not an executable file"
    cp "$given" "$work/bin/$binary"
    echo "$binary: $given (from $variable)"
    return
  fi
  local started=$SECONDS log="$work/publish-$binary.log"
  if ! dotnet publish "$root/src/$project" -c Release -r linux-x64 -p:PublishAot=true -warnaserror -nologo -v q \
    --artifacts-path "$work/build-$binary" -o "$work/publish-$binary" >"$log" 2>&1 \
    || grep -qE '(^|[^[:alpha:]])warning([^[:alpha:]]|$)' "$log"; then
    cat "$log" >&2
    die "the NativeAOT publish of src/$project failed or printed warnings"
  fi
  cp "$work/publish-$binary/$binary" "$work/bin/$binary"
  echo "$binary: published with NativeAOT in $((SECONDS - started)) s"
}
native Overlay.Daemon overlayd OVERLAY_AOT_OVERLAYD
native Overlay.Cli overlayctl OVERLAY_AOT_OVERLAYCTL
native Overlay.Cni overlay OVERLAY_AOT_CNI

version=$("$work/bin/overlayd" --version) || die "the overlayd binary does not run"
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "overlayd --version printed '$version', which is no Debian version"
ctl=$("$work/bin/overlayctl" version) || die "the overlayctl binary does not run"
[ "$ctl" = "overlayctl $version" ] || die "overlayctl is '$ctl' but overlayd is $version: the binaries come from different builds"

# The man pages and /etc/default/overlayd, written from the programs' own flag tables (src/Overlay.Packaging).
dotnet build "$root/src/Overlay.Packaging" -c Release -warnaserror -nologo -v q >"$work/generator.log" 2>&1 \
  || { cat "$work/generator.log" >&2; die "building src/Overlay.Packaging failed"; }
dotnet "$root/src/Overlay.Packaging/bin/Release/net10.0/Overlay.Packaging.dll" "$work/generated"

pkg=$work/root
doc=$pkg/usr/share/doc/overlay
install -D -m 0755 "$work/bin/overlayd" "$pkg/usr/sbin/overlayd"
install -D -m 0755 "$work/bin/overlayctl" "$pkg/usr/bin/overlayctl"
# Debian's containernetworking-plugins keeps bridge and host-local, which the plugin delegates to, in /usr/lib/cni;
# overlayctl pod run looks there too.
install -D -m 0755 "$work/bin/overlay" "$pkg/usr/lib/cni/overlay"
# It may hold FLANNELD_ETCD_PASSWORD: readable by root only (systemd reads it before dropping privileges).
install -D -m 0600 "$work/generated/overlayd.default" "$pkg/etc/default/overlayd"
install -D -m 0644 "$root/src/Overlay.Daemon/systemd/overlayd.modules-load.conf" "$pkg/usr/lib/modules-load.d/overlayd.conf"

# The unit as in the source tree, with the packaged paths; its header (a manual install) becomes the package's.
unit=$pkg/lib/systemd/system/overlayd.service
mkdir -p "$(dirname "$unit")"
{
  echo "# overlayd as a systemd service, installed by the overlay package. Settings: /etc/default/overlayd (FLANNELD_* or"
  echo "# OVERLAYD_* variables, see overlayd(8)); changes there need systemctl restart overlayd."
  sed -n '/^\[Unit\]/,$p' "$root/src/Overlay.Daemon/systemd/overlayd.service" \
    | sed -e 's|^ExecStart=/usr/local/bin/overlayd|ExecStart=/usr/sbin/overlayd|' \
      -e 's|^Documentation=.*|Documentation=man:overlayd(8) file:///usr/share/doc/overlay/operations.md.gz|'
} >"$unit"
chmod 0644 "$unit"
grep -qx 'ExecStart=/usr/sbin/overlayd' "$unit" || die "the unit's ExecStart= is not /usr/local/bin/overlayd any more; update this script"

install -D -m 0644 "$work/generated/overlayd.8" "$pkg/usr/share/man/man8/overlayd.8"
install -D -m 0644 "$work/generated/overlayctl.1" "$pkg/usr/share/man/man1/overlayctl.1"
"$work/bin/overlayctl" completion bash >"$work/overlayctl.bash"
"$work/bin/overlayctl" completion zsh >"$work/overlayctl.zsh"
install -D -m 0644 "$work/overlayctl.bash" "$pkg/usr/share/bash-completion/completions/overlayctl"
install -D -m 0644 "$work/overlayctl.zsh" "$pkg/usr/share/zsh/vendor-completions/_overlayctl"

install -D -m 0644 "$root/scripts/deb/copyright" "$doc/copyright"
install -m 0644 "$root/README.md" "$root"/docs/*.md "$doc/"
maintainer=${DEBFULLNAME:-Overlay maintainers}" <"${DEBEMAIL:-maintainers@overlay.invalid}">"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
printf 'overlay (%s) unstable; urgency=medium\n\n  * Built from commit %s of the Overlay repository.\n\n -- %s  %s\n' \
  "$version" "$commit" "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")" >"$doc/changelog"
# As Debian compresses: man pages and the changelog always, other docs above 4 kB; never the copyright file.
gzip -9n "$pkg/usr/share/man/man8/overlayd.8" "$pkg/usr/share/man/man1/overlayctl.1" "$doc/changelog"
find "$doc" -type f -name '*.md' -size +4k -exec gzip -9n {} +
for uri in $(sed -n 's/^Documentation=//p' "$unit"); do
  case "$uri" in
  file://*) [ -f "$pkg${uri#file://}" ] || die "the unit's Documentation= names ${uri#file://}, which the package does not install" ;;
  man:*) page=${uri#man:} && [ -f "$pkg/usr/share/man/man${page//[^0-9]/}/${page%%(*}.${page//[^0-9]/}.gz" ] \
    || die "the unit's Documentation= names $uri, which the package does not install" ;;
  esac
done

mkdir -p "$pkg/DEBIAN" "$work/shlibs/debian"
install -m 0755 "$root"/scripts/deb/{postinst,prerm,postrm} "$pkg/DEBIAN/"
echo /etc/default/overlayd >"$pkg/DEBIAN/conffiles"
# Depends: the shared libraries the native binaries link (libc6), as dpkg-shlibdeps finds them here.
printf 'Source: overlay\n\nPackage: overlay\nArchitecture: amd64\n' >"$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$pkg/usr/sbin/overlayd" "$pkg/usr/bin/overlayctl" "$pkg/usr/lib/cni/overlay" 2>"$work/shlibs.log" \
  | sed -n 's/^shlibs:Depends=//p') || { cat "$work/shlibs.log" >&2; die "dpkg-shlibdeps failed"; }
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
cat >"$pkg/DEBIAN/control" <<EOF
Package: overlay
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: $depends, init-system-helpers (>= 1.54)
Recommends: containernetworking-plugins
Suggests: etcd-client
Section: net
Priority: optional
Description: flannel-compatible VXLAN overlay network daemon
 overlayd gives each node a subnet of the pod network from a lease in etcd and
 programs the VXLAN device, routes, neighbour and FDB entries for every other
 node. It keeps flanneld's etcd layout, flags, environment variables and subnet
 file, so it replaces flanneld node by node.
 .
 The package holds overlayd (with its systemd unit, enabled and started on
 install), the admin CLI overlayctl, and the "overlay" CNI plugin in /usr/lib/cni,
 which delegates to the bridge and host-local plugins of
 containernetworking-plugins.
EOF

deb="$out/overlay_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
