#!/bin/bash
# check-deb.sh - build the Debian package, lint it, install it, check what it
# installed and purge it again. Debian 12, as root (make deb-check, CI).
#
# The package is built from a copy of the source tree in a temporary
# directory (dpkg-buildpackage writes into the parent of the tree), so the
# checkout stays clean. hylafax-server must be installed first
# (contrib/install-deps.sh); debhelper, lintian, dpkg-dev and
# build-essential (which dpkg-buildpackage always requires) are installed
# here when missing. Go is taken from PATH or /usr/local/go/bin.
#
# Environment:
#   CHECK_DEB_KEEP=1  keep the temporary directory (the .deb, the build log)
set -euo pipefail

say() { printf 'check-deb: %s\n' "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

# dpkg and apt take a lock other installs may hold for a while.
lock_wait=600

[ "$(id -u)" = 0 ] || die "must run as root (dpkg -i)"
src=$(cd "$(dirname "$0")/.." && pwd)
command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || die "go not found in PATH or /usr/local/go/bin"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

installed hylafax-server || die "hylafax-server is not installed: run contrib/install-deps.sh first"
if installed gofaxserver; then
	die "gofaxserver is already installed; this check installs and purges its own build, so remove it first"
fi

missing=()
for p in debhelper lintian dpkg-dev build-essential; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-y -q -o DPkg::Lock::Timeout=$lock_wait --no-install-recommends)
	if ! apt-get install "${apt_opts[@]}" "${missing[@]}" >/tmp/check-deb-apt.log 2>&1 </dev/null; then
		apt-get update -q -o DPkg::Lock::Timeout=$lock_wait >>/tmp/check-deb-apt.log 2>&1 </dev/null || true
		apt-get install "${apt_opts[@]}" "${missing[@]}" >>/tmp/check-deb-apt.log 2>&1 </dev/null \
			|| { tail -n 20 /tmp/check-deb-apt.log >&2; die "cannot install ${missing[*]}"; }
	fi
fi

work=$(mktemp -d /tmp/gofax-deb.XXXXXX)
ours=0 # set once our package is installed, so cleanup purges it
cleanup() {
	if [ "$ours" = 1 ] && installed gofaxserver; then
		dpkg_locked --purge gofaxserver >/dev/null 2>&1 || true
	fi
	if [ "${CHECK_DEB_KEEP:-0}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# dpkg_locked runs dpkg, waiting while another dpkg or apt holds the lock.
dpkg_locked() {
	local end=$((SECONDS + lock_wait)) out
	while :; do
		if out=$(dpkg "$@" 2>&1); then
			printf '%s\n' "$out"
			return 0
		fi
		if grep -q 'lock' <<<"$out" && [ $SECONDS -lt $end ]; then
			sleep 3
			continue
		fi
		printf '%s\n' "$out" >&2
		return 1
	done
}

# A copy without VCS data and build output.
tree=$work/gofaxserver
mkdir -p "$tree"
tar -C "$src" --exclude=./.git --exclude=./bin --exclude=./build -cf - . | tar -C "$tree" -xf -

version=$(cd "$tree" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb=$work/gofaxserver_${version}_${arch}.deb

say "building gofaxserver $version ($arch) in $work"
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "dpkg-buildpackage failed (log: $work/build.log; CHECK_DEB_KEEP=1 keeps it)"
fi
[ -f "$deb" ] || die "dpkg-buildpackage did not produce $(basename "$deb")"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

say "lintian:"
lintian_rc=0
lintian --fail-on error --display-info "$deb" | sed 's/^/  /' || lintian_rc=$?
[ "$lintian_rc" = 0 ] || die "lintian reports errors"

say "installing with dpkg -i"
ours=1
dpkg_locked -i "$deb" | sed 's/^/  /' || die "dpkg -i failed"

fail=0
check() { # description, command...
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then
		say "ok: $what"
	else
		say "FAIL: $what"
		fail=1
	fi
}
for prog in gofaxd gofaxsend; do
	out=$("/usr/bin/$prog" -version 2>&1) && rc=0 || rc=$?
	check "$prog -version exits 0 (got $rc)" test "$rc" = 0
	check "$prog -version prints $version (got \"$out\")" test "$out" = "$prog $version"
done
files=$(dpkg -L gofaxserver)
for f in /usr/bin/gofaxd /usr/bin/gofaxsend /etc/gofax.conf /lib/systemd/system/gofaxd.service \
	/usr/share/man/man8/gofaxd.8.gz /usr/share/man/man8/gofaxsend.8.gz \
	/usr/share/doc/gofaxserver/copyright /usr/share/doc/gofaxserver/examples/freeswitch/freeswitch.xml \
	/usr/share/doc/gofaxserver/examples/hylafax/FaxDispatch \
	/usr/share/doc/gofaxserver/examples/freeswitch.service; do
	check "dpkg -L lists $f" grep -qxF "$f" <<<"$files"
	check "$f exists" test -e "$f"
done
check "/usr/bin/gofaxsend-notify is a link to gofaxsend" test "$(readlink /usr/bin/gofaxsend-notify)" = gofaxsend
check "dpkg -L lists /usr/bin/gofaxsend-notify" grep -qxF /usr/bin/gofaxsend-notify <<<"$files"
# dh_compress gzips documents larger than 4 KiB.
check "dpkg -L lists the README" grep -qE '^/usr/share/doc/gofaxserver/README\.md(\.gz)?$' <<<"$files"
check "/etc/gofax.conf is a conffile" grep -q '^ /etc/gofax.conf ' <(dpkg-query -s gofaxserver)
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify --man=no /lib/systemd/system/gofaxd.service 2>&1) || true
	check "systemd-analyze verify gofaxd.service is silent${out:+ (got: $out)}" test -z "$out"
fi
check "gofaxd.service is not enabled by the package" test ! -e /etc/systemd/system/multi-user.target.wants/gofaxd.service

say "purging"
dpkg_locked --purge gofaxserver | sed 's/^/  /' || die "dpkg --purge failed"
ours=0
check "purge removes /usr/bin/gofaxd" test ! -e /usr/bin/gofaxd
check "purge removes /etc/gofax.conf" test ! -e /etc/gofax.conf

[ "$fail" = 0 ] || die "some checks failed"
say "gofaxserver $version: built, lint-clean, installed, checked and purged"
