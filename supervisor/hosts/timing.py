"""The bounds that keep every bot to one gateway session across hosts (the argument is in docs/standby.md).

A holder confirms its lease session with a heartbeat every HEARTBEAT seconds. It counts a lease as confirmed
from the moment it *sent* the last heartbeat that succeeded (the session was alive at least until the server
ran it). Once FENCE_AFTER seconds pass without a newer confirmation, its bots on that database send nothing
more (events dropped, REST refused) and their gateway sockets are cut.

A taker that gets a lock whose previous holder may still be running the bot waits until that holder's last
heartbeat, by the server's clock, is older than TAKE_AFTER = FENCE_AFTER + STOP_SLACK: by then the old holder
has cut its sockets, or it is frozen and will drop everything on waking before it sends a byte.
"""

HEARTBEAT = 1.0  # seconds between heartbeats on the lease session
QUERY_TIMEOUT = 2.0  # a heartbeat that takes longer counts as failed
FENCE_AFTER = 4.0  # no confirmation sent within this long: the holder's bots stop (HEARTBEAT + QUERY_TIMEOUT + 1)
STOP_SLACK = 2.0  # a fenced holder's loop notices and cuts its sockets within this (loop stalls included)
TAKE_AFTER = FENCE_AFTER + STOP_SLACK  # a taker waits until the old holder's last heartbeat is this old

# A holder that knew of no other daemon with an instance does not cut it off when its session is lost (a
# database outage then leaves the bot up, answering "database unavailable"). A daemon that arrives meanwhile takes
# such an instance only once that holder's heartbeat is this old, or when the holder was an earlier process of
# its own node (the control socket's lock file proves that one is gone).
LONE_TAKE_AFTER = 60.0
# ...and the lone holder keeps its bots up through an outage only this long after its last confirmed heartbeat:
# then it cuts them off too, so it has stopped (within STOP_SLACK) before any newcomer may start them. An outage
# shorter than this is answered "database unavailable"; a longer one takes the bots offline until it ends.
LONE_FENCE_AFTER = LONE_TAKE_AFTER - STOP_SLACK - 8.0

# The server ends a lease session that has been silent this long (a frozen or partitioned holder), so the
# others may take its leases: longer than a heartbeat plus a loaded event loop's stalls.
IDLE_SESSION_TIMEOUT_MS = 5000
# Server-side TCP keepalives on the lease session: a powered-off host's session ends within ~idle+interval*count.
TCP_KEEPALIVES = {"tcp_keepalives_idle": "2", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3"}
TCP_USER_TIMEOUT_MS = 5000  # unacknowledged data (a host that vanished mid-answer) ends the session too

DAEMON_LIVE_AFTER = 15.0  # a daemon row whose heartbeat is older, and whose lock is gone, is shown as gone
DAEMON_FORGET_AFTER = 600.0  # rows of daemons gone this long are deleted by whichever daemon sees them
