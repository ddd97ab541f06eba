"""Interpreter one-liners with database drivers, ORM wipes, framework consoles and runners,
and tools that run code given as data (redis EVAL, sed's `e`)."""

from __future__ import annotations

import pytest
from script_helpers import Run, ids

ALLOW, HOLD = True, False
DJANGO = {"manage.py": "import sys\nfrom django.core.management import "
                       "execute_from_command_line\nexecute_from_command_line(sys.argv)\n"}
LARAVEL = {"artisan": "<?php\nrequire __DIR__.'/vendor/autoload.php';\n"}

CASES = [
    # one-liners with database drivers: the SQL they run is analysed as SQL
    ({}, "python -c \"import psycopg; psycopg.connect('dbname=app').execute('TRUNCATE users')\"",
     HOLD, "sql:truncate"),
    ({}, "python3 -c \"import sqlite3; sqlite3.connect('app.db').execute('DROP TABLE users')\"",
     HOLD, "sql:drop-table"),
    ({}, "node -e \"const {Client}=require('pg'); new Client().query('DELETE FROM orders')\"",
     HOLD, "sql:delete-all"),
    ({}, "ruby -e \"require 'pg'; PG.connect(dbname: 'app').exec('DELETE FROM users')\"", HOLD,
     "sql:delete-all"),
    ({}, "perl -MDBI -e 'DBI->connect(\"dbi:Pg:dbname=app\")->do(\"DROP TABLE users\")'", HOLD,
     "sql:drop-table"),
    ({}, "python -c \"import sqlite3; print(sqlite3.connect('app.db').execute("
         "'SELECT count(*) FROM users').fetchone())\"", ALLOW, None),
    ({}, "python -c \"import sqlite3, sys; sqlite3.connect('a.db').execute(sys.argv[1])\"", HOLD,
     "shell:opaque-code"),
    # ORM calls that wipe a table, whatever the language
    ({}, "python -c 'from app.models import User; User.objects.all().delete()'", HOLD,
     "orm:delete-all"),
    ({}, "python -c 'from app import db; db.drop_all()'", HOLD, "orm:drop"),
    ({}, "python -c 'from app import session, User; session.query(User).delete()'", HOLD,
     "orm:delete-all"),
    ({}, "node -e \"prisma.user.deleteMany({})\"", HOLD, "orm:delete-all"),
    ({}, "node -e \"db.collection('users').deleteMany({})\"", HOLD, "orm:delete-all"),
    ({}, "node -e \"require('mongoose').connection.db.dropDatabase()\"", HOLD, "orm:drop"),
    ({}, "ruby -e 'User.delete_all'", HOLD, "orm:delete-all"),
    ({}, "php -r 'User::truncate();'", HOLD, "orm:truncate"),
    ({}, "node -e \"prisma.user.deleteMany({where: {id: 1}})\"", ALLOW, None),
    ({}, "python -c 'User.objects.filter(id=3).delete()'", ALLOW, None),
    ({}, "python -c 'open(\"out.txt\", \"w\").truncate()'", ALLOW, None),
    # framework consoles and runners
    (DJANGO, "python manage.py shell -c 'from app.models import User; User.objects.all().delete()'",
     HOLD, "orm:delete-all"),
    (DJANGO, "python manage.py shell <<'EOF'\nfrom shop.models import Order\n"
             "Order.objects.all().delete()\nEOF", HOLD, "orm:delete-all"),
    (DJANGO, "python manage.py shell -c 'print(User.objects.count())'", ALLOW, None),
    ({}, "rails runner 'User.delete_all'", HOLD, "orm:delete-all"),
    ({}, "bundle exec rails runner 'Post.destroy_all'", HOLD, "orm:delete-all"),
    ({"cleanup.rb": "Account.delete_all\n"}, "rails runner cleanup.rb", HOLD, "orm:delete-all"),
    ({}, "rails runner 'puts User.count'", ALLOW, None),
    (LARAVEL, "php artisan tinker --execute='User::truncate()'", HOLD, "orm:truncate"),
    ({}, "dotnet ef database drop --force", HOLD, "dotnet:ef-database-drop"),
    ({}, "npx rimraf /", HOLD, "node-fs:rimraf"),
    ({}, "npx rimraf dist coverage", ALLOW, None),
    # code carried as data by another tool
    ({}, "redis-cli EVAL \"redis.call('flushall')\" 0", HOLD, "redis:flush"),
    ({}, "redis-cli EVALSHA 5f1d2c 0", HOLD, "shell:opaque-code"),
    ({}, "sed -n 'e rm -rf ~' notes.txt", HOLD, "fs:rm-recursive"),
    ({}, "sed 's/.*/git push --force/e' list.txt", HOLD, "git:push-force"),
    ({}, "sed -i 's/foo/bar/g' notes.txt", ALLOW, None),
]


@pytest.mark.parametrize(("files", "cmd", "allowed", "ident"), CASES,
                         ids=[str(i) for i in range(len(CASES))])
def test_code_judged_by_what_it_does(run: Run, files: dict[str, str], cmd: str, allowed: bool,
                                     ident: str | None) -> None:
    d = run(files, cmd)
    assert (d.verdict == "allow") is allowed, (d.verdict, d.reasons)
    if ident:
        assert ident in ids(d), ids(d)
