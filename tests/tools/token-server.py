#!/usr/bin/env python3
# A minimal registry token server for tests (Docker's token auth spec):
# GET /token?service=S&scope=repository:NAME:ACTIONS with Basic credentials
# USER:PASS answers {"token": JWT}, RS256-signed by KEY with CERT in x5c, the
# requested actions granted; wrong or missing credentials get 401. Each
# request is logged as one line on stdout: "token SCOPE USER".
# Usage: token-server.py PORT KEY CERT ISSUER USER PASS
import base64, json, sys, time, os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, keyf, certf, issuer, user, pw = sys.argv[1:7]
key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(certf, "rb").read())
der = cert.public_bytes(serialization.Encoding.DER)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(service, scopes, sub):
    head = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3:
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64u(os.urandom(12)), "access": access}
    signing = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing + "." + b64u(sig)

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        scopes = q.get("scope", [])
        print("token", " ".join(scopes) or "-", "ok" if auth == want else "refused", flush=True)
        if u.path != "/token" or auth != want:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"token": token(q.get("service", [""])[0], scopes, user)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(port)), H).serve_forever()
