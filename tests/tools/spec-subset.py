#!/usr/bin/env python3
"""spec-subset.py SENT.json STORED.json: check that the apiserver kept every field
of what was sent (nothing pruned, nothing rewritten) for core.spinkube.dev objects.

SENT is what kubectl create --dry-run=client -o json prints for a file (one or more
JSON objects one after another); STORED is kubectl get -f FILE -o json (an object
or a List). For each SpinApp and SpinAppExecutor sent, its spec must be contained in
the stored spec: same values wherever the sent one has a value; the stored one may
add defaults. Prints each difference and the number of objects checked; exits 1 on
a difference or when no object was checked.
"""
import json
import sys


def objects(text):
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        o, i = dec.raw_decode(text, i)
        out.extend(o["items"] if o.get("kind") == "List" else [o])


def contained(sent, stored, path, diffs):
    if isinstance(sent, dict) and isinstance(stored, dict):
        for k, v in sent.items():
            if k not in stored:
                diffs.append(f"{path}.{k}: dropped")
            else:
                contained(v, stored[k], f"{path}.{k}", diffs)
    elif isinstance(sent, list) and isinstance(stored, list):
        if len(sent) != len(stored):
            diffs.append(f"{path}: {len(sent)} items sent, {len(stored)} stored")
        for n, (a, b) in enumerate(zip(sent, stored)):
            contained(a, b, f"{path}[{n}]", diffs)
    elif sent != stored:
        diffs.append(f"{path}: sent {sent!r}, stored {stored!r}")


def main():
    with open(sys.argv[1]) as f:
        sent = objects(f.read())
    with open(sys.argv[2]) as f:
        stored = {(o["kind"], o["metadata"]["name"]): o for o in objects(f.read())}
    diffs, checked = [], 0
    for o in sent:
        if not o.get("apiVersion", "").startswith("core.spinkube.dev/"):
            continue
        key = (o["kind"], o["metadata"]["name"])
        if key not in stored:
            diffs.append(f"{key[0]}/{key[1]}: not stored")
            continue
        checked += 1
        contained(o.get("spec", {}), stored[key].get("spec", {}), f"{key[0]}/{key[1]}.spec",
                  diffs)
    for d in diffs:
        print(d)
    print(f"{checked} object(s) checked, {len(diffs)} difference(s)")
    sys.exit(1 if diffs or not checked else 0)


if __name__ == "__main__":
    main()
