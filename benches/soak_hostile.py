#!/usr/bin/env python3
"""Hostile clients for benches/soak.sh, all from 127.0.0.2 on loopback.

    python3 benches/soak_hostile.py HOST:PORT SECONDS

Keeps open, for SECONDS: 200 connections that send nothing, 50 that trickle
one byte a second, and 20 that send as fast as they can and never read.
Each is reopened when the server closes it. Prints one summary line at the end.
"""
import errno
import selectors
import socket
import sys
import time

SILENT, TRICKLE, FLOOD = 200, 50, 20


def connect(addr):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.setblocking(False)
    try:
        s.connect(addr)
    except BlockingIOError:
        pass
    return s


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    addr = (host, int(port))
    deadline = time.monotonic() + float(sys.argv[2])
    sel = selectors.DefaultSelector()
    kinds = {}
    opened = closed = 0

    def open_one(kind):
        nonlocal opened
        s = connect(addr)
        kinds[s] = kind
        # A flood never reads, so it waits only to write (a reset or error
        # wakes it as writable too, and the failed send reopens it).
        events = selectors.EVENT_WRITE if kind == "flood" else selectors.EVENT_READ
        sel.register(s, events)
        opened += 1

    def drop(s):
        nonlocal closed
        kind = kinds.pop(s)
        sel.unregister(s)
        s.close()
        closed += 1
        open_one(kind)

    for kind, n in (("silent", SILENT), ("trickle", TRICKLE), ("flood", FLOOD)):
        for _ in range(n):
            open_one(kind)
    chunk = b"x" * 65536
    next_trickle = time.monotonic()
    while time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.2):
            s = key.fileobj
            if s not in kinds:
                continue
            try:
                if events & selectors.EVENT_READ:
                    if not s.recv(4096):
                        drop(s)
                        continue
                if events & selectors.EVENT_WRITE:
                    s.send(chunk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as err:
                if err.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNREFUSED, errno.ENOTCONN):
                    drop(s)
                else:
                    raise
        if time.monotonic() >= next_trickle:
            next_trickle += 1.0
            for s, kind in list(kinds.items()):
                if kind == "trickle":
                    try:
                        s.send(b"t")
                    except OSError:
                        drop(s)
    print(f"hostile: opened {opened}, closed by the server {closed}, open at the end {len(kinds)}")


if __name__ == "__main__":
    main()
