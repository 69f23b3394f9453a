#!/usr/bin/env python3
"""Compares two demo (or any) output directories run by run: the model, predictions and split
bytes, metrics.json less its wall times, and config.json less its date, versions and paths.
Used to show that a refactoring changed no result:

    python3 scripts/compare-runs.py <before-out> <after-out>
"""
import hashlib, json, os, sys
a, b = sys.argv[1], sys.argv[2]
def sha(p): return hashlib.sha256(open(p,'rb').read()).hexdigest()[:16]
def strip(m):
    m = dict(m); m.pop('seconds', None); m.pop('timeRatio', None)
    if 'oracle' in m and isinstance(m['oracle'], dict):
        o = dict(m['oracle']); o.pop('seconds', None); o.pop('run', None); m['oracle'] = o
    return m
ok = True
for run in sorted(os.listdir(a)):
    pa, pb = os.path.join(a, run), os.path.join(b, run)
    if not os.path.isdir(pa): continue
    row = [run]
    for f in ['model.safetensors', 'predictions.safetensors', 'split.json']:
        same = sha(os.path.join(pa, f)) == sha(os.path.join(pb, f))
        ok &= same; row.append(f"{f}={'same' if same else 'DIFF'}")
    ma = strip(json.load(open(os.path.join(pa, 'metrics.json'))))
    mb = strip(json.load(open(os.path.join(pb, 'metrics.json'))))
    same = json.dumps(ma, sort_keys=True) == json.dumps(mb, sort_keys=True)
    ok &= same; row.append(f"metrics(but time)={'same' if same else 'DIFF'}")
    ca = json.load(open(os.path.join(pa, 'config.json'))); cb = json.load(open(os.path.join(pb, 'config.json')))
    for k in ['createdAt', 'versions', 'from']: ca.pop(k, None); cb.pop(k, None)
    same = ca == cb; ok &= same; row.append(f"config(but date/versions/path)={'same' if same else 'DIFF'}")
    print('  '.join(row))
print('ALL SAME' if ok else 'DIFFERENCES')
