"""Database URLs: check them, say which server and database they name, and print them without secrets."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_PARAMETERS = {"password", "sslpassword"}


def url_problem(url: str) -> str | None:
    """Why `url` is not a usable PostgreSQL URL, or None."""
    if not url.startswith(("postgres://", "postgresql://")):
        return "must be a postgresql:// URL"
    try:
        parts = urlsplit(url)
        if parts.netloc.count("@") > 1:  # libpq and asyncpg split at the first @: the rest looks like a host
            return "has a raw @ in its user or password: percent-encode @ as %40 (and : as %3A, / as %2F)"
        _ = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:  # its text may quote a part of the URL, and so a password
        return "is not a valid URL (check the host, the port and any special characters in the password)"
    return None


def redact_url(url: str | None) -> str:
    """The URL without its password (in the user part or a ?password= option), for logs and messages."""
    if not url:
        return "<none>"
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<an unparsable URL>"
    netloc = parts.netloc
    if password is not None:
        user_part, _, host_part = netloc.rpartition("@")
        netloc = f"{user_part.split(':', 1)[0]}:***@{host_part}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMETERS else v) for k, v in pairs], safe="/*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def database_identity(url: str | None) -> tuple[str, int, str]:
    """Which database a URL names, ignoring user, password and options; None is the bundled server."""
    if not url:
        return ("<bundled>", 0, "")
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        return (url, 0, "")  # unparsable: only identical URLs count as the same database
    socket_dir = dict(parse_qsl(parts.query)).get("host")  # ?host=/path: a Unix socket directory
    host = socket_dir or (parts.hostname or "localhost").lower()
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    database = parts.path.lstrip("/") or (parts.username or "")
    return (host, port, database)
