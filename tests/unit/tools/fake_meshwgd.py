#!/usr/bin/env python3
# A stand-in for meshwgd's local API, for api_cli.sh: serves one request per
# connection on SOCKET, appends each request line to LOG, answers
#   status           {"ok":true,"status":<contents of STATUS_FILE>}
#   up               auth_key "bad": the refusal meshwgd would send; else a
#                    progress line, then ok with the status
#   down, logout     ok
#   rotate-key       ok with a status whose self.node_key is "nodekey:rotated"
#   anything else    ok:false "unknown command"
# Usage: fake_meshwgd.py SOCKET LOG STATUS_FILE
import json
import os
import socket
import sys

path, log, status_file = sys.argv[1:4]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
os.rename(path + ".tmp", path)
srv.listen(8)


def line(c, obj):
    c.sendall((json.dumps(obj) + "\n").encode())


while True:
    c, _ = srv.accept()
    data = b""
    while b"\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    text = data.split(b"\n")[0].decode()
    with open(log, "a") as f:
        f.write(text + "\n")
    req = json.loads(text)
    with open(status_file) as f:
        status = json.load(f)
    cmd = req.get("cmd")
    if cmd == "status":
        line(c, {"ok": True, "status": status, "final": True})
    elif cmd == "up" and req.get("auth_key") == "bad":
        line(c, {"ok": False, "final": True,
                 "error": "the control server refused the auth key: auth key already used"})
    elif cmd == "up":
        line(c, {"message": "registering with " + req.get("login_server", "the stored server")})
        line(c, {"ok": True, "status": status, "final": True})
    elif cmd in ("down", "logout"):
        line(c, {"ok": True, "final": True})
    elif cmd == "rotate-key":
        status["self"]["node_key"] = "nodekey:rotated"
        line(c, {"ok": True, "status": status, "final": True})
    else:
        line(c, {"ok": False, "error": "unknown command", "final": True})
    c.close()
