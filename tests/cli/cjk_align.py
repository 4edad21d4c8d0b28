#!/usr/bin/env python3
"""Checks that the text tables of `nncmp report` and `nncmp instances` line up in display columns
on a study with CJK class names, ids and texts (tests/data/cjk). The oracle is Python's Unicode
database: East Asian Wide and Fullwidth characters take two columns, as in a terminal.
Usage: cjk_align.py report|instances < output"""
import re
import sys
import unicodedata


def cols(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def blocks(lines, head):
    """Each table whose header line matches head: the header and the rows up to a blank line."""
    out = []
    for k, line in enumerate(lines):
        if re.match(head, line):
            rows = []
            for r in lines[k + 1:]:
                if not r.strip():
                    break
                rows.append(r)
            out.append((line, rows))
    return out


def main():
    what = sys.argv[1]
    lines = sys.stdin.read().split("\n")
    bad = []
    checked = 0
    if what == "report":
        for head in (r"^class +support", r"^class +both right", r"^ +猫 +犬"):
            found = blocks(lines, head)
            if not found:
                bad.append(f"no table headed {head!r}")
            for header, rows in found:
                for r in rows:
                    checked += 1
                    if cols(r) != cols(header):
                        bad.append(f"{r!r}: {cols(r)} columns, header {header!r} {cols(header)}")
    else:
        found = blocks(lines, r"^ +index +id +label")
        if not found:
            bad.append("no instance table")
        for header, rows in found:
            end = header.index("issue") + len("issue")
            want = cols(header[:end])
            for r in rows:
                m = re.search(r" \d\.\d{3}(?=  )", r)
                checked += 1
                if not m or cols(r[: m.end()]) != want:
                    bad.append(f"{r!r}: issue column ends at {m and cols(r[:m.end()])}, want {want}")
    if checked < 8:
        bad.append(f"only {checked} rows checked")
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


main()
