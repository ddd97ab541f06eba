"""curl, wget and httpie command lines as the HTTP request they would send.

The shell analyser calls `request_from_argv` for these commands and hands the result to the
HTTP analyser, so `curl -X POST …/graphql/v2 -d '{"query": "mutation { volumeDelete … }"}'`
is judged exactly like the same call through the gateway. Bodies named with `@file` are read
when the file is readable under the working directory; when they are not (or come from stdin
that is not known), the request carries an `unknown` marker and the analysis says what it could
not see instead of guessing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

_MAX_FILE = 256 * 1024
_METHOD_WORDS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})

# curl options that consume the next word (or the rest of a short-option cluster).
_CURL_VALUE = frozenset(
    """-X --request -H --header -d --data --data-ascii --data-binary --data-raw
    --data-urlencode --json -F --form --form-string -u --user -b --cookie -c --cookie-jar
    -o --output -w --write-out -m --max-time --connect-timeout -A --user-agent -e --referer
    -x --proxy -U --proxy-user --retry --retry-delay --retry-max-time --cacert --capath -E
    --cert --key --cert-type --key-type --pass -K --config -r --range -z --time-cond -C
    --continue-at --limit-rate -T --upload-file --url --resolve --connect-to --interface
    --dns-servers -Y --speed-limit -y --speed-time --max-filesize --max-redirs -P --ftp-port
    --oauth2-bearer --aws-sigv4 --unix-socket --abstract-unix-socket --noproxy --proto
    --proto-redir --variable --expand-url --expand-data --output-dir --trace --trace-ascii
    --stderr --url-query --request-target --local-port -Q --quote --mail-from --mail-rcpt
    --preproxy --proxy-header --hostpubmd5 --ciphers --tls-max --sasl-authzid --login-options
    --happy-eyeballs-timeout-ms --keepalive-time --ip-tos --etag-save --etag-compare
    --ftp-method --socks4 --socks5 --socks5-hostname --delegation --krb --netrc-file
    --header-file""".split()  # noqa: SIM905
)
_CURL_DATA = frozenset(
    {"-d", "--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode",
     "--json"}
)
_WGET_VALUE = frozenset(
    """--method --body-data --body-file --post-data --post-file --header -O --output-document
    -o --output-file -a --append-output -U --user-agent --user --password --http-user
    --http-password -t --tries -T --timeout -P --directory-prefix -i --input-file
    --load-cookies --save-cookies -e --execute --referer --ca-certificate --certificate
    --private-key -w --wait -Q --quota --limit-rate -l --level -A --accept -R --reject
    -D --domains --bind-address --proxy-user --proxy-password""".split()  # noqa: SIM905
)
_HTTPIE_VALUE = frozenset(
    """--auth -a --auth-type -A --output -o --session --session-read-only --verify --cert
    --cert-key --cert-key-pass --proxy --timeout --pretty --style -s --print -p
    --format-options --default-scheme --raw --max-redirects --ssl --ciphers --boundary
    --history-print -P --response-charset --response-mime""".split()  # noqa: SIM905
)
# The shell analyser writes text only known at run time as `$?`; in a URL the `?` would start a
# query string, so it is renamed before the URL is split.
_SHELL_DYNAMIC = "$?"
_UNRESOLVED = "$UNRESOLVED"
_HTTPIE_SEPARATORS = (":=@", "=@", ":=", "==", "=", "@", ":", ";")


class _Request:
    """Accumulates what a command line says about its request."""

    def __init__(self, stdin: str | None, cwd: str) -> None:
        self.method: str | None = None
        self.urls: list[str] = []
        self.headers: list[tuple[str, str]] = []
        self.data: list[str] = []
        self.sends_data = False
        self.unknown: list[str] = []
        self.stdin = stdin
        self.cwd = cwd

    def read_file(self, name: str, what: str) -> str | None:
        """Content of `@name` (`-` is stdin); None and an unknown marker when unreadable."""
        if name == "-":
            if self.stdin is None:
                self.unknown.append(f"{what} comes from stdin, which is not known")
            return self.stdin
        path = os.path.join(self.cwd, os.path.expanduser(name))
        if "$" in name or "`" in name:
            self.unknown.append(f"{what} comes from file {name!r}, whose name is not known")
            return None
        try:
            if os.path.getsize(path) > _MAX_FILE:
                self.unknown.append(f"{what} comes from file {name!r}, too large to analyse")
                return None
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            self.unknown.append(f"{what} comes from file {name!r}, which cannot be read")
            return None

    def header(self, text: str) -> None:
        name, colon, value = text.partition(":")
        if colon and name.strip():
            self.headers.append((name.strip(), value.strip()))
        elif text.startswith("@"):
            content = self.read_file(text[1:], "headers")
            for line in (content or "").splitlines():
                if ":" in line:
                    self.header(line)

    def result(self, body: Any) -> dict[str, Any] | None:
        if not self.urls:
            return None
        if len(self.urls) > 1:
            self.unknown.append(
                f"the command sends {len(self.urls)} requests; only the first was analysed"
            )
        out: dict[str, Any] = {
            "method": self.method or ("POST" if body is not None else "GET"),
            "url": self.urls[0],
            "headers": dict(self.headers),
            "body": body,
        }
        if self.unknown:
            out["unknown"] = list(self.unknown)
        return out


def _with_scheme(url: str, default: str = "http") -> str:
    if "://" in url:
        return url
    if url.startswith(":"):
        return f"{default}://localhost{url}"
    return f"{default}://{url}"


def _add_query(url: str, extra: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _options(argv: Sequence[str], with_value: frozenset[str]):
    """(option, value) pairs and positionals (option None), in order; short clusters split."""
    i = 0
    only_positional = False
    while i < len(argv):
        word = argv[i]
        i += 1
        if only_positional or word == "-" or not word.startswith("-"):
            yield None, word
        elif word == "--":
            only_positional = True
        elif word.startswith("--"):
            name, eq, value = word.partition("=")
            if eq:
                yield name, value
            elif name in with_value and i < len(argv):
                yield name, argv[i]
                i += 1
            else:
                yield name, None
        else:
            cluster = word[1:]
            for j, ch in enumerate(cluster):
                opt = f"-{ch}"
                if opt in with_value:
                    rest = cluster[j + 1:]
                    if rest:
                        yield opt, rest
                    elif i < len(argv):
                        yield opt, argv[i]
                        i += 1
                    else:
                        yield opt, None
                    break
                yield opt, None


def _curl(argv: Sequence[str], stdin: str | None, cwd: str) -> dict[str, Any] | None:
    req = _Request(stdin, cwd)
    get_mode = False
    form = False
    upload = False
    for opt, value in _options(argv, _CURL_VALUE):
        if opt is None or opt == "--url":
            if value:
                req.urls.append(_with_scheme(value))
        elif opt in ("-X", "--request") and value:
            req.method = value.upper()
        elif opt in ("-H", "--header") and value is not None:
            req.header(value)
        elif opt in _CURL_DATA and value is not None:
            req.sends_data = True
            if opt == "--json":
                req.headers.append(("Content-Type", "application/json"))
            if opt == "--data-urlencode":
                name, eq, content = value.partition("=")
                if not eq and value.startswith("@"):
                    content, name = req.read_file(value[1:], "request body") or "", ""
                req.data.append(f"{name}={quote(content)}" if eq and name else quote(content))
            elif value.startswith("@") and opt != "--data-raw":
                content = req.read_file(value[1:], "request body")
                if content is not None:
                    if opt not in ("--data-binary", "--json"):
                        content = content.replace("\r", "").replace("\n", "")
                    req.data.append(content)
            else:
                req.data.append(value)
        elif opt in ("-F", "--form", "--form-string") and value is not None:
            form = True
            req.data.append(value)
        elif opt in ("-G", "--get"):
            get_mode = True
        elif opt in ("-I", "--head"):
            req.method = req.method or "HEAD"
        elif opt in ("-T", "--upload-file"):
            upload = True
        elif opt in ("-u", "--user") and value:
            req.headers.append(("Authorization", "Basic [from --user]"))
        elif opt == "--oauth2-bearer" and value:
            req.headers.append(("Authorization", "Bearer [from --oauth2-bearer]"))
        elif opt in ("-b", "--cookie") and value and "=" in value:
            req.headers.append(("Cookie", value))
        elif opt in ("-K", "--config"):
            req.unknown.append("curl reads further options from a config file")
        elif opt == "--url-query" and value and req.urls:
            req.urls[-1] = _add_query(req.urls[-1], value)
    body: str | None = "&".join(req.data) if req.data else None
    if req.sends_data and not get_mode:
        req.method = req.method or "POST"
    if get_mode and body is not None:
        req.urls = [_add_query(u, body) for u in req.urls]
        body = None
        req.method = req.method or "GET"
    if upload:
        req.method = req.method or "PUT"
        if body is None:
            body = "[uploaded file]"
    if form:
        req.method = req.method or "POST"
        req.headers.append(("Content-Type", "multipart/form-data"))
    return req.result(body)


def _wget(argv: Sequence[str], stdin: str | None, cwd: str) -> dict[str, Any] | None:
    req = _Request(stdin, cwd)
    body: str | None = None
    for opt, value in _options(argv, _WGET_VALUE):
        if opt is None:
            if value:
                req.urls.append(_with_scheme(value))
        elif opt == "--method" and value:
            req.method = value.upper()
        elif opt == "--header" and value is not None:
            req.header(value)
        elif opt in ("--post-data", "--body-data") and value is not None:
            body = value
            if opt == "--post-data":
                req.method = req.method or "POST"
        elif opt in ("--post-file", "--body-file") and value is not None:
            body = req.read_file(value, "request body")
            req.sends_data = True
            if opt == "--post-file":
                req.method = req.method or "POST"
        elif opt in ("--user", "--password", "--http-user", "--http-password") and value:
            if not any(k == "Authorization" for k, _ in req.headers):
                req.headers.append(("Authorization", "Basic [from --user/--password]"))
        elif opt in ("-i", "--input-file"):
            req.unknown.append("wget reads the URLs to fetch from a file")
        elif opt in ("-e", "--execute"):
            req.unknown.append("wget runs a .wgetrc command given on the command line")
        elif opt == "--spider":
            req.method = req.method or "HEAD"
    if (body is not None or req.sends_data) and req.method is None:
        req.method = "POST"
    return req.result(body)


def _httpie_item(item: str) -> tuple[str, str, str] | None:
    for pos, ch in enumerate(item):
        if ch == "\\":
            continue
        if ch in ":=@;":
            for sep in _HTTPIE_SEPARATORS:
                if item.startswith(sep, pos):
                    return item[:pos].replace("\\", ""), sep, item[pos + len(sep):]
    return None


def _httpie(argv: Sequence[str], stdin: str | None, cwd: str, scheme: str) -> dict[str, Any] | None:
    req = _Request(stdin, cwd)
    positionals: list[str] = []
    form = False
    raw: str | None = None
    for opt, value in _options(argv, _HTTPIE_VALUE):
        if opt is None:
            positionals.append(value or "")
        elif opt in ("--form", "-f", "--multipart"):
            form = True
        elif opt in ("--auth", "-a") and value:
            req.headers.append(("Authorization", "Basic [from --auth]"))
        elif opt == "--raw" and value is not None:
            raw = value
    if positionals and positionals[0].upper() in _METHOD_WORDS and len(positionals) > 1:
        req.method = positionals.pop(0).upper()
    if not positionals:
        return None
    req.urls.append(_with_scheme(positionals.pop(0), scheme))
    fields: dict[str, Any] = {}
    query: list[str] = []
    for item in positionals:
        parsed = _httpie_item(item)
        if parsed is None:
            req.unknown.append("an httpie request item is not understood")
            continue
        key, sep, value = parsed
        if sep == ":":
            req.headers.append((key, value))
        elif sep == ";":
            req.headers.append((key, ""))
        elif sep == "==":
            query.append(f"{quote(key)}={quote(value)}")
        elif sep == "=":
            fields[key] = value
        elif sep == "=@":
            fields[key] = req.read_file(value, f"field {key!r}") or ""
        elif sep in (":=", ":=@"):
            text = req.read_file(value, f"field {key!r}") if sep == ":=@" else value
            try:
                fields[key] = json.loads(text) if text is not None else None
            except ValueError:
                req.unknown.append(f"field {key!r} is not valid JSON")
                fields[key] = text
        elif sep == "@":
            form = True
            fields[key] = req.read_file(value, f"uploaded file {key!r}") or ""
    if query:
        req.urls[0] = _add_query(req.urls[0], "&".join(query))
    body: Any = None
    if raw is not None:
        body = raw
    elif fields:
        if form:
            body = "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in fields.items())
            req.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        else:
            body = fields
            req.headers.append(("Content-Type", "application/json"))
    elif stdin:
        body = stdin
    return req.result(body)


def request_from_argv(argv: Sequence[str], stdin: str | None, cwd: str) -> dict[str, Any] | None:
    """The request `argv` (curl, wget, http/https/xh/xhs) would send, as HTTP analyser input;
    None when it is not such a command or names no URL."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    args = [a.replace(_SHELL_DYNAMIC, _UNRESOLVED) for a in argv[1:]]
    if name == "curl":
        return _curl(args, stdin, cwd)
    if name == "wget":
        return _wget(args, stdin, cwd)
    if name in ("http", "xh"):
        return _httpie(args, stdin, cwd, "http")
    if name in ("https", "xhs"):
        return _httpie(args, stdin, cwd, "https")
    return None
