"""Database URLs derived from the test database's, built with urllib.parse: the test URL may name a Unix socket
directory (`postgresql://postgres@/postgres?host=/run/...`, a private server), so slicing it at "/" or appending
"?" by hand breaks it."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    """The same server and login, another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(database)))


def with_options(url: str, **options: str) -> str:
    """The URL with query options added or replaced (`application_name=...`), the others kept."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(options)
    return urlunsplit(parts._replace(query=urlencode(query, safe="/")))


def with_password(url: str, password: str) -> str:
    """The same server, user and database, logging in with `password`."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    login = f"{quote(parts.username or '', safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def socket_url(socket_dir: str, database: str = "postgres", user: str = "postgres") -> str:
    """A URL reaching a server through its Unix socket directory."""
    query = urlencode({"host": socket_dir}, safe="/")
    return urlunsplit(("postgresql", f"{quote(user, safe='')}@", "/" + quote(database), query, ""))
