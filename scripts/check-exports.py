#!/usr/bin/env python3
"""Check that the MLOPS_API declarations, the linker map and the symbols the
shared library exports are the same set, and that only mlops_ names leave it."""
import re
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1])
so = sys.argv[2]

declared = set()
for h in (root / "include" / "mlops").glob("*.h"):
    if h.name == "experimental.h":
        continue
    text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
    for m in re.finditer(r"MLOPS_API\b[^;{]*?\b(mlops_\w+)\s*\(", text):
        declared.add(m.group(1))

mapped = set()
maptext = re.sub(r"/\*.*?\*/", "", (root / "src" / "libmlops.map").read_text(), flags=re.S)
for m in re.finditer(r"^\s*(mlops_\w+)\s*;", maptext, flags=re.M):
    mapped.add(m.group(1))

out = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True,
                     check=True).stdout
exported = set()
bad = []
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3:
        continue
    name = parts[2].split("@")[0]
    if name.startswith("mlops_"):
        exported.add(name)
    elif name not in ("_init", "_fini", "_edata", "_end", "__bss_start") and not name.startswith("MLOPS_"):
        bad.append(name)

ok = True
def report(what, names):
    global ok
    if names:
        ok = False
        print(f"{what}: {', '.join(sorted(names))}")

report("declared MLOPS_API but missing from src/libmlops.map", declared - mapped)
report("in src/libmlops.map but not declared in include/mlops", mapped - declared)
report("in the map but not exported by the library", mapped - exported)
report("exported but not declared", exported - declared)
report("exported symbols without the mlops_ prefix", set(bad))
print(f"{len(declared)} declared, {len(mapped)} mapped, {len(exported)} exported")
sys.exit(0 if ok else 1)
