#!/usr/bin/env bash
# The command-line tools consist's tests call beside the servers and the
# browser: xmllint (Debian's libxml2-utils), which validates the JUnit XML
# `consist check --junit` writes against the schema CI systems read.
#
#   scripts/tools.sh install   install them from Debian's packages when missing (root)
#   scripts/tools.sh status    say whether each is installed
#
# Under CONSIST_REQUIRE_SERVERS=1 (as `make test` runs the tests) a missing
# tool fails the tests that need it instead of skipping them.
set -euo pipefail

# Each tool, as "binary:package".
TOOLS="/usr/bin/xmllint:libxml2-utils"

missing() {
	local out=""
	for t in $TOOLS; do
		[ -x "${t%%:*}" ] || out="$out ${t#*:}"
	done
	echo "$out"
}

install() {
	local need
	need=$(missing)
	if [ -z "$need" ]; then
		echo "tools: installed"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "tools: missing$need" >&2
		echo "tools: install them as root: apt-get install -y --no-install-recommends$need" >&2
		exit 1
	fi
	echo "tools: installing$need"
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
	need=$(missing)
	if [ -n "$need" ]; then
		echo "tools: still missing$need after the install" >&2
		exit 1
	fi
}

status() {
	local need
	need=$(missing)
	if [ -n "$need" ]; then
		echo "tools: missing$need: run scripts/tools.sh install (as root)"
		return 1
	fi
	echo "tools: $(xmllint --version 2>&1 | head -n 1)"
}

case "${1:-}" in
install | status) "$1" ;;
*)
	echo "usage: scripts/tools.sh install|status" >&2
	exit 2
	;;
esac
