#!/usr/bin/env python3
"""crd-compare.py UPSTREAM.json OURS.json: check that our CRD is a drop-in for
upstream's (both as JSON, e.g. from kubectl create --dry-run=client -o json).

For every version of upstream's CRD, every property path of its schema must be in
ours with the same type, format, int-or-string-ness, list type and default; ours may
not require a field upstream leaves optional; upstream's printer columns and
subresources must be there; names and scope must match. Ours may add fields.
A default or list type ours adds where upstream has none fails too, unless it is
listed in ALLOWED_EXTRA_DEFAULTS or ALLOWED_LIST_TYPES with its reason.

Prints one line per problem and a summary; exits 1 on any problem.
"""
import json
import sys

ALLOWED_EXTRA_DEFAULTS = {
    # Upstream fills spec.executor in a mutating webhook; ours has no webhook.
    ".spec.executor": "containerd-shim-spin",
}
ALLOWED_LIST_TYPES = {
    # Ours: conditions keyed by type, as metav1.Condition lists are.
    ".status.conditions": "map",
}


def walk(schema, path, out):
    """Flatten a schema into {path: node}; items are 'path[]', map values 'path{}'."""
    out[path] = schema
    for name, sub in schema.get("properties", {}).items():
        walk(sub, f"{path}.{name}", out)
    if isinstance(schema.get("items"), dict):
        walk(schema["items"], path + "[]", out)
    if isinstance(schema.get("additionalProperties"), dict):
        walk(schema["additionalProperties"], path + "{}", out)
    return out


def kind_of(node):
    if node.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return node.get("type")


def compare(up, ours):
    problems = []
    if up["spec"]["names"]["kind"] != ours["spec"]["names"]["kind"]:
        return [f"kind {ours['spec']['names']['kind']} is not {up['spec']['names']['kind']}"]
    for k in ("plural", "singular", "listKind"):
        if up["spec"]["names"].get(k) != ours["spec"]["names"].get(k):
            problems.append(f"names.{k}: ours {ours['spec']['names'].get(k)!r}, "
                            f"upstream {up['spec']['names'].get(k)!r}")
    for k in ("group", "scope"):
        if up["spec"][k] != ours["spec"][k]:
            problems.append(f"{k}: ours {ours['spec'][k]!r}, upstream {up['spec'][k]!r}")
    ours_versions = {v["name"]: v for v in ours["spec"]["versions"]}
    paths = 0
    for uv in up["spec"]["versions"]:
        name = uv["name"]
        ov = ours_versions.get(name)
        if ov is None:
            problems.append(f"version {name} missing")
            continue
        for k in ("served", "storage"):
            if uv.get(k) != ov.get(k):
                problems.append(f"{name}: {k} is {ov.get(k)}, upstream {uv.get(k)}")
        for sub in uv.get("subresources", {}):
            if sub not in ov.get("subresources", {}):
                problems.append(f"{name}: subresource {sub} missing")
        cols = {(c["name"], c["jsonPath"], c["type"], c.get("priority", 0))
                for c in ov.get("additionalPrinterColumns", [])}
        for c in uv.get("additionalPrinterColumns", []):
            key = (c["name"], c["jsonPath"], c["type"], c.get("priority", 0))
            if key not in cols:
                problems.append(f"{name}: printer column {key} missing")
        u = walk(uv["schema"]["openAPIV3Schema"], "", {})
        o = walk(ov["schema"]["openAPIV3Schema"], "", {})
        for path, un in sorted(u.items()):
            paths += 1
            shown = path or "."
            on = o.get(path)
            if on is None:
                problems.append(f"{name} {shown}: missing")
                continue
            if kind_of(un) != kind_of(on):
                problems.append(f"{name} {shown}: type {kind_of(on)}, upstream {kind_of(un)}")
            for k in ("format", "x-kubernetes-list-type"):
                if k == "x-kubernetes-list-type" and un.get(k) is None and \
                        ALLOWED_LIST_TYPES.get(shown) == on.get(k):
                    continue
                if un.get(k) != on.get(k):
                    problems.append(f"{name} {shown}: {k} {on.get(k)!r}, upstream {un.get(k)!r}")
            if "default" in un:
                if on.get("default") != un["default"]:
                    problems.append(f"{name} {shown}: default {on.get('default')!r}, "
                                    f"upstream {un['default']!r}")
            elif "default" in on and ALLOWED_EXTRA_DEFAULTS.get(shown) != on["default"]:
                problems.append(f"{name} {shown}: default {on['default']!r} where "
                                "upstream has none")
            extra_req = set(on.get("required", [])) - set(un.get("required", []))
            if extra_req:
                problems.append(f"{name} {shown}: requires {sorted(extra_req)}, "
                                "optional upstream")
    return problems, paths


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: crd-compare.py UPSTREAM.json OURS.json")
    with open(sys.argv[1]) as f:
        up = json.load(f)
    with open(sys.argv[2]) as f:
        ours = json.load(f)
    res = compare(up, ours)
    problems, paths = res if isinstance(res, tuple) else (res, 0)
    for p in problems:
        print(p)
    print(f"{up['spec']['names']['kind']}: {paths} upstream schema paths compared, "
          f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
