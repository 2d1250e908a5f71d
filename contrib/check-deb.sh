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
# The check installs, edits and purges /etc/gofax.conf and its statoverride.
conf=/etc/gofax.conf
[ ! -e "$conf" ] || die "$conf exists without the package; this check would replace it, so move it away first"
if dpkg-statoverride --list "$conf" >/dev/null 2>&1; then
	die "a statoverride for $conf exists ($(dpkg-statoverride --list "$conf")); remove it first (dpkg-statoverride --remove $conf)"
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
admin_override=0 # set while the check's own "administrator" statoverride exists
cleanup() {
	if [ "$ours" = 1 ] && installed gofaxserver; then
		dpkg_locked --purge gofaxserver >/dev/null 2>&1 || true
	fi
	if [ "$admin_override" = 1 ]; then
		dpkg-statoverride --remove "$conf" >/dev/null 2>&1 || true
	fi
	if [ "$ours" = 1 ]; then
		rm -f "$conf"
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
	# The failing tests first: the tail may hold only the packages that passed.
	grep -E -A 30 '^(--- FAIL|FAIL[[:space:]]|panic:)' "$work/build.log" | head -n 200 >&2 || true
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

# /etc/gofax.conf holds the event socket password: 0640 root:uucp, through a
# statoverride that survives reinstalls and upgrades.
mode_is() { [ "$(stat -c '%a %U:%G' "$conf")" = "$1 $2" ]; }
conf_stat() { stat -c '%a %U:%G' "$conf" 2>&1 || true; }
override_is() { [ "$(dpkg-statoverride --list "$conf" 2>/dev/null)" = "$1" ]; }
check_conf_mode() { # when
	check "$conf is 0640 root:uucp ($1; got $(conf_stat))" mode_is 640 root:uucp
	check "$conf has the statoverride root uucp 0640 ($1; got \"$(dpkg-statoverride --list "$conf" || true)\")" override_is "root uucp 640 $conf"
	check "uucp can read $conf ($1)" setpriv --reuid=uucp --regid=uucp --init-groups head -c 1 "$conf"
	check "nobody cannot read $conf ($1)" not_readable_by_nobody
}
not_readable_by_nobody() { ! setpriv --reuid=nobody --regid=nogroup --clear-groups head -c 1 "$conf"; }
check_conf_mode "install"

say "reinstalling the same package"
dpkg_locked -i "$deb" | sed 's/^/  /' || die "dpkg -i (reinstall) failed"
check_conf_mode "reinstall"

# An upgrade whose /etc/gofax.conf changed: dpkg replaces the unmodified
# conffile, and must give the new file the same owner and mode.
say "upgrading to a repacked $version+check with a changed $conf"
up=$work/upgrade
dpkg-deb -R "$deb" "$up"
sed -i "s/^Version: .*/Version: $version+check/" "$up/DEBIAN/control"
printf '; changed by check-deb.sh\n' >>"$up/etc/gofax.conf"
# (conffiles are not in DEBIAN/md5sums)
updeb=$work/gofaxserver_${version}+check_${arch}.deb
dpkg-deb --root-owner-group -b "$up" "$updeb" >/dev/null || die "dpkg-deb -b failed"
dpkg_locked -i "$updeb" | sed 's/^/  /' || die "dpkg -i (upgrade) failed"
check "the upgrade replaced $conf" grep -q '^; changed by check-deb.sh$' "$conf"
check_conf_mode "upgrade"

say "purging"
dpkg_locked --purge gofaxserver | sed 's/^/  /' || die "dpkg --purge failed"
check "purge removes /usr/bin/gofaxd" test ! -e /usr/bin/gofaxd
check "purge removes $conf" test ! -e "$conf"
check "purge removes the statoverride" override_is ""

# A GOfax.IP installation's world-readable file, kept (confold): the
# postinst makes it 0640 root:uucp.
say "installing over a world-readable $conf left by GOfax.IP"
printf '[freeswitch]\npassword = secret\n' >"$conf"
chmod 644 "$conf"
dpkg_locked -i --force-confdef --force-confold "$deb" | sed 's/^/  /' || die "dpkg -i over an old $conf failed"
check "the old $conf is kept" grep -q '^password = secret$' "$conf"
check_conf_mode "over GOfax.IP's file"
dpkg_locked --purge gofaxserver | sed 's/^/  /' || die "dpkg --purge failed"

# An administrator's own statoverride is respected, and kept at purge.
say "installing with an administrator's statoverride uucp uucp 0600"
dpkg-statoverride --add uucp uucp 0600 "$conf"
admin_override=1
dpkg_locked -i "$deb" | sed 's/^/  /' || die "dpkg -i with an administrator's statoverride failed"
check "$conf is 0600 uucp:uucp (the administrator's statoverride; got $(conf_stat))" mode_is 600 uucp:uucp
check "the administrator's statoverride is unchanged" override_is "uucp uucp 600 $conf"
dpkg_locked --purge gofaxserver | sed 's/^/  /' || die "dpkg --purge failed"
ours=0
check "purge keeps the administrator's statoverride" override_is "uucp uucp 600 $conf"
dpkg-statoverride --remove "$conf"
admin_override=0

[ "$fail" = 0 ] || die "some checks failed"
say "gofaxserver $version: built, lint-clean, installed, checked and purged"
