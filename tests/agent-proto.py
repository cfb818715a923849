#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# agent-proto.py: a small protocol client for tests (guest-agent/PROTOCOL.md),
# independent of svmm's C client. Usage:
#   agent-proto.py ENDPOINT ping             HELLO, PING; prints the PONG JSON
#   agent-proto.py ENDPOINT flood FLAGFILE   EXEC a process writing 20 MB,
#       read nothing until FLAGFILE's process says it finished, then print
#       the EXIT JSON (lost_bytes: what the agent dropped)
# ENDPOINT: unix:PATH (hybrid: CONNECT 1024) or vsock:CID.
import json, socket, struct, sys, time

def connect(ep):
    if ep.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(ep[5:])
        s.sendall(b"CONNECT 1024\n")
        line = b""
        while not line.endswith(b"\n"):
            line += s.recv(1)
        assert line.startswith(b"OK "), line
        return s
    s = socket.socket(socket.AF_VSOCK)
    s.connect((int(ep[6:]), 1024))
    return s

def send(s, t, i, payload=b""):
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode()
    s.sendall(struct.pack("<HHII", t, 0, i, len(payload)) + payload)

def recv(s):
    h = b""
    while len(h) < 12:
        c = s.recv(12 - len(h))
        if not c:
            raise EOFError
        h += c
    t, _, i, n = struct.unpack("<HHII", h)
    p = b""
    while len(p) < n:
        p += s.recv(n - len(p))
    return t, i, p

s = connect(sys.argv[1])
send(s, 1, 0, {"version": 1})
assert recv(s)[0] == 1
if sys.argv[2] == "ping":
    send(s, 12, 0, b"are-you-there")
    while True:
        t, i, p = recv(s)
        if t == 13:
            print(p.decode())
            break
elif sys.argv[2] == "flood":
    flag = sys.argv[3]
    send(s, 3, 77, {"process": {"args": ["/bin/sh", "-c",
         "head -c 20000000 /dev/zero; echo done >" + flag]}})
    # Read nothing: a second connection watches the flag appear.
    w = connect(sys.argv[1])
    send(w, 1, 0, {"version": 1})
    recv(w)
    deadline = time.time() + 60
    done = False
    while time.time() < deadline and not done:
        send(w, 3, 78, {"process": {"args": ["/bin/cat", flag]}})
        while True:
            t, i, p = recv(w)
            if t == 7 and b"done" in p:
                done = True
            if t in (5, 11):
                break
        time.sleep(0.2)
    print("finished-while-unread=%s" % done)
    while True:
        t, i, p = recv(s)
        if t == 11 and i == 77:
            print(p.decode())
            break
