#!/usr/bin/python3
"""A real SMTP server for gofaxserver's e-mail receipt tests (Debian's
python3-aiosmtpd). It listens on 127.0.0.1, prints "READY <port>" when it
accepts connections, saves each message it takes as <dir>/<n>.eml (the
bytes as received) with <dir>/<n>.json (envelope, TLS, authenticated user)
beside it, appends every AUTH attempt to <dir>/auth.log, and stops when its
standard input closes (unless --keep-stdin) or on SIGTERM. The tests run it
(package notifytest embeds it), and so does contrib/demo.sh.

  smtpd.py --dir DIR [--port N] [--mode plain|starttls|tls]
           [--cert FILE --key FILE] [--user NAME --password PW]
           [--reject-rcpt ADDR] [--keep-stdin]
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Saver:
    def __init__(self, directory, reject_rcpt):
        self.directory = directory
        self.reject_rcpt = reject_rcpt
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.reject_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%04d" % self.count)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server._tls_protocol is not None or server.transport.get_extra_info("sslcontext") is not None,
            "auth": session.authenticated and login_of(session.auth_data),
        }
        # The JSON first, the message last: a test waiting for .eml finds both.
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK saved"


def login_of(data):
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return None


def make_authenticator(directory, user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        tls = server._tls_protocol is not None or server.transport.get_extra_info("sslcontext") is not None
        with open(os.path.join(directory, "auth.log"), "a") as f:
            f.write("%s tls=%s\n" % (mechanism, tls))
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticate


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject-rcpt")
    p.add_argument("--keep-stdin", action="store_true", help="do not stop at the end of standard input")
    a = p.parse_args()

    ctx = None
    if a.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    kwargs = {"hostname": "smtpd.test", "auth_require_tls": False}
    if a.mode == "starttls":
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = True
    if a.user:
        kwargs["authenticator"] = make_authenticator(a.dir, a.user, a.password)
    else:
        kwargs["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
    handler = Saver(a.dir, a.reject_rcpt)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs), host="127.0.0.1", port=a.port,
        ssl=ctx if a.mode == "tls" else None)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if not a.keep_stdin:
        loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(4096) or stop.set())
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
