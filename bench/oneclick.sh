#!/bin/sh
# bench/oneclick.sh ROOT METADATA_URL REDIS_CONF_TEMPLATE
#
# doagent's first-boot job done the way DigitalOcean's one-click images do theirs: a
# per-instance shell script (cloud-init runs it from /var/lib/cloud/scripts/per-instance)
# that asks the metadata service, makes a password with "openssl rand", a self-signed
# certificate with "openssl req -x509", runs sed over the stock redis.conf, and writes
# the stunnel configuration, firewall rules, connection details and login message with
# here-documents. bench/run times it against doagent on the same job: the same metadata
# from the same loopback fake, the same user data, the same files under ROOT.
#
# Like those scripts it checks nothing: no validation of the user data (it only picks a
# few keys out with sed), no atomic writes, no fsync, no state; it does not start units
# either (neither does doagent under --root). One metadata request (the fake serves
# only v1.json) read with jq, where the real scripts curl one path per value.
set -eu

root=$1
url=$2
template=$3

md=$(curl -fsS --max-time 10 --retry 5 --retry-connrefused "$url/metadata/v1.json")
{
	read -r droplet_id
	read -r hostname
	read -r region
	read -r private_ip
} <<EOF
$(printf '%s\n' "$md" | jq -r '.droplet_id, .hostname, .region, (.interfaces.private[0].ipv4.ip_address // "127.0.0.1")')
EOF
user_data=$(printf '%s\n' "$md" | jq -r '.user_data // ""')

# ud SECTION KEY DEFAULT: a value from the INI user data, or DEFAULT.
ud() {
	v=$(printf '%s\n' "$user_data" | sed -n "/^\[$1\]/,/^\[/s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\([^;[:space:]]*\).*/\1/p")
	printf '%s\n' "${v:-$3}"
}
port=$(ud redis port 6379)
policy=$(ud redis maxmemory-policy allkeys-lru)
tls_port=$(ud tls port 6380)
mem_kib=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
maxmemory=$((mem_kib * 1024 * 75 / 100))

umask 022
mkdir -p "$root/etc/redis" "$root/etc/stunnel" "$root/etc/doagent/tls" "$root/etc/motd.d" \
	"$root/var/lib/doagent/secrets" "$root/root"
chmod 0700 "$root/var/lib/doagent/secrets"

password=$(openssl rand -hex 32)
printf '%s\n' "$password" >"$root/var/lib/doagent/secrets/password"
chmod 0600 "$root/var/lib/doagent/secrets/password"

key="$root/var/lib/doagent/secrets/tls.key"
crt="$root/etc/doagent/tls/redis.crt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	-subj "/CN=$hostname" -addext "subjectAltName=IP:$private_ip,IP:127.0.0.1" \
	-keyout "$key" -out "$crt" 2>/dev/null
chmod 0600 "$key"
fingerprint=$(openssl x509 -in "$crt" -noout -fingerprint -sha256)
fingerprint=${fingerprint#*=}

conf="$root/etc/redis/redis.conf"
sed -e "s/^bind .*/bind 127.0.0.1 -::1/" \
	-e "s/^port .*/port $port/" \
	-e "s/^# requirepass .*/requirepass $password/" \
	-e "s/^# maxmemory <bytes>/maxmemory $maxmemory/" \
	-e "s/^# maxmemory-policy .*/maxmemory-policy $policy/" \
	-e "s/^supervised .*/supervised systemd/" \
	"$template" >"$conf"
redis_gid=$(sed -n 's/^redis:[^:]*:\([0-9]*\):.*/\1/p' "$root/etc/group")
chown "0:${redis_gid:-0}" "$conf"
chmod 0640 "$conf"

cat >"$root/etc/stunnel/doagent-redis.conf" <<EOF
; Written on first boot for droplet $droplet_id.
foreground = yes
setuid = stunnel4
setgid = stunnel4

[redis-tls]
accept = 127.0.0.1:$tls_port
accept = $private_ip:$tls_port
connect = 127.0.0.1:$port
cert = /etc/doagent/tls/redis.crt
key = /var/lib/doagent/secrets/tls.key
sslVersionMin = TLSv1.2
EOF

vpc=${private_ip%.*.*}.0.0/16
cat >"$root/etc/doagent/firewall.nft" <<EOF
table inet oneclick
delete table inet oneclick
table inet oneclick {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif lo accept
		ip protocol icmp accept
		ip6 nexthdr icmpv6 accept
		tcp dport 22 accept
		ip saddr $vpc tcp dport $tls_port accept
	}
}
EOF
chmod 0600 "$root/etc/doagent/firewall.nft"

cat >"$root/root/doagent-connection.txt" <<EOF
Redis on droplet $droplet_id ($hostname, $region).
  URL:  rediss://default:$password@$private_ip:$tls_port
  Certificate SHA-256: $fingerprint
EOF
chmod 0600 "$root/root/doagent-connection.txt"

cat >"$root/etc/motd.d/doagent" <<EOF
  This droplet runs Redis. Connection details (root only): /root/doagent-connection.txt
EOF

printf '%s\n' "$droplet_id" >"$root/var/lib/doagent/secrets/droplet-id"
