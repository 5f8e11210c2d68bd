"""PostgreSQL operations: the bundled server, probing a server, the connection budget, backups and restores."""
