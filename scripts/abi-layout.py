#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""abi-layout.py - the strict half of the ABI gate for the versioned structs.

abidiff lets abi/ae.abignore through a change to a versioned struct that
appends fields at its end, but libabigail (2.2) then also hides any other
change made to that struct in the same release, such as a widened or
retyped field (scripts/abi-selftest.sh shows it). This script closes that
hole: for each versioned struct of the baseline it requires, in the new ABI
dump,

  - every baseline field, at the same position, with the same name, the
    same offset and the same type (types compared by their full spelling:
    typedef names, pointers, qualifiers, function-pointer signatures);
  - any new field after the last baseline field, at or beyond the old size;
  - a size that did not shrink.

Both inputs are abidw XML dumps (abi/libae-X.Y.Z.abi and a dump of the new
build). Usage: abi-layout.py BASELINE.abi NEW.abi VERSIONED_REGEX
Exit status: 0 clean, 1 a violation (each printed), 2 bad input.
"""
import re
import sys
import xml.etree.ElementTree as ET


class Dump:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.by_id = {}
        self.structs = {}
        for el in root.iter():
            tid = el.get("id")
            if tid is not None:
                self.by_id[tid] = el
            if el.tag == "class-decl" and el.get("is-declaration-only") != "yes":
                name = el.get("name")
                if name and name not in self.structs:
                    self.structs[name] = el

    def spell(self, tid, depth=0):
        """The full spelling of a type, recursing through typedefs,
        pointers, qualifiers, arrays and function types (structs by name)."""
        if depth > 12:
            return "..."
        el = self.by_id.get(tid)
        if el is None:
            return "?" + str(tid)
        tag = el.tag
        if tag == "type-decl":
            return el.get("name")
        if tag == "typedef-decl":
            return el.get("name") + "=" + self.spell(el.get("type-id"), depth + 1)
        if tag == "pointer-type-def":
            return self.spell(el.get("type-id"), depth + 1) + "*"
        if tag == "qualified-type-def":
            quals = [q for q in ("const", "volatile", "restrict") if el.get(q) == "yes"]
            return " ".join(quals) + " " + self.spell(el.get("type-id"), depth + 1)
        if tag == "array-type-def":
            dims = [s.get("length") for s in el.findall("subrange")]
            return self.spell(el.get("type-id"), depth + 1) + "".join(
                "[%s]" % d for d in dims)
        if tag in ("class-decl", "union-decl", "enum-decl"):
            return tag.split("-")[0] + " " + (el.get("name") or "<anonymous>")
        if tag == "function-type":
            params = [self.spell(p.get("type-id"), depth + 1) if p.get("type-id")
                      else "..." for p in el.findall("parameter")]
            ret = el.find("return")
            r = self.spell(ret.get("type-id"), depth + 1) if ret is not None else "void"
            return "%s(%s)" % (r, ", ".join(params))
        return tag + ":" + str(el.get("name"))

    def fields(self, struct):
        out = []
        for dm in struct.findall("data-member"):
            var = dm.find("var-decl")
            out.append((var.get("name"), int(dm.get("layout-offset-in-bits", "0")),
                        var.get("type-id")))
        return out


def main(argv):
    if len(argv) != 4:
        print("usage: abi-layout.py BASELINE.abi NEW.abi VERSIONED_REGEX", file=sys.stderr)
        return 2
    try:
        old, new = Dump(argv[1]), Dump(argv[2])
    except (OSError, ET.ParseError) as e:
        print("abi-layout: cannot read the dumps: %s" % e, file=sys.stderr)
        return 2
    versioned = re.compile(argv[3])
    problems = []
    checked = 0
    for name in sorted(old.structs):
        if not versioned.search(name):
            continue  # abidiff checks every other type without suppression
        checked += 1
        o = old.structs[name]
        n = new.structs.get(name)
        if n is None:
            problems.append("%s: missing from the new ABI" % name)
            continue
        osize, nsize = int(o.get("size-in-bits", "0")), int(n.get("size-in-bits", "0"))
        if nsize < osize:
            problems.append("%s: size shrank from %d to %d bits" % (name, osize, nsize))
        of, nf = old.fields(o), new.fields(n)
        for i, (fname, off, tid) in enumerate(of):
            if i >= len(nf):
                problems.append("%s: field '%s' was removed" % (name, fname))
                continue
            gname, goff, gtid = nf[i]
            if gname != fname:
                problems.append("%s: field %d is '%s', was '%s'" % (name, i, gname, fname))
            if goff != off:
                problems.append("%s.%s: offset %d bits, was %d" % (name, fname, goff, off))
            ot, nt = old.spell(tid), new.spell(gtid)
            if ot != nt:
                problems.append("%s.%s: type '%s', was '%s'" % (name, fname, nt, ot))
        for gname, goff, _ in nf[len(of):]:
            if goff < osize:
                problems.append("%s: new field '%s' at bit %d lies inside the old %d-bit layout"
                                % (name, gname, goff, osize))
    if checked == 0:
        problems.append("no struct of the baseline matches the versioned-struct pattern %r"
                        % argv[3])
    for p in problems:
        print("abi-layout: FAIL: " + p, file=sys.stderr)
    if problems:
        return 1
    print("abi-layout: OK: %d versioned structs keep their fields; only appended ones are new"
          % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
