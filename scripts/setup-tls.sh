#!/usr/bin/env bash
# TLS for a group of services on one host (replaces the old setup_ssl_certificates.sh): one
# certificate and key that camhost, CoTURN (turnserver) and others read through a shared group.
# Folders 0750 and keys 0640, owned by root and the group; certificates 0644. Idempotent.
#
#   sudo scripts/setup-tls.sh                                   # group ssl-certs, /etc/ssl/camhost
#   sudo scripts/setup-tls.sh --users camhost,turnserver        # add these service users to the group
#   sudo scripts/setup-tls.sh --cert fullchain.pem --key privkey.pem   # install this pair
#   sudo scripts/setup-tls.sh --group ssl-certs --dir /etc/ssl/camhost --self-signed NAME
#
# Then point each service at the files, e.g. in /etc/camhost/camhost.toml:
#   [tls]  key = "/etc/ssl/camhost/key.pem"  certificate = "/etc/ssl/camhost/cert.pem"  key_group = "ssl-certs"
# and in /etc/turnserver.conf: cert=/etc/ssl/camhost/cert.pem  pkey=/etc/ssl/camhost/key.pem
# Renewals: scripts/certbot-deploy-hook.sh keeps group and modes and reloads the services.
set -euo pipefail

group="ssl-certs"
dir="/etc/ssl/camhost"
users="camhost,turnserver"
cert=""
key=""
self_signed=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --group) group="${2:?}"; shift 2 ;;
        --dir) dir="${2:?}"; shift 2 ;;
        --users) users="${2?}"; shift 2 ;;
        --cert) cert="${2:?}"; shift 2 ;;
        --key) key="${2:?}"; shift 2 ;;
        --self-signed) self_signed="${2:?--self-signed needs a host name}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup-tls: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then echo "setup-tls: run as root" >&2; exit 77; fi
if [[ -n "$cert" && -z "$key" ]] || [[ -z "$cert" && -n "$key" ]]; then
    echo "setup-tls: --cert and --key go together" >&2; exit 64
fi

getent group "$group" >/dev/null || groupadd --system "$group"
IFS=',' read -r -a user_list <<< "$users"
for user in "${user_list[@]}"; do
    [[ -z "$user" ]] && continue
    if getent passwd "$user" >/dev/null; then
        usermod -a -G "$group" "$user"
        echo "setup-tls: $user is in group $group"
    else
        echo "setup-tls: no user $user here (yet): skipped; run again after installing its service"
    fi
done

# Every folder on the way to the key lets the group through; nothing else there is readable to it.
install -d -m 0750 -o root -g "$group" "$dir"
parent="$(dirname "$dir")"
while [[ "$parent" != "/" ]]; do
    mode=$(stat -c %a "$parent")
    if (( (8#$mode & 8#001) == 0 )) && [[ "$(stat -c %G "$parent")" != "$group" ]]; then
        echo "setup-tls: warning: $parent (mode $mode) does not let others through; the group cannot reach $dir" >&2
    fi
    parent="$(dirname "$parent")"
done

if [[ -n "$cert" ]]; then
    install -m 0644 -o root -g "$group" "$cert" "$dir/cert.pem.new"
    install -m 0640 -o root -g "$group" "$key" "$dir/key.pem.new"
    mv -f "$dir/cert.pem.new" "$dir/cert.pem"
    mv -f "$dir/key.pem.new" "$dir/key.pem"
elif [[ -n "$self_signed" && ! -e "$dir/key.pem" ]]; then
    command -v certtool >/dev/null || { echo "setup-tls: certtool is missing (apt-get install gnutls-bin)" >&2; exit 69; }
    umask 027
    certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$dir/key.pem" 2>/dev/null
    template="$(mktemp)"
    trap 'rm -f "$template"' EXIT
    printf 'cn = "%s"\ndns_name = "%s"\nexpiration_days = 825\ntls_www_server\nsigning_key\n' "$self_signed" "$self_signed" > "$template"
    certtool --generate-self-signed --load-privkey "$dir/key.pem" --template "$template" --outfile "$dir/cert.pem" 2>/dev/null
fi
for file in "$dir"/*.pem; do
    [[ -e "$file" ]] || continue
    chgrp "$group" "$file"
    case "$(basename "$file")" in
        *key*) chmod 0640 "$file" ;;
        *) chmod 0644 "$file" ;;
    esac
done
echo "setup-tls: $dir ready (root:$group 0750; keys 0640, certificates 0644)"
