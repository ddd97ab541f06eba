#!/usr/bin/env python3
"""Summarise test timings from a JSON report."""
import json
import sqlite3
import sys

con = sqlite3.connect(":memory:")
con.execute("CREATE TABLE timings (name TEXT, seconds REAL)")
with open(sys.argv[1] if len(sys.argv) > 1 else "report.json") as fh:
    for row in json.load(fh):
        con.execute("INSERT INTO timings VALUES (?, ?)", (row["name"], row["seconds"]))
TOP = "SELECT name, seconds FROM timings ORDER BY seconds DESC LIMIT 10"
for name, seconds in con.execute(TOP):
    print(f"{seconds:8.2f}  {name}")
