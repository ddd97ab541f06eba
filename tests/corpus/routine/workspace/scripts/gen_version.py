"""Write the version file from git."""
import json
import pathlib
import subprocess

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True, check=False).stdout.strip()
data = json.loads(pathlib.Path("package.json").read_text())
out = pathlib.Path("src/app/version.py")
out.write_text(f'VERSION = "{data["version"]}"\nCOMMIT = "{commit}"\n')
print("wrote", out, out.name)
