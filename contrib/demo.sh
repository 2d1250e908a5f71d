#!/bin/bash
# demo.sh - send a fax through HylaFAX and gofaxserver and receive it again,
# on this machine only (127.0.0.1), without touching the system's HylaFAX.
#
# "make demo" runs it after installing HylaFAX (contrib/install-deps.sh) and
# building bin/gofaxd, bin/gofaxsend and bin/fssim. As root it:
#   1. builds a private HylaFAX spool under $DEMO_DIR (the package's spool
#      skeleton and /etc/hylafax copied, never the system spool's jobs or
#      state; SendFaxCmd = a copy of bin/gofaxsend in $DEMO_DIR/bin, where
#      uucp can run it even from a checkout below a private directory such as
#      /root; mail captured in a file instead of sent),
#   2. starts faxq, hfaxd (127.0.0.1, a free port), the FreeSWITCH simulator
#      bin/fssim in loopback mode (every call gofaxsend originates comes back
#      to gofaxd as an inbound call) and gofaxd with two virtual modems; a
#      daemon whose port another process took first is started again on a
#      fresh port (bind_tries times at most),
#   3. makes a two-page PDF with Ghostscript and sends it with HylaFAX's own
#      sendfax, so HylaFAX converts it and faxq runs gofaxsend,
#   4. waits until the job is done and the fax is received, shows faxstat,
#      faxinfo, the xferfaxlog records (and xferfaxstats/recvstats over
#      them), faxrcvd's mail and gofaxd's metrics (calls and pages received,
#      faxes and pages sent, modems),
#   5. tenants: a private PostgreSQL (initdb as the user postgres into
#      $DEMO_DIR/pg, unix socket only), started before gofaxd, its schema made
#      with "gofaxd migrate", two tenants with a number each and a user of
#      tenant A (psql); after the plain fax above (to a number no tenant has,
#      received without a tenant: unknownnumber = receive), alice of tenant A
#      sends the PDF with sendfax to tenant B's number, and the demo prints
#      the fax rows gofaxd recorded: both directions, with their tenants,
#   6. receipts: before the tenants' fax, it starts a webhook receiver
#      (bin/hookrecv, which verifies the Standard Webhooks signature) and a
#      local SMTP server (python3-aiosmtpd, gofaxlib/notify/notifytest/
#      smtpd.py), and gives the tenants endpoints (psql): a webhook each, and
#      a mailbox for tenant B with the fax as PDF and the transmission
#      report; after it, it shows the webhook receipts hookrecv verified
#      (tenant B's fax.received, tenant A's fax.delivered), the mail with its
#      PDFs (pdfinfo) and the events with their deliveries,
#   7. the REST API (gofaxd's [web], on a free port of 127.0.0.1): the
#      operator makes an API key for alice and a user bob of tenant B with an
#      API key (curl with the admin token), alice sends the PDF with curl to
#      tenant B's number (POST /v1/faxes: an ordinary HylaFAX job through
#      hfaxd), the demo follows it queued -> sending -> delivered, and bob
#      lists the fax B received and downloads it as PDF (pdfinfo shows its
#      pages),
#   8. stops everything it started (also on Ctrl-C or an error).
# Every wait is bounded. Running it again starts from scratch.
#
# Environment:
#   DEMO_DIR    work directory (default /tmp/gofax-demo), rebuilt every run
#   DEMO_BIN    where gofaxd, gofaxsend, fssim and hookrecv are (default bin/); they
#               are copied to $DEMO_DIR/bin and run from there
#   DEMO_PREFIX modem name prefix (default fsdemo)
#   DEMO_KEEP=1 leave the processes running (stop them with: demo.sh stop)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src_bin=${DEMO_BIN:-$root/bin}
dir=${DEMO_DIR:-/tmp/gofax-demo}
# The programs run from a copy here (see build_spool).
bin=$dir/bin
spool=$dir/spool
pgdir=$dir/pg
pg_dsn="host=$pgdir port=5432 user=postgres dbname=gofax sslmode=disable"
modems=2
# Modem names; faxq's UUCP locks (/var/lock/LCK..<modem>) are machine-wide.
prefix=${DEMO_PREFIX:-fsdemo}
number=5551234
# Tenants (NANP numbering in this demo: [freeswitch] countrycode 1).
number_a=15550001001
number_b=15550002002
# The REST API: the operator's token (gofax.conf holds its SHA-256), and the
# hfaxd account it submits faxes with (an administrator, so that each job is
# owned by the tenant's user). New random values every run.
api_token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
hfaxd_api_user=gofaxapi
hfaxd_api_pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
hfaxd_api_admin=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')

# Time bounds, in seconds. faxq runs its scheduler at most once a second;
# converting the PDF and a simulated call take a few seconds.
start_wait=20
job_wait=120
recv_wait=60
rows_wait=60
receipt_wait=60
stop_wait=10
# Tries to start a daemon on fresh ports when another process took one.
bind_tries=5

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
info() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }

# --- processes ---------------------------------------------------------------

# start NAME CMD...: run CMD in its own session (so that stop also ends its
# children: faxq's gofaxsend, hfaxd's per-client processes), output in
# $dir/NAME.out, pid in $dir/NAME.pid.
start() {
	local name=$1; shift
	setsid "$@" >"$dir/$name.out" 2>&1 </dev/null &
	echo $! >"$dir/$name.pid"
}

# stop_one NAME: SIGTERM to NAME's process group, SIGKILL after stop_wait
# seconds.
stop_one() {
	local name=$1 pid i
	[ -f "$dir/$name.pid" ] || return 0
	pid=$(cat "$dir/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < stop_wait * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
		info "stopped $name (pid $pid)"
	fi
	rm -f "$dir/$name.pid"
}

# stop_pg stops the demo's PostgreSQL with a fast shutdown (SIGINT: it
# disconnects its clients), SIGKILL to its process group after stop_wait.
stop_pg() {
	local pid i
	[ -f "$dir/postgres.pid" ] || return 0
	pid=$(cat "$dir/postgres.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true
		for ((i = 0; i < stop_wait * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
		info "stopped postgres (pid $pid)"
	fi
	rm -f "$dir/postgres.pid"
}

# stop_all ends what a run started.
stop_all() {
	local name i
	for name in gofaxd fssim hfaxd faxq hookrecv smtpd; do stop_one "$name"; done
	stop_pg
	for ((i = 0; i < modems; i++)); do rm -f "/var/lock/LCK..$prefix$i"; done
}

on_exit() {
	local rc=$?
	if [ "${DEMO_KEEP:-0}" = 1 ] && [ "$rc" = 0 ]; then
		info "processes left running (DEMO_KEEP=1); stop them with: $0 stop"
		return
	fi
	case $rc in
	0) ;;
	130 | 143) info "interrupted" ;;
	*) show_logs ;;
	esac
	say "Stopping"
	stop_all
	[ "$rc" = 0 ] || info "logs are in $dir"
}

show_logs() {
	local f
	for f in gofaxd.out fssim.out faxq.out hfaxd.out gofaxsend.log postgres.out hookrecv.out smtpd.out; do
		[ -s "$dir/$f" ] || continue
		printf -- '--- %s (last lines) ---\n' "$f"
		tail -n 15 "$dir/$f"
	done
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s.
wait_for() {
	local secs=$1 what=$2 i; shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for $what"
}

alive() { kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port picks a loopback TCP port nobody listens on now, below the
# kernel's range for the local ports of outgoing connections (so no client
# of another program gets it by chance). Another process may still take it
# before our daemon binds it: the start functions check who got it and try
# again with a fresh port (at most bind_tries times).
free_port() {
	local p i low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range || true
	((low > 12000)) || low=32768
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % (low - 10000)))
		listening "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

# listener_inode PORT: the socket inode of the listener on 127.0.0.1:PORT
# (read from /proc, so no ss or netstat is needed), empty if there is none.
listener_inode() {
	awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a && $4 == "0A" { print $10; exit }' /proc/net/tcp
}

# holds NAME INODE: NAME's process has the socket INODE open.
holds() { ls -l "/proc/$(cat "$dir/$1.pid")/fd" 2>/dev/null | grep -qF "socket:[$2]"; }

# http_get PORT PATH: a minimal HTTP/1.0 GET on 127.0.0.1 (no curl needed).
http_get() {
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
	timeout 5 cat <&3 | sed '1,/^\r$/d'
	exec 3<&-
}

# --- set-up ------------------------------------------------------------------

preflight() {
	[ "$(id -u)" = 0 ] || die "must run as root (faxq must be started by root)"
	local f
	for f in "$src_bin/gofaxd" "$src_bin/gofaxsend" "$src_bin/fssim" "$src_bin/hookrecv"; do
		[ -x "$f" ] || die "$f missing: run make demo (it builds the binaries first)"
	done
	for f in /usr/sbin/faxq /usr/sbin/hfaxd /usr/bin/sendfax /usr/bin/faxstat \
		/usr/lib/hylafax/bin/faxinfo /usr/bin/gs /usr/bin/pdfinfo /usr/bin/curl /usr/bin/openssl \
		/etc/hylafax/setup.cache; do
		[ -e "$f" ] || die "$f missing: run contrib/install-deps.sh (make deps)"
	done
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
		die "python3-aiosmtpd missing (the demo's SMTP server): run contrib/install-deps.sh (make deps)"
	id uucp >/dev/null 2>&1 || die "user uucp missing (HylaFAX is not installed)"
	pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/postgres" ] && command -v psql >/dev/null &&
		id postgres >/dev/null 2>&1 || die "PostgreSQL missing: run contrib/install-deps.sh (make deps)"
}

build_spool() {
	say "Private HylaFAX spool in $spool"
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 755 "$dir" # faxq, hfaxd, gofaxd and the simulator run as uucp
	setpriv --reuid=uucp --regid=uucp --init-groups test -x "$dir" ||
		die "user uucp cannot reach $dir (a parent directory is private): set DEMO_DIR to a directory below /tmp"

	# The programs, where uucp can run them: faxq execs gofaxsend with
	# effective user uucp, which cannot reach into a checkout below a private
	# directory (such as root's home, mode 0700).
	mkdir -m 755 "$dir/bin"
	local f
	for f in gofaxd gofaxsend fssim hookrecv; do
		install -m 755 "$src_bin/$f" "$dir/bin/$f"
	done
	# faxq's NotifyCmd, as the package installs it: a link named
	# gofaxsend-notify (faxq passes no arguments written in NotifyCmd, so
	# "gofaxsend -notify" would lose its -notify).
	ln -s gofaxsend "$dir/bin/gofaxsend-notify"

	# The spool: the package's skeleton, not the system spool's state. Its
	# programs (bin/) and modem templates (config/) are copied; every other
	# directory is made empty with the owner and mode it has in the package
	# (no jobs, received faxes, logs or sequence numbers of the system's
	# HylaFAX), and etc/ is filled from /etc/hylafax, which Debian bind-mounts
	# there only while its own services run.
	local skel=/var/spool/hylafax d name
	install -d -m "$(stat -c %a "$skel")" -o "$(stat -c %u "$skel")" -g "$(stat -c %g "$skel")" "$spool"
	for d in "$skel"/*/; do
		d=${d%/}
		name=${d##*/}
		case $name in
		bin | config) cp -a "$d" "$spool/$name" ;;
		*) install -d -m "$(stat -c %a "$d")" -o "$(stat -c %u "$d")" -g "$(stat -c %g "$d")" "$spool/$name" ;;
		esac
	done
	cp -a /etc/hylafax/. "$spool/etc/"

	# Mail from faxrcvd and notify is written to mail.log instead of sent.
	cat >"$dir/sendmail" <<-EOF
		#!/bin/sh
		{ echo "### sendmail \$*"; cat; } >> $dir/mail.log
	EOF
	chmod 755 "$dir/sendmail"
	install -m 644 -o uucp -g uucp /dev/null "$dir/mail.log"
	install -m 644 -o uucp -g uucp /dev/null "$dir/gofaxsend.log"

	# xferfaxstats and recvstats hard-code SPOOL=/var/spool/hylafax and die
	# there without etc/setup.cache (a fresh machine's system spool has an
	# empty etc/): copies that read this spool instead.
	for f in xferfaxstats recvstats; do
		sed "s#^SPOOL=/var/spool/hylafax\$#SPOOL='$spool'#" "/usr/lib/hylafax/bin/$f" >"$dir/$f"
		grep -qxF "SPOOL='$spool'" "$dir/$f" || die "/usr/lib/hylafax/bin/$f: no SPOOL=/var/spool/hylafax line to redirect"
		chmod 755 "$dir/$f"
	done

	# The HylaFAX scripts take the spool, the tools and sendmail from here;
	# the tools in /usr/sbin are Debian's mount wrappers, use the real ones.
	sed -i -e "s#^SPOOL=.*#SPOOL='$spool'#" -e "s#^SBIN=.*#SBIN='/usr/lib/hylafax/bin'#" \
		-e "s#^SENDMAIL=.*#SENDMAIL='$dir/sendmail'#" "$spool/etc/setup.cache"
	cat >>"$spool/etc/config" <<-EOF

		# --- gofaxserver demo ---
		SendFaxCmd:	$bin/gofaxsend
		NotifyCmd:	$bin/gofaxsend-notify
		LogFacility:	daemon
	EOF
	# hfaxd: the REST API's account first (a password, and an administrator
	# password as crypt(3) MD5 hashes), then any other client from 127.0.0.1
	# without a password, uid 21 (Debian's fax group).
	{
		printf '^%s@:21:%s:%s\n' "$hfaxd_api_user" "$(openssl passwd -1 "$hfaxd_api_pw")" \
			"$(openssl passwd -1 "$hfaxd_api_admin")"
		printf 'localhost:21::\n127.0.0.1:21::\n'
	} >"$spool/etc/hosts.hfaxd"
	chown uucp:uucp "$spool/etc/hosts.hfaxd"
	chmod 600 "$spool/etc/hosts.hfaxd"
	for ((i = 0; i < modems; i++)); do
		sed "s/gofaxserver/gofaxserver demo/" "$root/config/hylafax/config.freeswitch0" >"$spool/etc/config.$prefix$i"
	done
	cp "$root/config/hylafax/FaxDispatch" "$spool/etc/FaxDispatch"
	mkdir -p "$(readlink -f /var/lock)"
}

# write_conf writes $dir/gofax.conf for the simulator on $esl_port and
# gofaxd on $sock_port and $metrics_port. gofaxsend reads it per job.
write_conf() {
	cat >"$dir/gofax.conf" <<-EOF
		; gofax.conf of the demo (see config/gofax.conf for every key)
		[freeswitch]
		socket = 127.0.0.1:$esl_port
		password = ClueCon
		gateway = demo
		ident = "+1 555 000 0000"
		header = "gofaxserver demo"

		; The demo's tenants have North American numbers.
		countrycode = 1
		nationalprefix = 1
		internationalprefix = 011
		nationallength = 10

		[hylafax]
		spooldir = $spool
		modems = $modems
		modemprefix = $prefix
		; world-readable, so faxstat -r lists it for any client
		recvfilemode = 0644

		[gofaxd]
		socket = 127.0.0.1:$sock_port
		metrics = 127.0.0.1:$metrics_port
		enablet38 = true
		requestt38 = true

		[gofaxsend]
		enablet38 = true
		requestt38 = true
		faxnumber = 5550000
		logfile = $dir/gofaxsend.log

		[database]
		dsn = "$pg_dsn"
		hostname = demo
		; the first fax goes to a number no tenant has: received anyway
		unknownnumber = receive

		; Receipts: the demo's SMTP server (plain text on 127.0.0.1) and its
		; webhook receiver on 127.0.0.1, which the default deny list refuses.
		[smtp]
		host = 127.0.0.1
		port = $smtp_port
		tls = none
		from = "gofaxserver demo <fax@demo.example>"

		[webhooks]
		allow = 127.0.0.1/32

		[web]
		listen = 127.0.0.1:$web_port
		admintoken = demo:$(printf %s "$api_token" | sha256sum | cut -d ' ' -f 1)
		hfaxdport = $hfaxd_port
		hfaxduser = $hfaxd_api_user
		hfaxdpassword = $hfaxd_api_pw
		hfaxdadminpassword = $hfaxd_api_admin
	EOF
	# As the package installs /etc/gofax.conf: it holds the event socket password.
	chown root:uucp "$dir/gofax.conf"
	chmod 640 "$dir/gofax.conf"
}

# start_hfaxd starts hfaxd on a free port. hfaxd does not exit when its port
# is taken, it keeps trying to bind: so wait until it owns the port, and if
# another process got the port first, stop it and try a fresh one.
start_hfaxd() {
	local try i inode
	for ((try = 1; try <= bind_tries; try++)); do
		hfaxd_port=$(free_port)
		# -l must come before -i.
		start hfaxd /usr/sbin/hfaxd -d -q "$spool" -l 127.0.0.1 -i "$hfaxd_port"
		for ((i = 0; i < start_wait * 10; i++)); do
			inode=$(listener_inode "$hfaxd_port")
			if [ -n "$inode" ]; then
				holds hfaxd "$inode" || break # another process got the port
				host=127.0.0.1:$hfaxd_port
				info "hfaxd on $host"
				return 0
			fi
			alive hfaxd || die "hfaxd exited at start-up"
			sleep 0.1
		done
		info "hfaxd did not get port $hfaxd_port; trying another"
		stop_one hfaxd
	done
	die "hfaxd did not get a port in $bind_tries tries"
}

# start_fs_gofaxd starts the simulator and gofaxd. The simulator binds port
# 0 and prints the port it got; gofaxd's ports are picked here, and if one
# was taken meanwhile gofaxd exits naming it: then both start again on
# fresh ports (the simulator's loopback calls go to gofaxd's port).
start_fs_gofaxd() {
	local try i
	for ((try = 1; try <= bind_tries; try++)); do
		sock_port=$(free_port)
		metrics_port=$(free_port)
		web_port=$(free_port)
		[ "$sock_port" != "$metrics_port" ] && [ "$web_port" != "$sock_port" ] && [ "$web_port" != "$metrics_port" ] || continue
		# Loopback mode: originates without a route come back to gofaxd's
		# socket. -scale 0.1: a call takes a tenth of the time a real one
		# takes. It runs as uucp, as FreeSWITCH should: it writes the received
		# faxes into recvq.
		start fssim setpriv --reuid=uucp --regid=uucp --init-groups "$bin/fssim" -listen 127.0.0.1:0 \
			-password ClueCon -socket "127.0.0.1:$sock_port" -scale 0.1
		wait_for $start_wait "the simulator's event socket" grep -q '^fssim: event socket on ' "$dir/fssim.out"
		esl_port=$(sed -n 's/^fssim: event socket on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/fssim.out")
		[ -n "$esl_port" ] || die "no event socket address in $dir/fssim.out"
		write_conf
		# gofaxd runs as the spool's owner, as under systemd. It logs "gofaxd
		# ready" once its socket and metrics listeners are bound.
		start gofaxd setpriv --reuid=uucp --regid=uucp --init-groups \
			"$bin/gofaxd" -c "$dir/gofax.conf"
		for ((i = 0; i < start_wait * 10; i++)); do
			if grep -q 'gofaxd ready' "$dir/gofaxd.out"; then
				info "simulator on 127.0.0.1:$esl_port, gofaxd on 127.0.0.1:$sock_port, metrics on 127.0.0.1:$metrics_port, REST API on 127.0.0.1:$web_port"
				return 0
			fi
			alive gofaxd || break
			sleep 0.1
		done
		alive gofaxd && die "timed out after ${start_wait}s waiting for gofaxd to be ready"
		grep -q 'address already in use' "$dir/gofaxd.out" ||
			die "gofaxd did not start: $(tail -n 3 "$dir/gofaxd.out")"
		info "gofaxd's port was taken ($(tail -n 1 "$dir/gofaxd.out")); trying fresh ports"
		stop_one fssim
	done
	die "gofaxd did not get its ports in $bind_tries tries"
}

# psql_demo runs psql as the cluster's superuser on the demo's database.
psql_demo() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -p 5432 -U postgres -d gofax "$@"; }

# start_pg makes a private PostgreSQL cluster in $pgdir: initdb as the user
# postgres (initdb refuses root) into a directory it owns, the server on a
# unix socket there only (no TCP port), database gofax.
start_pg() {
	say "A private PostgreSQL in $pgdir (unix socket only)"
	install -d -o postgres -g postgres -m 755 "$pgdir"
	setpriv --reuid=postgres --regid=postgres --init-groups "$pg_bin/initdb" -D "$pgdir/data" -U postgres \
		-A trust -E UTF8 --locale=C --no-sync --no-instructions >"$dir/initdb.out" 2>&1 ||
		die "initdb failed: $(tail -n 5 "$dir/initdb.out")"
	start postgres setpriv --reuid=postgres --regid=postgres --init-groups "$pg_bin/postgres" -D "$pgdir/data" \
		-k "$pgdir" -p 5432 -c listen_addresses= -c unix_socket_permissions=0777 -c fsync=off
	wait_for $start_wait "PostgreSQL" "$pg_bin/pg_isready" -q -h "$pgdir" -p 5432 -U postgres
	"$pg_bin/psql" -X -q -h "$pgdir" -p 5432 -U postgres -d postgres -c 'CREATE DATABASE gofax' ||
		die "cannot create the database"
	info "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $NF}') on $pgdir/.s.PGSQL.5432"
}

# start_receivers starts the receipts' receivers on free ports: a local SMTP
# server (aiosmtpd; plain text, 127.0.0.1 only) saving each message in
# $dir/receipts-mail, and hookrecv with the webhooks' signing secret, saving
# each body in $dir/hooks. Both print the port they got.
start_receivers() {
	say "Receipts' receivers: an SMTP server (aiosmtpd) and a webhook receiver (hookrecv)"
	mkdir -p "$dir/receipts-mail" "$dir/hooks"
	start smtpd /usr/bin/python3 "$root/gofaxlib/notify/notifytest/smtpd.py" --dir "$dir/receipts-mail" \
		--port 0 --keep-stdin
	wait_for $start_wait "the SMTP server" grep -q '^READY ' "$dir/smtpd.out"
	smtp_port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$dir/smtpd.out")
	# A signing secret as the API makes one: whsec_ and 32 random bytes.
	hook_secret="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
	start hookrecv "$bin/hookrecv" -listen 127.0.0.1:0 -secret "$hook_secret" -dir "$dir/hooks"
	wait_for $start_wait "hookrecv" grep -q '^hookrecv: listening on ' "$dir/hookrecv.out"
	hook_addr=$(sed -n 's/^hookrecv: listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p' "$dir/hookrecv.out")
	[ -n "$smtp_port" ] && [ -n "$hook_addr" ] || die "the receivers did not say where they listen"
	info "SMTP server on 127.0.0.1:$smtp_port, webhook receiver on $hook_addr"
}

# make_tenants creates the schema with gofaxd's own migrate command, then
# tenants A and B with a number each and alice, a user of tenant A whose
# name is the HylaFAX job owner sendfax -o gives.
make_tenants() {
	say "gofaxd migrate"
	# gofaxd's own file is written once its ports are known; migrate needs
	# only [database].
	printf '[database]\ndsn = "%s"\nhostname = demo\n' "$pg_dsn" >"$dir/migrate.conf"
	chmod 644 "$dir/migrate.conf"
	setpriv --reuid=uucp --regid=uucp --init-groups "$bin/gofaxd" -c "$dir/migrate.conf" migrate
	say "Two tenants with a number each, and alice of tenant A (psql)"
	psql_demo <<-EOF
		INSERT INTO tenants (name, time_zone) VALUES ('Tenant A', 'America/New_York'), ('Tenant B', 'America/Chicago');
		INSERT INTO numbers (tenant_id, number, ident, caller_id_name, header)
			SELECT id, '+$number_a', '+1 555 000 1001', 'Tenant A', 'Tenant A fax' FROM tenants WHERE name = 'Tenant A';
		INSERT INTO numbers (tenant_id, number, ident, caller_id_name, header)
			SELECT id, '+$number_b', '+1 555 000 2002', 'Tenant B', 'Tenant B fax' FROM tenants WHERE name = 'Tenant B';
		INSERT INTO users (tenant_id, username, email, default_number_id)
			SELECT t.id, 'alice', 'alice@a.example', n.id FROM tenants t JOIN numbers n ON n.tenant_id = t.id
			WHERE t.name = 'Tenant A';
	EOF
	psql_demo -c "SELECT t.name AS tenant, n.number, n.ident AS csi, coalesce(string_agg(u.username, ', '), '') AS users
		FROM tenants t JOIN numbers n ON n.tenant_id = t.id LEFT JOIN users u ON u.tenant_id = t.id
		GROUP BY t.name, n.number, n.ident ORDER BY t.name"
	say "Receipt endpoints: a webhook for each tenant, a mailbox for tenant B (psql; the REST API does the same)"
	# The webhooks take every event but fax.retrying (no "events" option);
	# the mailbox gets the fax as PDF and the transmission report.
	psql_demo <<-EOF
		INSERT INTO endpoints (scope, tenant_id, kind, target, secret)
			SELECT 'tenant', id, 'webhook', 'http://$hook_addr/fax', '$hook_secret' FROM tenants;
		INSERT INTO endpoints (scope, tenant_id, kind, target, options)
			SELECT 'tenant', id, 'email', 'fax@b.example', '{"attach": "pdf", "report": true}' FROM tenants
			WHERE name = 'Tenant B';
	EOF
	psql_demo -c "SELECT t.name AS tenant, e.kind, e.target, e.options FROM endpoints e JOIN tenants t ON t.id = e.tenant_id
		ORDER BY t.name, e.kind"
}

start_all() {
	start_pg
	start_receivers
	make_tenants
	say "Starting faxq, hfaxd, the FreeSWITCH simulator and gofaxd"
	# faxq passes its environment to SendFaxCmd: that is how gofaxsend finds
	# the demo's gofax.conf.
	start faxq env GOFAX_CONFIG="$dir/gofax.conf" /usr/sbin/faxq -D -q "$spool"
	wait_for $start_wait "faxq's FIFO" test -p "$spool/FIFO"
	start_hfaxd
	start_fs_gofaxd
	for ((i = 0; i < modems; i++)); do
		wait_for $start_wait "modem $prefix$i" grep -q 'Running and idle' "$spool/status/$prefix$i"
	done
	# gofaxsend sends tenant users' jobs from the routing gofaxd writes.
	wait_for $start_wait "gofaxd's routing snapshot" test -s "$spool/gofax/routing.json"
	for p in faxq hfaxd fssim gofaxd; do alive "$p" || die "$p exited at start-up"; done
	faxstat -h "$host"
}

make_pdf() {
	say "A two-page PDF"
	gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sPAPERSIZE=a4 -sOutputFile="$dir/demo.pdf" -c '
		/Helvetica-Bold findfont 28 scalefont setfont
		72 720 moveto (gofaxserver demo) show
		/Helvetica findfont 16 scalefont setfont
		72 680 moveto (Page 1 of 2: sent by HylaFAX sendfax through gofaxsend,) show
		72 660 moveto (received by gofaxd, all on 127.0.0.1.) show showpage
		/Helvetica-Bold findfont 28 scalefont setfont
		72 720 moveto (Page 2 of 2) show
		newpath 72 300 moveto 523 300 lineto 523 600 lineto 72 600 lineto closepath 4 setlinewidth stroke
		showpage'
	ls -l "$dir/demo.pdf"
}

# job_state JOBID: 0 once doneq/q<id> says done (7) or failed (8). While the
# job sits "ready" (5) faxq may have lost its scheduler wake-up: a harmless
# "S<jobid>" on the FIFO pokes it (see gofaxlib/hylafax/hylafaxtest).
poke_count=0
job_finished() {
	local id=$1
	grep -qE '^state:[78]$' "$spool/doneq/q$id" 2>/dev/null && return 0
	poke_count=$((poke_count + 1))
	if [ $((poke_count % 10)) = 0 ] && grep -q '^state:5$' "$spool/sendq/q$id" 2>/dev/null; then
		printf 'S%s\0' "$id" >"$spool/FIFO"
	fi
	return 1
}

received() { grep -q $'\tRECV\t' "$spool/log/xferfaxlog" 2>/dev/null; }

send_fax() {
	say "sendfax -n -d $number demo.pdf"
	local out
	out=$(timeout 60 sendfax -h "$host" -n -d "$number" "$dir/demo.pdf")
	echo "$out"
	jobid=$(sed -n 's/^request id is \([0-9]*\) .*/\1/p' <<<"$out")
	[ -n "$jobid" ] || die "sendfax did not report a job id"
	info "waiting for job $jobid (at most ${job_wait}s)"
	wait_for $job_wait "job $jobid to finish" job_finished "$jobid"
	grep -q '^state:7$' "$spool/doneq/q$jobid" ||
		die "job $jobid failed: $(sed -n 's/^status://p' "$spool/doneq/q$jobid")"
	info "job $jobid done"
	# faxq then runs NotifyCmd (gofaxsend-notify), which records its
	# notice and leaves the job's status as gofaxsend wrote it.
	wait_for $start_wait "faxq's notice of job $jobid to be recorded" \
		grep -q "msg=\"job notice recorded\" job_id=$jobid why=done" "$dir/gofaxsend.log"
	local status
	status=$(sed -n 's/^status://p' "$spool/doneq/q$jobid")
	[ -z "$status" ] || die "job $jobid: its status changed after it was done: $status"
	wait_for $recv_wait "the reception to be recorded" received
	# gofaxsend tells gofaxd the modem is free again just before it exits.
	for ((i = 0; i < modems; i++)); do
		wait_for $start_wait "modem $prefix$i to be idle" grep -q 'Running and idle' "$spool/status/$prefix$i"
	done
}

# rows_final N: the database has N faxes, all of them final.
rows_final() {
	[ "$(psql_demo -At -c "SELECT count(*) FROM faxes WHERE completed_at IS NOT NULL")" = "$1" ] &&
		[ "$(psql_demo -At -c "SELECT count(*) FROM faxes")" = "$1" ]
}

# received_n N: xferfaxlog has N RECV records.
received_n() { [ "$(grep -c $'\tRECV\t' "$spool/log/xferfaxlog" 2>/dev/null)" -ge "$1" ]; }

tenant_fax() {
	say "sendfax -o alice -d $number_b demo.pdf (alice of tenant A to tenant B's number)"
	local out id
	out=$(timeout 60 sendfax -h "$host" -n -o alice -d "$number_b" "$dir/demo.pdf")
	echo "$out"
	id=$(sed -n 's/^request id is \([0-9]*\) .*/\1/p' <<<"$out")
	[ -n "$id" ] || die "sendfax did not report a job id"
	info "waiting for job $id (at most ${job_wait}s)"
	wait_for $job_wait "job $id to finish" job_finished "$id"
	grep -q '^state:7$' "$spool/doneq/q$id" ||
		die "job $id failed: $(sed -n 's/^status://p' "$spool/doneq/q$id")"
	wait_for $recv_wait "the reception to be recorded" received_n 2
	# Two jobs and two receptions, all final in the database: gofaxd
	# ingests them from its journal, and makes a job final from doneq
	# (or from faxq's notice) a few seconds after it ended.
	info "waiting for the fax rows (at most ${rows_wait}s)"
	wait_for $rows_wait "the four fax rows to be final" rows_final 4
	say "The fax rows in PostgreSQL (gofaxd recorded them; hfaxd's faxstat shows every job to the operator)"
	psql_demo -c "SELECT f.direction, coalesce(t.name, '(no tenant)') AS tenant, f.status, f.from_number AS from,
		f.to_number AS to, f.pages_transferred AS pages, f.owner, coalesce(f.job_id::text, f.commid) AS job_or_commid,
		f.document_size > 0 AS archived
		FROM faxes f LEFT JOIN tenants t ON t.id = f.tenant_id ORDER BY f.created_at, f.direction DESC"
	info "tenant B received the fax of tenant A's user: $(psql_demo -At -c "SELECT count(*) FROM faxes f JOIN tenants t
		ON t.id = f.tenant_id WHERE t.name = 'Tenant B' AND f.direction = 'inbound' AND f.status = 'received'
		AND f.to_number = '+$number_b'") received fax(es) for Tenant B"
}

# json_field NAME: the first "NAME":"value" of the JSON on stdin (the API's
# answers are one line; enough for the demo without jq).
json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d '"' -f 4 || true; }

# api METHOD PATH KEY [curl arguments...]: one REST API request, shown as the
# curl command (without the secret); the answer goes to stdout.
api() {
	local method=$1 path=$2 key=$3
	shift 3
	local a
	{
		printf '$ curl -X %s -H "Authorization: Bearer …"' "$method"
		for a in "$@" "http://127.0.0.1:$web_port/v1$path"; do
			case $a in
			*[!A-Za-z0-9_./:=@+-]*) printf " '%s'" "$a" ;;
			*) printf ' %s' "$a" ;;
			esac
		done
		echo
	} >&2
	curl -sS --max-time 60 -X "$method" -H "Authorization: Bearer $key" "$@" "http://127.0.0.1:$web_port/v1$path"
}

# fax_status KEY ID: the fax's status as KEY sees it.
fax_status() { api GET "/faxes/$2" "$1" 2>/dev/null | json_field status || true; }

api_fax() {
	say "REST API on 127.0.0.1:$web_port: the operator makes API keys (curl, admin token)"
	local alice_id tenant_b out key_a key_b bob_id id status trail last since in_id i
	alice_id=$(psql_demo -At -c "SELECT id FROM users WHERE username = 'alice'")
	tenant_b=$(psql_demo -At -c "SELECT id FROM tenants WHERE name = 'Tenant B'")
	out=$(api POST "/users/$alice_id/api-keys" "$api_token" -H 'Content-Type: application/json' -d '{"name":"demo"}')
	key_a=$(json_field key <<<"$out")
	[ -n "$key_a" ] || die "no API key for alice: $out"
	info "alice's API key: $(json_field prefix <<<"$out")… (shown once, stored as its SHA-256)"
	out=$(api POST /users "$api_token" -H 'Content-Type: application/json' \
		-d "{\"tenant_id\":\"$tenant_b\",\"username\":\"bob\",\"role\":\"user\"}")
	bob_id=$(json_field id <<<"$out")
	[ -n "$bob_id" ] || die "no user bob: $out"
	out=$(api POST "/users/$bob_id/api-keys" "$api_token" -H 'Content-Type: application/json' -d '{"name":"demo"}')
	key_b=$(json_field key <<<"$out")
	[ -n "$key_b" ] || die "no API key for bob: $out"

	say "alice sends demo.pdf to tenant B's number through the API"
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	out=$(api POST /faxes "$key_a" -H 'Idempotency-Key: demo-api-fax' -F "to=+$number_b" -F "file=@$dir/demo.pdf")
	echo "$out"
	id=$(json_field id <<<"$out")
	[ -n "$id" ] && [ "$(json_field status <<<"$out")" = queued ] || die "the API did not queue the fax: $out"
	info "fax $id queued as HylaFAX job $(grep -o '"job_id":[0-9]*' <<<"$out" | head -n 1 | cut -d : -f 2); following it (at most ${job_wait}s)"
	trail=queued last=queued
	for ((i = 0; i < job_wait * 10; i++)); do
		status=$(fax_status "$key_a" "$id")
		if [ -n "$status" ] && [ "$status" != "$last" ]; then
			info "fax $id: $status"
			trail="$trail -> $status" last=$status
		fi
		case $status in delivered | failed | canceled) break ;; esac
		sleep 0.1
	done
	info "the fax went $trail"
	[ "$last" = delivered ] || die "the API fax did not arrive: $last"

	say "bob (tenant B) lists the fax B received and downloads it as PDF"
	for ((i = 0; i < recv_wait * 10; i++)); do
		in_id=$(api GET "/faxes?direction=inbound&status=received&since=$since" "$key_b" 2>/dev/null | json_field id || true)
		[ -n "$in_id" ] && break
		sleep 0.1
	done
	[ -n "$in_id" ] || die "tenant B lists no received fax"
	api GET "/faxes?direction=inbound&since=$since" "$key_b"
	echo
	api GET "/faxes/$in_id/document" "$key_b" --fail -o "$dir/received.pdf" || die "no document for fax $in_id"
	say "pdfinfo received.pdf"
	pdfinfo "$dir/received.pdf"
	info "tenant B downloaded the received fax as PDF: $(pdfinfo "$dir/received.pdf" | sed -n 's/^Pages: *//p') pages"
}

report() {
	say "faxstat -s (send queue)"
	faxstat -h "$host" -s
	say "faxstat -d (done queue)"
	faxstat -h "$host" -d
	say "faxstat -r (receive queue)"
	faxstat -h "$host" -r
	local f
	f=$(cd "$spool" && ls recvq/fax*.tif | head -n 1)
	say "faxinfo $f"
	(cd "$spool" && /usr/lib/hylafax/bin/faxinfo "$f")
	say "log/xferfaxlog, and HylaFAX's xferfaxstats and recvstats over it"
	cat "$spool/log/xferfaxlog"
	echo
	(cd "$spool" && "$dir/xferfaxstats" log/xferfaxlog && echo && "$dir/recvstats" log/xferfaxlog)
	say "Mail from faxrcvd and notify (captured in $dir/mail.log)"
	grep -E '^(### sendmail|Subject:)' "$dir/mail.log" || info "no mail captured"
	say "gofaxd /healthz and /metrics (127.0.0.1:$metrics_port)"
	http_get "$metrics_port" /healthz
	http_get "$metrics_port" /metrics | grep -E '^gofaxd_(calls_total|faxes_sent_total|pages_(received|sent)_total|modems|active_calls|faxq_reading)' || true
	say "Result"
	info "sent job $jobid ($(sed -n 's/^npages://p' "$spool/doneq/q$jobid") pages) and received $f; logs in $dir"
}

# hooks_n N: hookrecv verified N receipts.
hooks_n() { [ "$(grep -c ': signature verified$' "$dir/hookrecv.out" 2>/dev/null)" -ge "$1" ]; }

# mails_n N: the SMTP server took N messages.
mails_n() { [ "$(ls "$dir"/receipts-mail/*.eml 2>/dev/null | wc -l)" -ge "$1" ]; }

receipts() {
	info "waiting for the receipts (at most ${receipt_wait}s)"
	wait_for $receipt_wait "two webhook receipts" hooks_n 2
	wait_for $receipt_wait "the e-mail receipt" mails_n 1
	say "Receipts: webhooks at hookrecv, each signature verified (webhook-id = the event's id)"
	grep '^hookrecv: ' "$dir/hookrecv.out" | grep -v 'listening on'
	say "Receipts: the e-mail at the local SMTP server ($dir/receipts-mail)"
	local eml
	eml=$(ls "$dir"/receipts-mail/*.eml | head -n 1)
	# Python's e-mail package reads it (python3 is there for aiosmtpd):
	# the header, the body, and each attachment saved for pdfinfo.
	/usr/bin/python3 - "$eml" "$dir" <<-'EOF'
		import email, email.policy, os, sys
		m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
		for h in ("From", "To", "Subject", "Date", "Message-ID"):
		    print("%s: %s" % (h, m[h]))
		print()
		print(m.get_body(("plain",)).get_content().rstrip())
		print()
		for i, a in enumerate(m.iter_attachments()):
		    path = os.path.join(sys.argv[2], "receipt-%d.pdf" % (i + 1))
		    with open(path, "wb") as f:
		        f.write(a.get_content())
		    print("attachment %d: %s (%s, %d bytes) -> %s" % (i + 1, a.get_filename(), a.get_content_type(),
		          os.path.getsize(path), path))
	EOF
	local f
	for f in "$dir"/receipt-*.pdf; do
		info "pdfinfo ${f##*/}: $(pdfinfo "$f" | sed -n 's/^Pages: *\([0-9]*\)$/\1 page(s)/p')"
	done
	say "The receipt events and their deliveries (GET /v1/events shows the same)"
	psql_demo -c "SELECT ev.type, coalesce(t.name, '') AS tenant, e.kind, e.target, d.status, d.attempts
		FROM events ev JOIN deliveries d ON d.event_id = ev.id JOIN endpoints e ON e.id = d.endpoint_id
		LEFT JOIN tenants t ON t.id = ev.tenant_id ORDER BY ev.created_at, e.kind"
	http_get "$metrics_port" /metrics | grep -E '^gofaxd_receipts_total\{.*outcome="(delivered|dead)"' || true
}

# --- main ---------------------------------------------------------------------

if [ "${1:-}" = stop ]; then
	stop_all
	exit 0
fi
preflight
[ -d "$dir" ] && stop_all # leftovers of an earlier run
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
build_spool
start_all
make_pdf
send_fax
report
tenant_fax
receipts
api_fax
