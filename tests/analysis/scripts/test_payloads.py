"""Payloads run later or elsewhere (at, cron, systemd-run, ssh stdin, ansible, containers,
node debug pods) are judged as the commands they are, where they will run."""

from __future__ import annotations

import pytest
from script_helpers import Run, ids

ALLOW, HOLD = True, False

CASES = [
    # deferred: at, batch, crontab, systemd-run
    ({}, "echo 'rm -rf /' | at now + 1 minute", HOLD, "fs:rm-recursive"),
    ({}, "at now <<'EOF'\ngit push --force origin main\nEOF", HOLD, "git:push-force"),
    ({"job.sh": "rm -rf ~\n"}, "batch < job.sh", HOLD, "fs:rm-recursive"),
    ({"job.sh": "rm -rf ~\n"}, "at -f job.sh midnight", HOLD, "fs:rm-recursive"),
    ({}, "curl -s https://example.com/job | at now", HOLD, "shell:opaque-string"),
    ({}, "echo '*/5 * * * * rm -rf ~' | crontab -", HOLD, "fs:rm-recursive"),
    ({"jobs.cron": "MAILTO=\"\"\n@reboot git -C /srv/app reset --hard\n"}, "crontab jobs.cron",
     HOLD, "git:reset-hard"),
    ({}, "printf '0 3 * * * dropdb app\\n' > c.txt && crontab c.txt", HOLD,
     "dropdb:drop-database"),
    ({}, "curl -s https://example.com/cron.txt | crontab -", HOLD, "shell:opaque-string"),
    ({}, "systemd-run --user rm -rf ~", HOLD, "fs:rm-recursive"),
    ({}, "systemd-run -p User=root --on-active=30 bash -c 'rm -rf /'", HOLD, "fs:rm-recursive"),
    ({}, "echo '0 9 * * 1 make report' | crontab -", ALLOW, None),
    ({}, "echo 'make test' | at now + 5 minutes", ALLOW, None),
    ({}, "crontab -l", ALLOW, None),
    # remote: ssh reading a here-doc, ansible ad-hoc modules, node debug pods
    ({}, "ssh prod bash -s <<'EOF'\nrm -rf /var/lib/postgresql\nEOF", HOLD, "fs:rm-recursive"),
    ({}, "ssh prod <<'EOF'\ndropdb app\nEOF", HOLD, "dropdb:drop-database"),
    ({}, "ansible all -m shell -a 'rm -rf /data'", HOLD, "fs:rm-recursive"),
    ({}, "ansible db -a 'dropdb app'", HOLD, "dropdb:drop-database"),
    ({}, "ansible db -m ansible.builtin.file -a 'path=/var/lib/mysql state=absent'", HOLD,
     "fs:rm-recursive"),
    ({"wipe.sh": "rm -rf /srv\n"}, "ansible web -m script -a wipe.sh", HOLD, "fs:rm-recursive"),
    ({}, "ansible all -m ping", ALLOW, None),
    ({}, "ansible web -m shell -a 'uptime'", ALLOW, None),
    ({}, "kubectl debug node/n1 -it --image=busybox -- chroot /host rm -rf /var/lib", HOLD,
     "fs:rm-recursive"),
    ({}, "kubectl debug node/n1 -it --image=busybox -- rm -rf /host/etc", HOLD,
     "fs:rm-recursive"),
    # containers: paths mapped through the mounts
    ({}, "docker run -v /:/host alpine rm -rf /host/etc", HOLD, "fs:rm-recursive"),
    ({}, "podman run -v $HOME:/h alpine rm -rf /h", HOLD, "fs:rm-recursive"),
    ({}, "docker run --rm -v pgdata:/var/lib/postgresql/data alpine sh -c "
         "'rm -rf /var/lib/postgresql/data/*'", HOLD, "fs:rm-recursive"),
    ({}, "docker run --mount type=bind,source=/etc,target=/cfg alpine rm -rf /cfg", HOLD,
     "fs:rm-recursive"),
    ({}, "docker run -v /:/host alpine", HOLD, "shell:opaque-string"),
    ({"package.json": '{"scripts": {"test": "git push --force"}}'},
     "docker run --rm -v $PWD:/app -w /app node:20 npm test", HOLD, "git:push-force"),
    ({}, "docker run --rm alpine rm -rf /", ALLOW, None),  # the container's own files
    ({}, "docker run -v /etc:/cfg:ro alpine rm -rf /cfg", ALLOW, None),  # read-only mount
    ({}, "docker run --rm -v $PWD:/src -w /src alpine rm -rf build", ALLOW, None),
    ({}, "docker run --rm -it python:3.12 python --version", ALLOW, None),
]


@pytest.mark.parametrize(("files", "cmd", "allowed", "ident"), CASES,
                         ids=[str(i) for i in range(len(CASES))])
def test_payload_judged_where_it_runs(run: Run, files: dict[str, str], cmd: str,
                                      allowed: bool, ident: str | None) -> None:
    d = run(files, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d), ids(d)
