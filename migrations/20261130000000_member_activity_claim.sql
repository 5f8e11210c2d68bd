-- Auto-role promotion claims that a crash cannot strand.
-- `promoted = TRUE` stays "this member is done" (as discord-bot-rs wrote it); a row whose claim is still in
-- flight also carries the claim's time, so a claim left behind by a crash between the claim and Discord's answer
-- can be taken again once it is stale. NULL means no claim is in flight.
ALTER TABLE member_activity ADD COLUMN IF NOT EXISTS promotion_claimed_at TIMESTAMPTZ;
