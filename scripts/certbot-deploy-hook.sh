#!/usr/bin/env bash
# certbot deploy hook: after a renewal, install the new certificate and key for the services that
# share them (group and modes as scripts/setup-tls.sh made them), then reload those services so
# new connections get the new certificate at once. camhost reloads on SIGHUP without dropping
# connections; CoTURN and Kurento are reloaded or restarted when they run here.
#
#   sudo certbot renew --deploy-hook /usr/share/camhost/certbot-deploy-hook.sh
#   or: install -m 755 scripts/certbot-deploy-hook.sh /etc/letsencrypt/renewal-hooks/deploy/camhost.sh
#
# certbot sets RENEWED_LINEAGE (/etc/letsencrypt/live/NAME). Settings, from the environment:
#   CAMHOST_TLS_DIR      where the services read the pair (default /etc/ssl/camhost)
#   CAMHOST_TLS_GROUP    the group that reads the key (default ssl-certs)
#   CAMHOST_TLS_UNITS    units to reload, in order (default "camhost coturn kurento-media-server")
#   SYSTEMCTL            the systemctl to call (default systemctl)
set -euo pipefail
lineage="${RENEWED_LINEAGE:?set by certbot: the folder of the renewed certificate}"
dir="${CAMHOST_TLS_DIR:-/etc/ssl/camhost}"
group="${CAMHOST_TLS_GROUP:-ssl-certs}"
units="${CAMHOST_TLS_UNITS:-camhost coturn kurento-media-server}"
systemctl="${SYSTEMCTL:-systemctl}"

for file in fullchain.pem privkey.pem; do
    [[ -r "$lineage/$file" ]] || { echo "certbot-deploy-hook: $lineage/$file is missing or unreadable" >&2; exit 66; }
done
getent group "$group" >/dev/null || { echo "certbot-deploy-hook: no group $group (run scripts/setup-tls.sh first)" >&2; exit 67; }
install -d -m 0750 -o root -g "$group" "$dir"
# New files beside the old, then rename: a service never reads half a key.
install -m 0644 -o root -g "$group" "$lineage/fullchain.pem" "$dir/cert.pem.new"
install -m 0640 -o root -g "$group" "$lineage/privkey.pem" "$dir/key.pem.new"
mv -f "$dir/cert.pem.new" "$dir/cert.pem"
mv -f "$dir/key.pem.new" "$dir/key.pem"
echo "certbot-deploy-hook: installed the certificate of $lineage in $dir"

status=0
for unit in $units; do
    if ! "$systemctl" is-active --quiet "$unit" 2>/dev/null; then
        echo "certbot-deploy-hook: $unit is not running: nothing to reload"
        continue
    fi
    case "$unit" in
        camhost|coturn) verb="reload-or-restart" ;;   # camhost: SIGHUP re-reads the pair
        *) verb="try-restart" ;;                        # Kurento reads its certificate at start only
    esac
    if "$systemctl" "$verb" "$unit"; then
        echo "certbot-deploy-hook: $verb $unit"
    else
        echo "certbot-deploy-hook: $verb $unit failed" >&2
        status=1
    fi
done
exit $status
