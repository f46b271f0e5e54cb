#!/usr/bin/env python3
"""A tiny UDP program for the NAT rig: binds one socket, sends datagrams on a schedule (each with
an optional IP TTL set by setsockopt(IP_TTL)), prints every datagram it receives with its source
address, optionally echoes the source back (a reflector, like a STUN server), and exits at a
deadline. Run inside a namespace: `ip netns exec NS python3 udp_punch.py ...`.

  --bind IP:PORT      local address (port 0: any); default 0.0.0.0:0
  --label TEXT        sent payloads read "TEXT SEQ"; default "p"
  --start-at-ms T     wall-clock start (Unix ms): schedules count from it; default: now
  --go-file PATH      after binding, wait (at most 20 s) until PATH exists; it holds the start
                      (Unix ms). Lets a caller start several programs, wait until all are bound,
                      then release them together.
  --deadline-ms MS    exit this long after the start (required, at most 60000)
  --send SPEC         repeatable: HOST:PORT[,at=MS][,count=N][,every=MS][,ttl=T]
                      (at: offset from the start, default 0; count default 1; every default 50)
  --echo              answer each datagram with "seen IP:PORT" (its source as this host saw it)

Output: one JSON object per line on stdout:
  {"ev": "bound", "port": P}
  {"ev": "ready", "t": MS}   (ready to run the schedule; t < 0: before the start, as it should be)
  {"ev": "sent", "to": "IP:PORT", "ttl": T|null, "t": MS, "data": "..."}
  {"ev": "recv", "from": "IP:PORT", "t": MS, "data": "..."}
  {"ev": "error", "t": MS, "what": "..."}
  {"ev": "done", "t": MS}
`t` is milliseconds since the start. Send errors (e.g. ICMP-induced) are reported, never fatal.
"""
import argparse
import json
import os
import select
import socket
import sys
import time

MAX_DEADLINE_MS = 60_000
GO_WAIT_S = 20.0
DEFAULT_EVERY_MS = 50


def endpoint(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def parse_send(text):
    parts = text.split(",")
    host, port = endpoint(parts[0])
    spec = {"to": (host, port), "at": 0.0, "count": 1, "every": DEFAULT_EVERY_MS, "ttl": None}
    for kv in parts[1:]:
        key, _, val = kv.partition("=")
        if key not in ("at", "count", "every", "ttl"):
            raise ValueError(f"unknown send option {key!r}")
        spec[key] = float(val) if key in ("at", "every") else int(val)
    return spec


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="0.0.0.0:0")
    ap.add_argument("--label", default="p")
    ap.add_argument("--start-at-ms", type=float, default=None)
    ap.add_argument("--go-file", default=None)
    ap.add_argument("--deadline-ms", type=float, required=True)
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--echo", action="store_true")
    args = ap.parse_args()
    deadline_ms = min(args.deadline_ms, MAX_DEADLINE_MS)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(endpoint(args.bind))
    default_ttl = sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)

    # Every scheduled datagram as (offset ms, destination, ttl).
    plan = []
    for text in args.send:
        s = parse_send(text)
        for i in range(s["count"]):
            plan.append((s["at"] + i * s["every"], s["to"], s["ttl"]))
    plan.sort(key=lambda p: p[0])

    start = args.start_at_ms / 1000.0 if args.start_at_ms is not None else time.time()
    now_ms = lambda: (time.time() - start) * 1000.0
    emit({"ev": "bound", "port": sock.getsockname()[1]})
    if args.go_file is not None:
        give_up = time.time() + GO_WAIT_S
        while not os.path.exists(args.go_file):
            if time.time() > give_up:
                emit({"ev": "error", "t": 0, "what": "no go file"})
                sys.exit(1)
            time.sleep(0.001)
        with open(args.go_file) as f:
            start = float(f.read()) / 1000.0
    emit({"ev": "ready", "t": round(now_ms(), 1)})
    seq = 0
    end_ms = deadline_ms
    while True:
        t = now_ms()
        if t >= end_ms:
            break
        while plan and plan[0][0] <= t:
            _, to, ttl = plan.pop(0)
            data = f"{args.label} {seq}"
            seq += 1
            try:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl if ttl else default_ttl)
                sock.sendto(data.encode(), to)
                emit({"ev": "sent", "to": f"{to[0]}:{to[1]}", "ttl": ttl, "t": round(t, 1),
                      "data": data})
            except OSError as e:
                emit({"ev": "error", "t": round(t, 1), "what": f"send to {to}: {e}"})
        wake_ms = min(end_ms, plan[0][0]) if plan else end_ms
        wait_s = max(0.0, (wake_ms - now_ms()) / 1000.0)
        ready, _, _ = select.select([sock], [], [], wait_s)
        if not ready:
            continue
        try:
            data, src = sock.recvfrom(2048)
        except OSError as e:  # e.g. ECONNREFUSED queued by an ICMP error
            emit({"ev": "error", "t": round(now_ms(), 1), "what": f"recv: {e}"})
            continue
        src_text = f"{src[0]}:{src[1]}"
        emit({"ev": "recv", "from": src_text, "t": round(now_ms(), 1),
              "data": data.decode("utf-8", "replace")})
        if args.echo:
            try:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, default_ttl)
                sock.sendto(f"seen {src_text}".encode(), src)
            except OSError as e:
                emit({"ev": "error", "t": round(now_ms(), 1), "what": f"echo: {e}"})
    emit({"ev": "done", "t": round(now_ms(), 1)})
    sock.close()


if __name__ == "__main__":
    main()
