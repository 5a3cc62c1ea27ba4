#!/usr/bin/env python3
"""Open N connections to a unix socket, each with half a request (headers
never finished), hold them, then run a command; print its exit code.
Used by containment.sh: berthd must stay reachable."""
import socket, subprocess, sys, time

path, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
conns = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")
    except OSError as e:
        print(f"connection {i}: {e}", file=sys.stderr)
        s.close()
        continue
    conns.append(s)
time.sleep(0.5)
print(f"{len(conns)} half-sent connections open", file=sys.stderr)
rc = subprocess.call(cmd)
for s in conns:
    s.close()
sys.exit(rc)
