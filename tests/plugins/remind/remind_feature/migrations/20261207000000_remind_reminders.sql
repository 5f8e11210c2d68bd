-- remind: one row per reminder; delivered_at is set once the reminder was posted.
CREATE TABLE IF NOT EXISTS remind_reminders (
    id BIGSERIAL PRIMARY KEY,
    guild_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS remind_reminders_due ON remind_reminders (due_at) WHERE delivered_at IS NULL;
