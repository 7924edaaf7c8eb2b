#!/usr/bin/env python3
"""Benchmark `trajkit score --serve`: requests per second and latency for typical completions.

    scripts/bench/score_serve.py [--binary target/release/trajkit] [--requests 20000] [--core 0]

The requests are what a GRPO reward function sends: a completion (Qwen3 text), the reference
assistant message, the tools and the conversation so far, as a TRL dataset row holds them. They are
built from the labelled eval fixtures (fixtures/eval: `trajkit eval --prompts` joined with
pred_qwen3.jsonl), so they mix calls, answers after tool results, clarifications and malformed
output, with 2 tools per request and 1-6 earlier messages.

The server is pinned to one core (`taskset -c CORE`), this client to another; with --nice (nice -20)
or --realtime (SCHED_FIFO) both run ahead of other work on a shared machine. Two runs:
  latency     one request in flight at a time (what a reward function calling it in a loop sees);
              p50/p99/max of write → reply, client overhead included
  throughput  requests streamed by a writer thread while the reader collects replies; requests/s,
              and the server's own CPU time per request (from /proc)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def requests(binary):
    prompts = subprocess.run([binary, "eval", "--gold", "fixtures/eval/gold.jsonl", "--prompts"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    outputs = {}
    with open(os.path.join(ROOT, "fixtures/eval/pred_qwen3.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            outputs[(p["id"], p["turn"])] = p["output"]
    out = []
    for line in prompts.splitlines():
        p = json.loads(line)
        out.append(json.dumps({"id": p["id"], "turn": p["turn"], "completion": outputs[(p["id"], p["turn"])],
                               "reference": p["reference"], "tools": p["tools"], "history": p["history"],
                               "case": p["case"]}, ensure_ascii=False))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/trajkit"))
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--nice", action="store_true",
                    help="run server and client at nice -20 (needs root): less preemption by other work")
    ap.add_argument("--realtime", action="store_true",
                    help="run server and client SCHED_FIFO (chrt -f 10, needs root): on a busy shared machine this "
                         "measures trajkit rather than the neighbours; both block on the pipe between requests")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if not os.path.exists(args.binary):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    pool = requests(args.binary)
    sizes = [len(r.encode()) for r in pool]
    client_core = (args.core + 1) % os.cpu_count()
    if os.cpu_count() > 1:
        os.sched_setaffinity(0, {client_core})
    prefix = ["nice", "-n", "-20"] if args.nice else []
    if args.nice:
        os.nice(-20)
    if args.realtime:
        prefix = ["chrt", "-f", "10"]
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    server = subprocess.Popen(prefix + ["taskset", "-c", str(args.core), args.binary, "score", "--serve", "--template", "qwen3"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, bufsize=0)
    send, recv = server.stdin, server.stdout
    reader = os.fdopen(recv.fileno(), "rb", buffering=1 << 16, closefd=False)

    # warm up: caches, page faults, the schema cache
    for r in pool * 5:
        send.write((r + "\n").encode())
        reader.readline()

    n = args.requests
    latencies = []
    for i in range(n):
        line = (pool[i % len(pool)] + "\n").encode()
        t0 = time.perf_counter_ns()
        send.write(line)
        reply = reader.readline()
        latencies.append(time.perf_counter_ns() - t0)
        if i == 0:
            assert b'"reward"' in reply, reply
    latencies.sort()
    seq_seconds = sum(latencies) / 1e9

    payload = b"".join((pool[i % len(pool)] + "\n").encode() for i in range(n))

    def writer():
        send.write(payload)

    cpu0 = cpu_seconds(server.pid)
    t0 = time.perf_counter()
    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(n):
        reader.readline()
    elapsed = time.perf_counter() - t0
    thread.join()
    cpu = cpu_seconds(server.pid) - cpu0
    send.close()
    server.wait()

    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000
    result = {
        "requests": n,
        "distinct_requests": len(pool),
        "request_bytes_median": statistics.median(sizes),
        "server_core": args.core,
        "priority": "SCHED_FIFO 10" if args.realtime else ("nice -20" if args.nice else "nice 0"),
        "load_average_1min": os.getloadavg()[0],
        "latency_us": {"p50": round(pct(0.50), 1), "p99": round(pct(0.99), 1), "max": round(latencies[-1] / 1000, 1)},
        "sequential_requests_per_s": round(n / seq_seconds),
        "throughput_requests_per_s": round(n / elapsed),
        "server_cpu_us_per_request": round(cpu / n * 1e6, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
