"""Compares two opprof records (scripts/opprof/opprof.cc) over one training-step cycle: from the
k-th top-level cross_entropy_loss to the next (forward, backward, optimizer step). Prints the
calls per operator in each, then, with --diff, where the two call sequences differ (names,
dtypes, shapes and layouts; times left out, as they mean nothing on a loaded machine).

    python3 scripts/opprof/compare.py /tmp/lethe.tsv /tmp/torch.tsv [k] [--diff] [--list]
"""
import collections
import difflib
import sys


def load(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            seq, depth, scope, thread, name, inputs, outputs, ns = line.rstrip("\n").split("\t")
            rows.append(dict(seq=int(seq), depth=int(depth), scope=int(scope), thread=thread,
                             name=name, inputs=inputs, outputs=outputs, ns=int(ns)))
    return rows


def cycle(rows, k):
    starts = [i for i, r in enumerate(rows) if r["name"] == "aten::cross_entropy_loss" and r["depth"] == 0]
    return rows[starts[k]:starts[k + 1]]


def line(r):
    return f"{'  ' * r['depth']}{r['name']} | {r['inputs']} -> {r['outputs']}"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    a, b = args[0], args[1]
    k = int(args[2]) if len(args) > 2 else 3
    ca, cb = cycle(load(a), k), cycle(load(b), k)
    na = collections.Counter(r["name"] for r in ca)
    nb = collections.Counter(r["name"] for r in cb)
    ta, tb = collections.Counter(), collections.Counter()
    for r in ca:
        ta[r["name"]] += r["ns"]
    for r in cb:
        tb[r["name"]] += r["ns"]
    print(f"events: {len(ca)} vs {len(cb)}")
    print(f"{'op':48} {'A':>6} {'B':>6} {'A ms':>8} {'B ms':>8}")
    for name in sorted(set(na) | set(nb), key=lambda n: -(ta[n] + tb[n])):
        flag = "" if na[name] == nb[name] else "  <-- count differs"
        print(f"{name[:48]:48} {na[name]:6} {nb[name]:6} {ta[name]/1e6:8.2f} {tb[name]/1e6:8.2f}{flag}")
    if "--diff" in sys.argv:
        # Depth is relative: PyTorch nests its optimizer's ops under a user scope.
        print()
        for d in difflib.unified_diff([line(r) for r in ca], [line(r) for r in cb], a, b, lineterm="", n=1):
            print(d)
    if "--list" in sys.argv:
        for label, c in (("A", ca), ("B", cb)):
            print(f"\n==== {label}")
            for r in c:
                print(f"{line(r)}  {r['ns']/1e3:.0f}us")


main()
