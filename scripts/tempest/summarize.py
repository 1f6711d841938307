#!/usr/bin/env python3
"""Summarize a subunit v2 stream from `stestr last --subunit`: counts, then one line per
failed test with the last line of its traceback, then skipped tests with their reasons.
Usage: summarize.py LAST.subunit [TEST_LIST] [--passed FILE]   (TEST_LIST: `stestr list REGEX`
output; with it, class-level skips/failures are expanded to one outcome per test; FILE gets
the name of each passed test, without its [id-...] attributes, one a line, sorted)."""
import sys
import collections
import subunit
import testtools


def per_test(tests, listfile):
    """Expand class-level entries: each listed test gets its own outcome."""
    st = {k: v["status"] for k, v in tests.items()}
    out = collections.Counter()
    for t in (l.strip() for l in open(listfile)):
        if not t:
            continue
        cls = t.split("[")[0].rsplit(".", 1)[0]
        if t in st:
            out[{"success": "passed", "fail": "failed", "skip": "skipped"}.get(st[t], st[t])] += 1
        elif st.get("setUpClass (%s)" % cls) == "skip":
            out["skipped (whole class)"] += 1
        elif st.get("setUpClass (%s)" % cls) == "fail":
            out["not run (setUpClass failed)"] += 1
        else:
            out["no result"] += 1
    print("PER TEST (%d listed): %s" % (sum(out.values()),
          ", ".join("%s %d" % kv for kv in sorted(out.items()))))
    td = [k for k, v in st.items() if k.startswith("tearDownClass") and v == "fail"]
    if td:
        print("  plus %d tearDownClass failure(s): %s" % (len(td), ", ".join(td)))


def main(path, listfile=None, passed_file=None):
    tests = collections.OrderedDict()

    def on_event(test_id=None, test_status=None, file_name=None, file_bytes=None,
                 route_code=None, timestamp=None, **kw):
        if not test_id:
            return
        t = tests.setdefault(test_id, {"status": None, "detail": b""})
        if test_status:
            t["status"] = test_status
        if file_bytes and file_name in ("traceback", "reason"):
            t["detail"] += bytes(file_bytes)

    with open(path, "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        cb = testtools.StreamResult()
        cb.status = on_event
        stream.run(cb)

    c = collections.Counter(v["status"] for v in tests.values())
    print("TOTAL %d  passed %d  failed %d  skipped %d" % (
        len(tests), c["success"], c["fail"], c["skip"]))
    print("(as stestr counts: a class skipped or failed in setUpClass is ONE entry "
          "'setUpClass (module.Class)', whatever its number of tests)")
    if listfile:
        per_test(tests, listfile)
    if passed_file:
        with open(passed_file, "w") as out:
            for name in sorted(k.split("[")[0] for k, v in tests.items() if v["status"] == "success"):
                out.write(name + "\n")
    fails = [(k, v) for k, v in tests.items() if v["status"] == "fail"]
    if fails:
        print("\nFAILED:")
        for k, v in fails:
            lines = [l for l in v["detail"].decode("utf-8", "replace").splitlines() if l.strip()]
            last = lines[-1].strip() if lines else ""
            print("  %s\n      %s" % (k, last[:300]))
    skips = [(k, v) for k, v in tests.items() if v["status"] == "skip"]
    if skips:
        print("\nSKIPPED:")
        for k, v in skips:
            print("  %s  -- %s" % (k, v["detail"].decode("utf-8", "replace").strip()[:200]))


if __name__ == "__main__":
    args = sys.argv[1:]
    passed = None
    if "--passed" in args:
        i = args.index("--passed")
        passed = args[i + 1]
        del args[i:i + 2]
    main(*args[:2], passed_file=passed)
