#!/usr/bin/env bash
# Prints camhost's documented default configuration with the paths of an installed service:
# data in /var/lib/camhost, logs in /var/log/camhost, profiles in /usr/share/camhost.
# Used by scripts/install.sh and scripts/build-deb.sh.
#   scripts/systemd/host-config.sh BINARY > /etc/camhost/camhost.toml
set -euo pipefail
binary="${1:?usage: host-config.sh BINARY}"
"$binary" config show --defaults | awk '
    /^\[/ { section = $0 }
    section == "[storage]" && /^data_dir = / { print "data_dir = \"/var/lib/camhost\""; next }
    section == "[log]" && /^dir = / { print "dir = \"/var/log/camhost\""; next }
    section == "[control]" && /^profiles_dir = / { print "profiles_dir = \"/usr/share/camhost/firmware-profiles\""; next }
    { print }
'
