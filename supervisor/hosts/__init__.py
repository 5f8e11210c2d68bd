"""Many hosts, one PostgreSQL: fencing of lost leases, balanced placement of instances, drain."""
