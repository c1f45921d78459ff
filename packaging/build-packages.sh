#!/usr/bin/env bash
# Builds out/packages/blueboat-edge_VERSION_amd64.deb and blueboat-edge-VERSION.x86_64.rpm from
# the AOT build in out/ (make build), with dpkg-deb and rpmbuild.
# Layout: the executable in /usr/lib/blueboat-edge/ beside its V8 library (the runtime looks for
# the library next to the resolved executable), /usr/bin/blueboat-edge a symlink to it.
# PKG_COMPRESSION=gzip (default: ~7 s, ~30 MB) or xz (~1.5 min on two busy cores, ~21 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
compression=${PKG_COMPRESSION:-gzip}
case $compression in
  gzip) deb_z=(-Zgzip -z6); rpm_payload=w6.gzdio ;;
  xz) deb_z=(-Zxz -z6); rpm_payload=w6T.xzdio ;;
  *) echo "build-packages: PKG_COMPRESSION is gzip or xz, not $compression" >&2; exit 2 ;;
esac
version=$(tr -d '[:space:]' < VERSION)
out=out/packages
bin=out/blueboat-edge
v8=out/ClearScriptV8.linux-x64.so
[ -x "$bin" ] && [ -f "$v8" ] || { echo "build-packages: $bin and $v8 are missing: run make build" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# stage DIR UNITDIR: the installed tree (units in /lib/systemd/system for Debian 12, /usr/lib/... for rpm)
stage() {
  local root=$1 unitdir=$2
  install -d -m 755 "$root/usr/bin" "$root/usr/lib/blueboat-edge" "$root/etc/blueboat-edge" "$root$unitdir" \
    "$root/usr/share/doc/blueboat-edge"
  install -d -m 750 "$root/var/lib/blueboat-edge"
  install -m 755 "$bin" "$root/usr/lib/blueboat-edge/blueboat-edge"
  install -m 644 "$v8" "$root/usr/lib/blueboat-edge/ClearScriptV8.linux-x64.so"
  strip --strip-unneeded "$root/usr/lib/blueboat-edge/blueboat-edge" "$root/usr/lib/blueboat-edge/ClearScriptV8.linux-x64.so"
  ln -s ../lib/blueboat-edge/blueboat-edge "$root/usr/bin/blueboat-edge"
  install -m 644 packaging/blueboat-edge.conf "$root/etc/blueboat-edge/blueboat-edge.conf"
  install -m 644 packaging/systemd/blueboat-edge.service packaging/systemd/blueboat-edge.socket "$root$unitdir/"
  install -m 644 README.md "$root/usr/share/doc/blueboat-edge/README.md"
}

# .deb
deb=$work/deb
stage "$deb" /lib/systemd/system
rmdir "$deb/var/lib/blueboat-edge" "$deb/var/lib" "$deb/var" # made by postinst with its owner and mode
install -m 644 packaging/deb/copyright "$deb/usr/share/doc/blueboat-edge/copyright"
sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")/" \
  packaging/deb/changelog.in | gzip -9n > "$deb/usr/share/doc/blueboat-edge/changelog.gz" # a native package: changelog.gz
chmod 644 "$deb/usr/share/doc/blueboat-edge/changelog.gz"
install -D -m 644 packaging/deb/lintian-overrides "$deb/usr/share/lintian/overrides/blueboat-edge"
install -d -m 755 "$deb/DEBIAN"
install -m 755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$deb/DEBIAN/"
install -m 644 packaging/deb/conffiles "$deb/DEBIAN/conffiles"
# The executable needs only the C library; the V8 library also the C++ runtime.
depends="libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1"
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$(du -sk --exclude=DEBIAN "$deb" | cut -f1)/" -e "s/@DEPENDS@/$depends/" \
  packaging/deb/control.in > "$deb/DEBIAN/control"
(cd "$deb" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$deb/DEBIAN/md5sums"
chmod 644 "$deb/DEBIAN/md5sums"
dpkg-deb --root-owner-group "${deb_z[@]}" --build "$deb" "$out/blueboat-edge_${version}_amd64.deb" >/dev/null

# .rpm
rpmroot=$work/rpmstage
stage "$rpmroot" /usr/lib/systemd/system
rpmbuild -bb --quiet --define "_topdir $work/rpmbuild" --define "pkg_version $version" --define "stage $rpmroot" \
  --define "_binary_payload $rpm_payload" packaging/rpm/blueboat-edge.spec >/dev/null
cp "$work/rpmbuild/RPMS/x86_64/blueboat-edge-${version}-1.x86_64.rpm" "$out/blueboat-edge-${version}.x86_64.rpm"

ls -l "$out/blueboat-edge_${version}_amd64.deb" "$out/blueboat-edge-${version}.x86_64.rpm"
