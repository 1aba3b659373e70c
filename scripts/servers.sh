#!/usr/bin/env bash
# Real servers for consist's integration tests: etcd (3 members), Redis
# (primary + replica) and MariaDB, as processes on loopback on ports away
# from the usual ones, their data in temporary folders.
#
#   scripts/servers.sh install   install the servers from Debian's packages when missing (root)
#   scripts/servers.sh start     start them (or keep those already up), wait until they serve,
#                                and write the file of their addresses (printed on the last line)
#   scripts/servers.sh stop      stop them, delete consist's nft tables and every folder
#   scripts/servers.sh status    say whether each serves
#
# Every command may be run again: start keeps what is up, stop what is down.
# The servers are started and stopped by `consist cluster`, the code the
# tests themselves use; the file of addresses exports CONSIST_ETCD_ENDPOINTS,
# CONSIST_REDIS_PRIMARY, CONSIST_REDIS_REPLICAS and CONSIST_MYSQL_DSN.
set -euo pipefail
cd "$(dirname "$0")/.."

# The kinds of cluster: each is a database's layout, in its package
# (adapters/etcd, adapters/redis, adapters/mysql).
KINDS="etcd redis mariadb"
PACKAGES="etcd-server etcd-client redis-server mariadb-server nftables"
BINARIES="/usr/bin/etcd /usr/bin/redis-server /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/sbin/nft"
STATE="${CONSIST_SERVERS_DIR:-${TMPDIR:-/tmp}/consist-servers}"
ENV_FILE="$STATE/env"
GO="${GO:-go}"

missing() {
	local m=""
	for b in $BINARIES; do [ -x "$b" ] || m="$m $b"; done
	echo "$m"
}

install() {
	local m
	m="$(missing)"
	if [ -z "$m" ]; then
		echo "servers: etcd, redis, mariadb and nft are installed"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "servers: missing$m" >&2
		echo "servers: install them as root: apt-get install -y $PACKAGES" >&2
		exit 1
	fi
	echo "servers: installing $PACKAGES"
	# Where systemd runs, keep the packages from starting services on the
	# usual ports: a policy-rc.d that refuses, for the install only.
	local policy=/usr/sbin/policy-rc.d ours=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
	fi
	trap '[ -n "$ours" ] && rm -f "$policy"' RETURN
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
	m="$(missing)"
	if [ -n "$m" ]; then
		echo "servers: still missing after the install:$m" >&2
		exit 1
	fi
}

consist() {
	mkdir -p "$STATE"
	if [ -z "${CONSIST_BUILT:-}" ]; then # once per call of this script; go's cache makes it quick
		"$GO" build -o "$STATE/consist" ./cmd/consist
		CONSIST_BUILT=1
	fi
	"$STATE/consist" "$@"
}

start() {
	local m
	m="$(missing)"
	if [ -n "$m" ]; then
		echo "servers: missing$m: run scripts/servers.sh install (as root)" >&2
		exit 1
	fi
	mkdir -p "$STATE"
	for k in $KINDS; do
		if consist cluster status "$k" --dir "$STATE/$k" >/dev/null 2>&1 && [ -s "$STATE/$k.env" ]; then
			echo "servers: $k already up"
			continue
		fi
		consist cluster down "$k" --dir "$STATE/$k" >/dev/null 2>&1 || true
		consist cluster up "$k" --dir "$STATE/$k" --env >"$STATE/$k.env"
		echo "servers: $k up ($(tr '\n' ' ' <"$STATE/$k.env"))"
	done
	cat "$STATE"/*.env >"$ENV_FILE"
	echo "$ENV_FILE"
}

stop() {
	if [ -x "$STATE/consist" ]; then
		for k in $KINDS; do
			"$STATE/consist" cluster down "$k" --dir "$STATE/$k" >/dev/null 2>&1 || true
		done
	fi
	# Tables a test left behind when it was killed: every one is consist's.
	if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/nft ]; then
		for t in $(/usr/sbin/nft list tables 2>/dev/null | awk '$2 == "inet" && $3 ~ /^consist_/ {print $3}'); do
			/usr/sbin/nft delete table inet "$t"
		done
	fi
	rm -rf "$STATE"
	echo "servers: stopped"
}

status() {
	local rc=0
	for k in $KINDS; do
		consist cluster status "$k" --dir "$STATE/$k" || rc=1
	done
	return $rc
}

case "${1:-}" in
install | start | stop | status) "$1" ;;
*)
	echo "usage: scripts/servers.sh install|start|stop|status" >&2
	exit 2
	;;
esac
