/* Where things live on the droplet. */
#ifndef DOAGENT_PATHS_H
#define DOAGENT_PATHS_H

#define PATH_REDIS_CONF "/etc/redis/redis.conf"
#define PATH_STUNNEL_CONF "/etc/stunnel/doagent-redis.conf"
#define PATH_TLS_CERT "/etc/doagent/tls/redis.crt"
#define PATH_STATE_DIR "/var/lib/doagent"
#define PATH_SECRETS_DIR PATH_STATE_DIR "/secrets"
#define PATH_TLS_KEY PATH_SECRETS_DIR "/tls.key"
/* The key's copy that redis-server reads ([tls] engine = redis): 0640 root:redis in a
 * directory only root writes; the secrets directory is root's alone (0700). */
#define PATH_TLS_KEY_REDIS "/etc/doagent/tls/redis.key"
/* Plaintext on the droplet alone when Redis' own TLS listens further (port 0). */
#define PATH_REDIS_SOCKET "/run/redis/redis-server.sock"
#define PATH_FIREWALL_NFT "/etc/doagent/firewall.nft"
#define PATH_CONNECTION "/root/doagent-connection.txt"
#define PATH_MOTD "/etc/motd.d/doagent"
#define PATH_REDIS_DIR "/var/lib/redis"
/* With [storage] volume: the units that mount it and start Redis on it. */
#define PATH_UNIT_DIR "/etc/systemd/system"
#define PATH_VOLUME_PATH_UNIT PATH_UNIT_DIR "/doagent-volume.path"
#define PATH_VOLUME_SERVICE PATH_UNIT_DIR "/doagent-volume.service"
#define PATH_VOLUME_PATH_WANTS PATH_UNIT_DIR "/paths.target.wants/doagent-volume.path"
#define PATH_REDIS_VOLUME_DROPIN PATH_UNIT_DIR "/redis-server.service.d/doagent-volume.conf"
#define PATH_REDIS_GROUP_DROPIN PATH_UNIT_DIR "/redis-server.service.d/doagent-group.conf"
#define PATH_SENTINEL_CONF "/etc/redis/sentinel.conf"
/* Sentinel's port, TLS only (Redis' own); the standard Sentinel port. */
#define SENTINEL_PORT 26379
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
/* Under sysconfdir: /etc/doagent/... when configured with --sysconfdir=/etc. */
#define PATH_ETC_TEMPLATES SYSCONFDIR "/doagent/templates"
#define PATH_AGENT_CONF SYSCONFDIR "/doagent/doagent.conf"
#define PATH_METADATA_URL "http://169.254.169.254"
#define PATH_RUN_DIR "/run/doagent"
/* While this exists, redis-server and stunnel may start (their drop-ins say so). */
#define PATH_CONFIGURED_FLAG PATH_RUN_DIR "/configured"

#define UNIT_REDIS "redis-server.service"
#define UNIT_STUNNEL "stunnel@doagent-redis.service"
#define UNIT_SENTINEL "redis-sentinel.service"
#define UNIT_FIREWALL "doagent-firewall.service"

#endif
