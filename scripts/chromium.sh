#!/usr/bin/env bash
# Headless Chromium for consist's browser tests (internal/browsertest opens
# the pages consist writes, such as `check --html`, hovers and clicks them,
# and checks that nothing from a history runs): Debian's chromium package.
#
#   scripts/chromium.sh install   install it from Debian's packages when missing (root)
#   scripts/chromium.sh status    say whether it is installed, and its version
#
# The tests look for /usr/bin/chromium, or $CONSIST_CHROMIUM; under
# CONSIST_REQUIRE_SERVERS=1 (as `make test` runs them) a missing browser
# fails them instead of skipping them.
set -euo pipefail

PACKAGES="chromium"
BINARY="${CONSIST_CHROMIUM:-/usr/bin/chromium}"

install() {
	if [ -x "$BINARY" ]; then
		echo "chromium: $BINARY is installed"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "chromium: missing $BINARY" >&2
		echo "chromium: install it as root: apt-get install -y --no-install-recommends $PACKAGES" >&2
		exit 1
	fi
	echo "chromium: installing $PACKAGES"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
	if [ ! -x "$BINARY" ]; then
		echo "chromium: still missing $BINARY after the install" >&2
		exit 1
	fi
}

status() {
	if [ ! -x "$BINARY" ]; then
		echo "chromium: missing $BINARY: run scripts/chromium.sh install (as root)"
		return 1
	fi
	# Debian's launcher prints a harmless shell warning on stderr.
	echo "chromium: $("$BINARY" --version 2>/dev/null)"
}

case "${1:-}" in
install | status) "$1" ;;
*)
	echo "usage: scripts/chromium.sh install|status" >&2
	exit 2
	;;
esac
