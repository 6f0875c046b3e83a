#!/usr/bin/env bash
# Builds a Debian package of camhost: the static release binary, the hardened systemd unit, the
# firmware profiles and a default configuration (a conffile: upgrades keep your edits).
# Prints the .deb's path. Checked with lintian (no errors) by the tests.
#   scripts/build-deb.sh                      # builds the release binary first
#   scripts/build-deb.sh --binary PATH        # package a binary built elsewhere
#   scripts/build-deb.sh --out DIR            # where the .deb goes (default: .build-deb/)
# Install: sudo apt install ./camhost_VERSION_ARCH.deb  (creates the camhost user, enables the unit)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=""
out=".build-deb"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        *) echo "build-deb: unknown argument $1" >&2; exit 64 ;;
    esac
done
[[ -n "$binary" ]] || binary="$(scripts/build-release.sh)"
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 69; }

version="$("$binary" version --json | sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p')"
[[ -n "$version" ]] || { echo "build-deb: cannot read the version from $binary" >&2; exit 70; }
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/camhost_${version}_${arch}"

install -D -m 0755 "$binary" "$pkg/usr/bin/camhost"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/camhost" 2>/dev/null || true
install -D -m 0644 scripts/systemd/camhost.service "$pkg/lib/systemd/system/camhost.service"
install -d -m 0755 "$pkg/usr/share/camhost/firmware-profiles"
install -m 0644 firmware-profiles/*.toml "$pkg/usr/share/camhost/firmware-profiles/"
install -d -m 0755 "$pkg/etc/camhost"
scripts/systemd/host-config.sh "$binary" > "$pkg/etc/camhost/camhost.toml"
chmod 0644 "$pkg/etc/camhost/camhost.toml"
install -D -m 0644 README.md "$pkg/usr/share/doc/camhost/README.md"
{
    echo "camhost ($version) unstable; urgency=medium"
    echo
    echo "  * Release $version."
    echo
    echo " -- camhost developers <camhost-developers@example.org>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$pkg/usr/share/doc/camhost/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/camhost/changelog.gz"
cat > "$pkg/usr/share/doc/camhost/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: camhost
Files: *
Copyright: 2026 camhost developers
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files, to deal in the Software without restriction.
TXT
chmod 0644 "$pkg/usr/share/doc/camhost/copyright"

# The shared libraries the binary names (DT_NEEDED), as the Debian packages that ship them.
needed="$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
depends="$(for lib in $needed; do
        path="$(ldd "$binary" | awk -v lib="$lib" '$1 == lib && $3 ~ /^\// {print $3}')"
        [[ -n "$path" ]] && dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1
    done | sort -u | grep -vE '^(libc6|libgcc-s1)$' | paste -sd, | sed 's/,/, /g' || true)"
install -d -m 0755 "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<TXT
Package: camhost
Version: $version
Architecture: $arch
Maintainer: camhost developers <camhost-developers@example.org>
Installed-Size: $(du -sk "$pkg" | cut -f1)
Depends: libc6 (>= 2.36), adduser, ${depends}
Recommends: mosquitto, ffmpeg
Suggests: coturn, tcpdump
Section: net
Priority: optional
Homepage: https://example.org/camhost
Description: camera host: HTTPS dashboard, MQTT camera control, streams, diagnostics
 One binary that runs the server hosting a site's IP cameras: an HTTPS
 dashboard and JSON API, camera control over MQTT with acknowledged
 commands, recordings that never fill the disk, and a diagnosis on the
 wire of the RTCP loopback trap.
TXT
echo /etc/camhost/camhost.toml > "$pkg/DEBIAN/conffiles"
cat > "$pkg/DEBIAN/postinst" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    getent group camhost >/dev/null || addgroup --system camhost
    getent passwd camhost >/dev/null || adduser --system --ingroup camhost --home /var/lib/camhost \
        --no-create-home --shell /usr/sbin/nologin --gecos "camhost camera host" camhost
    if getent group ssl-certs >/dev/null; then adduser camhost ssl-certs >/dev/null; fi
    chgrp camhost /etc/camhost /etc/camhost/camhost.toml
    chmod 0750 /etc/camhost
    chmod 0640 /etc/camhost/camhost.toml
fi
deb-systemd-helper enable camhost.service >/dev/null || true
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    deb-systemd-invoke restart camhost.service >/dev/null || true
fi
exit 0
TXT
cat > "$pkg/DEBIAN/prerm" <<'TXT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop camhost.service >/dev/null || true
fi
exit 0
TXT
cat > "$pkg/DEBIAN/postrm" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
    deb-systemd-helper disable camhost.service >/dev/null || true
fi
if [ "$1" = purge ]; then
    deb-systemd-helper purge camhost.service >/dev/null || true
    rm -rf /var/lib/camhost /var/log/camhost
    getent passwd camhost >/dev/null && deluser --system camhost >/dev/null || true
fi
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
exit 0
TXT
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/camhost_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
echo "$deb"
