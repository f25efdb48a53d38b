#!/usr/bin/env python3
"""faultproxy: a TLS reverse proxy in front of a real kube-apiserver that breaks
watch streams on demand, for faults the apiserver cannot be made to produce.

    tests/tools/faultproxy.py [--cluster-dir DIR] [--upstream URL]

It serves HTTP/1.1 over TLS on 127.0.0.1 (a free port) with a certificate it
makes at start, signed by the cluster CA (DIR/pki/ca.crt and ca.key, SAN
IP:127.0.0.1), so a client that trusts the cluster CA trusts it too. Each
request goes to the apiserver (DIR/ports.env API_PORT unless --upstream) over
TLS verified with the same CA, headers (Authorization included) and body as
they came; responses stream back piece by piece as they arrive, re-chunked,
never buffered whole. A request without an Authorization header is sent with
the cluster's admin client certificate (DIR/pki/admin.crt and admin.key).

Faults apply to watch requests (query watch=true or watch=1) only, to streams
already open as well as new ones, and are set at run time through a control
endpoint (plain HTTP on 127.0.0.1, another free port):

    GET /fault?mode=none                      pass through
    GET /fault?mode=cut&lines=L               forward L more event lines, then part
        of the next one (1 byte, half of it, or all but its newline, in turn),
        then close the connection abruptly (TCP reset, no TLS close_notify)
    GET /fault?mode=stall&lines=L&seconds=T   forward L more event lines, then
        send nothing while holding the connection open for T seconds (or until
        the client hangs up), then close it
    GET /fault?mode=oversize&bytes=N          at the next line boundary, inject one
        valid MODIFIED event of a ConfigMap whose annotation pads the line to N
        bytes, then forward the real events
    GET /stats                                counters (JSON)

Every answer of the control endpoint is the JSON of /stats. stdout: line 1 the
proxy port, line 2 the control port. Logs go to stderr. SIGTERM or SIGINT
stops it and removes the certificate it made.
"""

import argparse
import http.client
import http.server
import json
import os
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "expect", "content-length",
}
READ_SIZE = 64 * 1024
MAX_REQUEST_BODY = 64 << 20  # a cap on what a client may send us


def log(msg):
    sys.stderr.write("faultproxy %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Faults:
    """The fault switch and counters, shared by all connections."""

    def __init__(self):
        self.lock = threading.Lock()
        self.mode = "none"
        self.lines = 1
        self.seconds = 30.0
        self.bytes = 20 << 20
        self.gen = 0  # bumped on every change, so each stream applies a new setting afresh
        self.counts = {"requests": 0, "watches": 0, "watches_open": 0, "cuts": 0, "cut_kinds": [0, 0, 0],
                       "stalls": 0, "injections": 0, "injected_bytes": 0, "client_gone": 0}

    def set(self, q):
        mode = q.get("mode", ["none"])[0]
        if mode not in ("none", "cut", "stall", "oversize"):
            raise ValueError("mode must be none, cut, stall or oversize, not %r" % mode)
        with self.lock:
            self.mode = mode
            self.lines = int(q.get("lines", ["1"])[0])
            self.seconds = float(q.get("seconds", ["30"])[0])
            self.bytes = int(q.get("bytes", [str(20 << 20)])[0])
            if self.lines < 0 or self.seconds < 0 or self.bytes < 256:
                raise ValueError("lines >= 0, seconds >= 0, bytes >= 256")
            self.gen += 1
        log("fault: mode=%s lines=%d seconds=%g bytes=%d" % (mode, self.lines, self.seconds, self.bytes))

    def snapshot(self):
        with self.lock:
            return dict(mode=self.mode, lines=self.lines, seconds=self.seconds, bytes=self.bytes,
                        gen=self.gen)

    def count(self, key, n=1, index=None):
        with self.lock:
            if index is None:
                self.counts[key] += n
            else:
                self.counts[key][index] += n

    def stats(self):
        with self.lock:
            d = dict(self.counts)
            d["cut_kinds"] = list(self.counts["cut_kinds"])
            d.update(mode=self.mode, gen=self.gen)
            return d


class Abort(Exception):
    """Close the client connection abruptly."""


class ClientGone(Exception):
    """The client hung up; drop the upstream stream."""


class WatchStream:
    """Forwards one watch response body, applying the current fault."""

    def __init__(self, handler, resp, namespace, resource_version):
        self.h = handler
        self.resp = resp
        self.ns = namespace
        self.rv = resource_version
        self.faults = handler.server.faults
        self.at_boundary = True  # the last byte forwarded ended a line
        self.gen = None
        self.lines_since = 0
        self.injected = False

    def send(self, data):
        if data:
            self.h.send_chunk(data)

    def run(self):
        while True:
            data = self.resp.read1(READ_SIZE)
            if not data:
                return
            f = self.faults.snapshot()
            if f["gen"] != self.gen:
                self.gen = f["gen"]
                self.lines_since = 0
                self.injected = False
            if f["mode"] == "none":
                self.send(data)
                self.at_boundary = data.endswith(b"\n")
            elif f["mode"] == "oversize":
                self.oversize(data, f)
            else:
                self.lines_then(data, f)

    def lines_then(self, data, f):
        """cut or stall: forward f["lines"] more lines, then the fault."""
        pos = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if self.lines_since < f["lines"]:
                end = len(data) if nl < 0 else nl + 1
                self.send(data[pos:end])
                self.at_boundary = nl >= 0
                if nl >= 0:
                    self.lines_since += 1
                pos = end
            elif f["mode"] == "stall":
                self.stall(f)
            else:
                pos = self.cut(data, pos, nl)

    def cut(self, data, pos, nl):
        with self.faults.lock:
            kind = self.faults.counts["cuts"] % 3
        line_end = len(data) if nl < 0 else nl  # bytes of this line we know, newline excluded
        avail = line_end - pos
        if avail <= 0 and self.at_boundary:
            self.send(b"\n")  # an empty line: nothing to cut into (never from a real apiserver)
            return pos + 1
        n = [1, avail // 2, avail][kind] if self.at_boundary else avail // 2
        n = max(1 if self.at_boundary else 0, min(n, avail))
        self.send(data[pos:pos + n])
        self.faults.count("cuts")
        self.faults.count("cut_kinds", index=kind)
        log("watch %s: cut after %d bytes of a %s line (%s)" % (
            self.h.path[:80], n, "%d-byte" % avail if nl >= 0 else "split",
            ["first byte", "half", "all but the newline"][kind]))
        raise Abort()

    def stall(self, f):
        self.faults.count("stalls")
        log("watch %s: stalled after %d line(s) for up to %gs" % (
            self.h.path[:80], self.lines_since, f["seconds"]))
        start = time.monotonic()
        if self.h.wait_client_gone(f["seconds"]):
            self.faults.count("client_gone")
            log("watch: the client hung up after %.1fs of stall" % (time.monotonic() - start))
            raise ClientGone()
        raise Abort()

    def oversize(self, data, f):
        pos = 0
        if not self.at_boundary:
            nl = data.find(b"\n")
            if nl < 0:
                self.send(data)
                return
            self.send(data[:nl + 1])
            self.at_boundary = True
            pos = nl + 1
        if not self.injected and pos < len(data):
            self.injected = True
            self.inject(f["bytes"])
        self.send(data[pos:])
        self.at_boundary = data.endswith(b"\n")

    def inject(self, size):
        """One MODIFIED event, a line of `size` bytes, sent in pieces."""
        obj = {"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "faultproxy-oversize", "namespace": self.ns or "default",
                            "resourceVersion": self.rv or "1", "annotations": {"faultproxy/padding": ""}},
               "data": {}}
        text = json.dumps({"type": "MODIFIED", "object": obj}, separators=(",", ":"))
        head, tail = text.split('"faultproxy/padding":""', 1)
        head = (head + '"faultproxy/padding":"').encode()
        tail = ('"' + tail + "\n").encode()
        pad = max(0, size - len(head) - len(tail))
        self.faults.count("injections")
        log("watch %s: injecting a %d-byte event line" % (self.h.path[:80], len(head) + pad + len(tail)))
        piece = b"x" * READ_SIZE
        sent = 0
        try:
            self.send(head)
            while sent < pad:
                n = min(READ_SIZE, pad - sent)
                self.send(piece[:n])
                sent += n
            self.send(tail)
        finally:
            self.faults.count("injected_bytes", len(head) + sent)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"

    def setup(self):
        super().setup()
        self.upstreams = {}

    def finish(self):
        for conn in self.upstreams.values():
            conn.close()
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass  # one line per fault is enough; requests are counted

    def upstream(self, with_cert):
        conn = self.upstreams.get(with_cert)
        if conn is None:
            s = self.server
            ctx = s.up_ctx_cert if with_cert else s.up_ctx
            conn = http.client.HTTPSConnection(s.up_host, s.up_port, context=ctx, timeout=None)
            self.upstreams[with_cert] = conn
        return conn

    def drop_upstream(self, with_cert):
        conn = self.upstreams.pop(with_cert, None)
        if conn:
            conn.close()

    def send_chunk(self, data):
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (OSError, ValueError) as e:
            raise ClientGone() from e

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise ValueError("request body over %d bytes" % MAX_REQUEST_BODY)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = int(self.headers.get("Content-Length", "0") or "0")
        if n < 0 or n > MAX_REQUEST_BODY:
            raise ValueError("bad Content-Length %d" % n)
        return self.rfile.read(n) if n else None

    def wait_client_gone(self, seconds):
        """Hold the connection; True when the client closed it within seconds."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.connection], [], [], min(left, 1.0))
            if r:
                try:
                    self.connection.setblocking(False)
                    got = self.connection.recv(1)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    return True
                finally:
                    try:
                        self.connection.setblocking(True)
                    except OSError:
                        pass
                if not got:
                    return True

    def abort(self):
        """Close without a TLS close_notify and with a TCP reset."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def proxy(self):
        faults = self.server.faults
        faults.count("requests")
        try:
            body = self.read_body()
        except ValueError as e:
            self.send_error(400, str(e))
            return
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        watch = query.get("watch", [""])[0] in ("true", "1")
        with_cert = self.headers.get("Authorization") is None and self.server.up_ctx_cert is not None
        for attempt in (0, 1):
            conn = self.upstream(with_cert)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        conn.putheader(k, v)
                if body is not None:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                # A kept-alive upstream connection the apiserver closed meanwhile.
                self.drop_upstream(with_cert)
                if attempt:
                    self.send_error(502, "upstream: %s" % e)
                    return
            except OSError as e:
                self.drop_upstream(with_cert)
                self.send_error(502, "upstream: %s" % e)
                return
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if not no_body:
            self.send_header("Transfer-Encoding", "chunked")
        if resp.will_close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if no_body:
            resp.read()
            return
        try:
            if watch and 200 <= resp.status < 300:
                faults.count("watches")
                faults.count("watches_open")
                try:
                    parts = url.path.split("/")
                    ns = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else None
                    WatchStream(self, resp, ns, query.get("resourceVersion", [None])[0]).run()
                finally:
                    faults.count("watches_open", -1)
            else:
                while True:
                    data = resp.read1(READ_SIZE)
                    if not data:
                        break
                    self.send_chunk(data)
            self.wfile.write(b"0\r\n\r\n")
        except Abort:
            self.drop_upstream(with_cert)
            self.abort()
        except (ClientGone, OSError, http.client.HTTPException) as e:
            # The client left or the apiserver broke the stream: end this connection.
            if not isinstance(e, ClientGone):
                log("%s %s: upstream stream failed: %s" % (self.command, self.path[:80], e))
            self.drop_upstream(with_cert)
            self.abort()
        if resp.will_close:
            self.drop_upstream(with_cert)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = proxy


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A thread forwarding an idle watch sits in a read from the apiserver
    # until the next event; do not wait for it on the way out.
    block_on_close = False
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's thread, so that a
        # slow client never holds up accept.
        try:
            tls = self.tls_ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log("TLS handshake from %s failed: %s" % (client_address, e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        code = 200
        if url.path == "/fault":
            try:
                self.server.faults.set(urllib.parse.parse_qs(url.query))
                out = self.server.faults.stats()
            except ValueError as e:
                code, out = 400, {"error": str(e)}
        elif url.path == "/stats":
            out = self.server.faults.stats()
        else:
            code, out = 404, {"error": "use /fault?mode=... or /stats"}
        body = (json.dumps(out) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def make_cert(tmp, ca_crt, ca_key):
    key, csr, crt, ext = (os.path.join(tmp, n) for n in ("proxy.key", "proxy.csr", "proxy.crt", "proxy.ext"))
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for cmd in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                ["req", "-new", "-key", key, "-subj", "/CN=faultproxy", "-out", csr],
                ["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-set_serial",
                 str(int.from_bytes(os.urandom(8), "big")), "-days", "2", "-sha256", "-extfile", ext,
                 "-out", crt]):
        p = subprocess.run(["openssl"] + cmd, capture_output=True, text=True)
        if p.returncode:
            raise SystemExit("faultproxy: openssl %s failed: %s" % (cmd[0], p.stderr.strip()))
    return crt, key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluster-dir", default=os.environ.get("SPINKUBE_CLUSTER_DIR"),
                    help="the cluster's folder (default $SPINKUBE_CLUSTER_DIR)")
    ap.add_argument("--upstream", help="https://127.0.0.1:PORT (default from CLUSTER_DIR/ports.env)")
    args = ap.parse_args()
    if not args.cluster_dir:
        ap.error("give --cluster-dir or set SPINKUBE_CLUSTER_DIR")
    pki = os.path.join(args.cluster_dir, "pki")
    ca_crt, ca_key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    upstream = args.upstream
    if not upstream:
        with open(os.path.join(args.cluster_dir, "ports.env")) as f:
            ports = dict(line.strip().split("=", 1) for line in f if "=" in line)
        upstream = "https://127.0.0.1:%s" % ports["API_PORT"]
    up = urllib.parse.urlsplit(upstream)

    tmp = tempfile.mkdtemp(prefix="faultproxy-")
    try:
        crt, key = make_cert(tmp, ca_crt, ca_key)
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(crt, key)
        tls_ctx.set_alpn_protocols(["http/1.1"])
        up_ctx = ssl.create_default_context(cafile=ca_crt)
        up_ctx.set_alpn_protocols(["http/1.1"])
        up_ctx_cert = None
        admin_crt, admin_key = os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key")
        if os.path.exists(admin_crt) and os.path.exists(admin_key):
            up_ctx_cert = ssl.create_default_context(cafile=ca_crt)
            up_ctx_cert.set_alpn_protocols(["http/1.1"])
            up_ctx_cert.load_cert_chain(admin_crt, admin_key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the keys are loaded; nothing stays on disk

    faults = Faults()
    server = TLSServer(("127.0.0.1", 0), Handler)
    server.tls_ctx, server.up_ctx, server.up_ctx_cert = tls_ctx, up_ctx, up_ctx_cert
    server.up_host, server.up_port = up.hostname, up.port or 443
    server.faults = faults
    control = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True
    control.block_on_close = False
    control.faults = faults

    def stop(signum, frame):
        log("signal %d: stopping" % signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(server.server_address[1], flush=True)
    print(control.server_address[1], flush=True)
    log("listening on 127.0.0.1:%d for %s, control on 127.0.0.1:%d" % (
        server.server_address[1], upstream, control.server_address[1]))
    server.serve_forever(poll_interval=0.2)
    control.shutdown()
    server.server_close()
    control.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
