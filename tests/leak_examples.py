#!/usr/bin/env python3
"""The leak-report examples, run as a user would, their JSON parsed back.

    leak_examples.py BUILD_DIR

Each example in examples/ prints its leak_report() count and its
write_leak_report_json() output on stdout (leakreport=1 it sets itself).
This checks that the JSON parses with Python's json module, that each leak
is reported with the right root, and that the control (shared_ptr_cycle)
reports nothing. Exit status 0 when all hold.
"""
import json
import os
import subprocess
import sys


def run(build, name, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.run([os.path.join(build, "examples", name)], capture_output=True, text=True,
                          timeout=300, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def report_of(stdout):
    line = next(l for l in stdout.splitlines() if l.startswith("{"))
    return json.loads(line)


def main():
    build = sys.argv[1]
    failures = []

    def check(what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what + (": " + detail if detail else ""))

    code, out, err = run(build, "leak_static_cache")
    report = report_of(out)
    growth = [s for s in report["suspects"] if s["reason"] == "growth"]
    check("leak_static_cache exits 0", code == 0, err[-2000:])
    check("leak_static_cache: one growth suspect, the global response_cache",
          len(growth) == 1 and growth[0]["root"]["kind"] == "global"
          and "handle_request(int)::response_cache" in growth[0]["root"]["name"], json.dumps(report)[:2000])
    check("leak_static_cache: a path of typed hops",
          bool(growth) and len(growth[0]["path"]) >= 2 and "response" in growth[0]["path"][1]["type"])
    check("leak_static_cache: stderr names the variable", "response_cache" in err)

    code, out, err = run(build, "leak_listeners")
    report = report_of(out)
    kinds = {(s["reason"], s["root"]["kind"], s["root"]["name"]) for s in report["suspects"]}
    check("leak_listeners exits 0", code == 0, err[-2000:])
    check("leak_listeners: the gc_root 'config_events subscribers' grows",
          ("growth", "gc_root", "config_events subscribers") in kinds, str(kinds))
    dead = [s for s in report["suspects"] if s["reason"] == "expected_dead"]
    check("leak_listeners: the closed sessions are held by that gc_root",
          len(dead) == 1 and dead[0]["root"]["name"] == "config_events subscribers"
          and dead[0]["expectation"] == "session closed" and dead[0]["objects"] > 1000,
          json.dumps(dead)[:2000])

    code, out, err = run(build, "leak_callback_owner")
    report = report_of(out)
    dead = [s for s in report["suspects"] if s["reason"] == "expected_dead"]
    check("leak_callback_owner exits 0", code == 0, err[-2000:])
    check("leak_callback_owner: the windows are held by exit_hooks through the callback",
          len(dead) == 1 and "exit_hooks" in dead[0]["root"]["name"]
          and [h["type"].split("::")[-1] for h in dead[0]["path"]][1:] == ["save_on_exit", "document_window"]
          and dead[0]["bytes"] >= 8 * 4 * 1024 * 1024, json.dumps(dead)[:2000])

    # (Its final report no longer holds the unbounded queue: drained and
    # closed, it stopped growing; the program checks right after that run.)
    code, out, err = run(build, "leak_channel_backlog")
    report_of(out)
    check("leak_channel_backlog: the unbounded queue's global grows, the bounded one stays quiet",
          code == 0 and "unbounded queue reported: yes; bounded queue reported: no" in out
          and "global `(anonymous namespace)::unbounded_log_queue`" in err
          and "::bounded_log_queue`" not in err, out + err[-2000:])

    code, out, err = run(build, "leak_blocked_worker")
    report = report_of(out)
    leaked = [s for s in report["suspects"] if s["reason"] == "leaked_thread"]
    check("leak_blocked_worker: one thread leaked on a channel of jobs, named image-worker",
          code == 0 and len(leaked) == 1 and "channel<" in leaked[0]["channel_type"]
          and "job" in leaked[0]["channel_type"] and leaked[0]["root"]["name"] == "image-worker"
          and not leaked[0]["sending"], json.dumps(report)[:2000])

    # Its std::shared_ptr half leaks on purpose: LeakSanitizer (the ASan
    # build) would say so and fail the run.
    asan = os.environ.get("ASAN_OPTIONS", "")
    code, out, err = run(build, "shared_ptr_cycle",
                         {"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"})
    check("shared_ptr_cycle: tricolor frees the cycles, nothing reported", code == 0
          and "leak_report(): 0 suspect(s)" in out, out + err[-2000:])

    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
