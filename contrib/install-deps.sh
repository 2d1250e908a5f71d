#!/bin/bash
# install-deps.sh - install what the build and the tests need on Debian 12, as root,
# non-interactively and idempotently: HylaFAX (server and client), libtiff-tools,
# Ghostscript, poppler-utils, busybox (its syslogd collects faxq/hfaxd logs in tests),
# python3-aiosmtpd (the SMTP server the e-mail receipt tests start on 127.0.0.1),
# gcc (go test -race needs cgo), PostgreSQL (the store's tests start private
# clusters with its initdb and pg_ctl), curl (the demo's REST API part) and
# openssl (the demo's hfaxd password hashes).
#
# The HylaFAX and PostgreSQL system services are not left running: the tests
# start private faxq/hfaxd instances and PostgreSQL clusters on their own
# spools, directories and ports.
#
# Environment:
#   INSTALL_DEPS_LOG  apt output (default /tmp/gofax-install-deps.log)
set -euo pipefail

packages=(hylafax-server hylafax-client libtiff-tools ghostscript poppler-utils busybox python3-aiosmtpd gcc postgresql curl openssl)
log_file=${INSTALL_DEPS_LOG:-/tmp/gofax-install-deps.log}

say() { printf 'install-deps: %s\n' "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get install; faxq must be started as root)"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"

installed() { # package -> 0 when dpkg has it fully installed
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# hylafax-server's postinst runs "faxsetup -server" through a wrapper that
# bind-mounts /etc/hylafax onto the spool. Without CAP_SYS_ADMIN (containers)
# the mount fails, faxsetup prompts for a country code and loops forever on
# EOF. The postinst skips faxsetup when /etc/hylafax/setup.cache exists, so
# write the values faxsetup itself writes on Debian 12. The same file is
# written when the packages are installed but it is missing (faxsetup never
# completed, or was interrupted): faxq, hfaxd and the scripts refuse to run
# without it.
seed_setup_cache() {
	[ -e /etc/hylafax/setup.cache ] && return
	mkdir -p /etc/hylafax
	cat > /etc/hylafax/setup.cache <<'EOF'
# Written by gofaxserver contrib/install-deps.sh with the values faxsetup
# -server writes on Debian 12 (its presence makes the postinst skip faxsetup).
AWK='/usr/bin/awk'
BASE64ENCODE='/bin/base64'
BIN='/usr/bin'
CAT='/bin/cat'
CHGRP='/bin/chgrp'
CHMOD='/bin/chmod'
CHOWN='/bin/chown'
CP='/bin/cp'
DPSRIP=
ECHO='/bin/echo'
ENCODING='base64'
FAXQ_SERVER='yes'
FONTPATH='/usr/share/fonts/type1/gsfonts'
FUSER='fuser'
GREP='/bin/grep'
GSRIP='/usr/bin/gs'
HFAXD_SERVER='yes'
HFAXD_SNPP_SERVER='no'
IMPRIP='/usr/bin/psrip'
LIBDATA='/etc/hylafax'
LIBEXEC='/usr/sbin'
LN='/bin/ln'
MANDIR='/usr/share/man'
MIMENCODE=''
MKFIFO='/usr/bin/mkfifo'
MV='/bin/mv'
PATH='/usr/sbin:/bin:/usr/bin:/etc:/usr/local/bin'
PATHEGETTY='/etc/hylafax/egetty-link'
PATHGETTY='/etc/hylafax/getty-link'
PATHVGETTY='/etc/hylafax/vgetty-link'
PCL6CMD='pcl6'
PSPACKAGE='gs'
QPENCODE='qp-encode'
RM='/bin/rm'
SBIN='/usr/sbin'
SCRIPT_SH='/bin/bash'
SED='/bin/sed'
SENDMAIL='/usr/lib/sendmail'
SPOOL='/var/spool/hylafax'
SYSVINIT=''
TARGET='x86_64-pc-linux-gnu'
TIFF2PDF='/usr/bin/tiff2pdf'
TIFFBIN='/usr/bin'
TTYCMD='/usr/bin/tty'
UUCP_LOCKDIR='/var/lock'
UUCP_LOCKTYPE='ascii'
UUENCODE=''
EOF
	say "wrote /etc/hylafax/setup.cache with the values faxsetup -server writes on Debian 12 (the postinst then skips faxsetup)"
}

# Keep maintainer scripts from starting services (hylafax, and the MTA pulled
# in as a dependency) while we install: a temporary policy-rc.d answering 101
# ("action forbidden"), removed again on exit unless one was already there.
policy=/usr/sbin/policy-rc.d
own_policy=0
restore_policy() { [ "$own_policy" = 1 ] && rm -f "$policy"; return 0; }
trap restore_policy EXIT

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done

seed_setup_cache
if [ ${#missing[@]} -gt 0 ]; then
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# temporary, from gofaxserver contrib/install-deps.sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	# Refresh the package lists when they are missing or lack a package we need.
	need_update=0
	for p in "${missing[@]}"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; fi
	done
	if [ "$need_update" = 1 ]; then
		say "apt-get update"
		apt-get update -q > "$log_file" 2>&1 < /dev/null \
			|| { tail -n 30 "$log_file" >&2; die "apt-get update failed (log: $log_file)"; }
	fi
	say "installing ${missing[*]}"
	apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" \
		>> "$log_file" 2>&1 < /dev/null \
		|| { tail -n 30 "$log_file" >&2; die "apt-get install ${missing[*]} failed (log: $log_file)"; }
fi

# faxq creates UUCP locks (LCK..<modem>) here as root.
mkdir -p "$(readlink -f /var/lock)"

# The package's init script may start a system faxq/hfaxd on
# /var/spool/hylafax and port 4559 (not under policy-rc.d, not without an
# init system). The tests use neither, but say so.
for d in faxq hfaxd; do
	for pid in $(pidof "$d" 2>/dev/null || true); do
		cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
		case "$cmd" in
		*" -q /var/spool/hylafax "* | *" -q /var/spool/hylafax/ "*) ;;
		*" -q "*) continue ;; # a private spool (tests, demo)
		esac
		say "note: system $d running (pid $pid: $cmd); the tests use private spools and ports"
	done
done

for p in "${packages[@]}"; do
	installed "$p" || die "$p is not installed after apt-get install (log: $log_file)"
done
for f in /usr/sbin/faxq /usr/sbin/hfaxd /usr/bin/sendfax /usr/bin/faxstat \
	/usr/lib/hylafax/bin/faxinfo /usr/lib/hylafax/bin/xferfaxstats /usr/lib/hylafax/bin/recvstats \
	/usr/bin/tiffinfo /usr/bin/tiffset /usr/bin/gs /usr/bin/pdfinfo /bin/busybox; do
	[ -x "$f" ] || die "$f missing after install"
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for f in initdb pg_ctl postgres; do
	[ -n "$pg_bin" ] && [ -x "$pg_bin/$f" ] || die "PostgreSQL's $f missing after install (looked in /usr/lib/postgresql/*/bin)"
done
id postgres >/dev/null 2>&1 || die "user postgres missing after install (the tests run initdb as postgres)"
/usr/bin/python3 -c 'import aiosmtpd' || die "python3-aiosmtpd installed but /usr/bin/python3 cannot import aiosmtpd"
[ -f /etc/hylafax/setup.cache ] || die "/etc/hylafax/setup.cache missing (faxq refuses to start without it)"
dpkg-query -W -f='install-deps: ${Package} ${Version}\n' "${packages[@]}"
