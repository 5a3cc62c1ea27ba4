#!/usr/bin/env python3
"""A do-nothing engine on a unix socket, for bench/dockercli.sh: what the
docker CLI's `run --rm` and `version` cost by themselves.  Every request is
answered at once; a container "exits" 0 as soon as it is started (its
attach stream ends, its wait answers).  Only the requests those two
commands send are known: _ping, version, containers/create, attach, wait,
start.

    bench/fake-engine.py SOCKET
"""
import os
import socket
import sys
import threading

CID = "f" * 64
VERSION = (b'{"Platform":{"Name":"fake"},"Components":[],"Version":"24.0.0",'
           b'"ApiVersion":"1.43","MinAPIVersion":"1.12","GitCommit":"x",'
           b'"GoVersion":"go1.20","Os":"linux","Arch":"amd64",'
           b'"KernelVersion":"6","BuildTime":"now"}')
state = {"started": False}
cond = threading.Condition()


def head(code, reason, extra=""):
    return ("HTTP/1.1 %d %s\r\nApi-Version: 1.43\r\nOstype: linux\r\n"
            "Server: Docker/24.0.0 (linux)\r\n%s" % (code, reason, extra)).encode()


def reply(code, reason, data, ctype="application/json"):
    return head(code, reason, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n"
                % (ctype, len(data))) + data


def read_request(f):
    line = f.readline()
    if not line:
        return None
    method, target, _ = line.decode().split(" ", 2)
    hdrs = {}
    while True:
        h = f.readline().decode()
        if h in ("\r\n", "\n", ""):
            break
        k, v = h.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    if n:
        f.read(n)
    elif hdrs.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().strip(), 16)
            f.read(size + 2)
            if size == 0:
                break
    return method, target.split("?")[0]


def until_started():
    with cond:
        cond.wait_for(lambda: state["started"])


def serve(c):
    f = c.makefile("rb")
    while True:
        r = read_request(f)
        if not r:
            break
        method, path = r
        if path.endswith("/_ping"):
            c.sendall(reply(200, "OK", b"" if method == "HEAD" else b"OK",
                            "text/plain; charset=utf-8"))
        elif path.endswith("/version"):
            c.sendall(reply(200, "OK", VERSION))
        elif path.endswith("/containers/create"):
            with cond:
                state["started"] = False
            c.sendall(reply(201, "Created", ('{"Id":"%s","Warnings":[]}' % CID).encode()))
        elif path.endswith("/attach"):
            c.sendall(head(101, "UPGRADED", "Content-Type: application/vnd.docker.raw-stream\r\n"
                           "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"))
            until_started()
            c.shutdown(socket.SHUT_WR)
            break
        elif path.endswith("/wait"):
            c.sendall(head(200, "OK", "Content-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"))
            until_started()
            d = b'{"Error":null,"StatusCode":0}\n'
            c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(d), d))
        elif path.endswith("/start"):
            c.sendall(head(204, "No Content", "\r\n"))
            with cond:
                state["started"] = True
                cond.notify_all()
        else:
            c.sendall(reply(404, "Not Found", b'{"message":"not in the fake engine"}'))
    c.close()


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
