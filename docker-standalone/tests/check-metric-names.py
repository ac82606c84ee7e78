#!/usr/bin/env python3
"""Every PromQL expression in the Grafana dashboard and the Prometheus rules must name metrics
that Authly really exports, with labels those metrics really carry.

    check-metric-names.py METRICS_FILE DASHBOARD_JSON RULES_YML...

METRICS_FILE is a /metrics scrape of a live Authly (after some traffic, so counters that appear
on first use exist). Names starting with authly_ are checked against it; authly:* names must be
recording rules defined in the rules files; `up` comes from Prometheus itself. Prints one line
per problem and "N passed, N failed"; exits 1 on any problem.
"""
import json
import re
import sys

import yaml

PROMETHEUS_OWN = {"up"}
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SELECTOR = re.compile(r"\b((?:authly_|authly:)[a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def exported(metrics_text):
    """name -> set of label names seen on it."""
    found = {}
    for line in metrics_text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
        found.setdefault(m.group(1), set()).update(labels)
    return found


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    metrics = exported(open(argv[1], encoding="utf-8").read())
    dashboard = json.load(open(argv[2], encoding="utf-8"))
    exprs = []  # (where, expr)
    recorded = {}
    for rules_file in argv[3:]:
        doc = yaml.safe_load(open(rules_file, encoding="utf-8"))
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                where = f"{rules_file}: {rule.get('record') or rule.get('alert')}"
                exprs.append((where, rule["expr"]))
                if "record" in rule:
                    recorded[rule["record"]] = rule["expr"]
    panels = dashboard.get("panels", [])
    passed = failed = 0

    def problem(text):
        nonlocal failed
        failed += 1
        print(f"FAIL {text}")

    for panel in panels:
        title = panel.get("title", f"panel {panel.get('id')}")
        targets = [t for t in panel.get("targets", []) if t.get("expr")]
        if not targets:
            problem(f"dashboard panel '{title}' has no PromQL query")
        for t in targets:
            exprs.append((f"dashboard panel '{title}' ({t.get('refId')})", t["expr"]))

    # Labels a recording rule keeps: those named in its outermost by (...) (good enough for these rules).
    def labels_of(name):
        if name in metrics:
            return metrics[name]
        if name in recorded:
            groups = GROUPING.findall(recorded[name])
            return set(n.strip() for n in groups[0].split(",")) if groups else set()
        return set()

    for where, expr in exprs:
        bare = strip_strings(expr)
        names = {m.group(1) for m in SELECTOR.finditer(bare)}
        ok = True
        if not names and not any(n in PROMETHEUS_OWN for n in NAME.findall(bare)):
            problem(f"{where}: names no Authly metric: {expr.strip()}")
            continue
        for name in sorted(names):
            if name.startswith("authly:"):
                if name not in recorded:
                    problem(f"{where}: {name} is not a recording rule in the rules files")
                    ok = False
            elif name not in metrics:
                problem(f"{where}: {name} is not exported by Authly (not in the /metrics scrape)")
                ok = False
        for m in SELECTOR.finditer(bare):
            name, matchers = m.group(1), m.group(2)
            if not matchers or name not in metrics:
                continue
            for label in LABEL_MATCHER.findall(matchers):
                if label not in metrics[name] and label not in ("job", "instance"):
                    problem(f"{where}: {name} has no label '{label}' (it has: {', '.join(sorted(metrics[name])) or 'none'})")
                    ok = False
        # by (...) labels must exist on some metric of the expression (job/instance come from the scrape, le from histograms).
        available = set().union(*(labels_of(n) for n in names)) if names else set()
        available |= {"job", "instance", "le"}
        for grouping in GROUPING.findall(bare):
            for label in (l.strip() for l in grouping.split(",")):
                if label and label not in available:
                    problem(f"{where}: groups by '{label}', which none of {', '.join(sorted(names))} carries")
                    ok = False
        if ok:
            passed += 1
            print(f"ok   {where}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
