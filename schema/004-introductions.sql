-- 004-introductions.sql: who introduced a peer, and whether it waits for
-- an operator. introduced_by is the node key id of the member whose
-- INTRODUCE added the peer ('' when it joined or an operator added it):
-- a member's introductions are bounded ([membership] max-introductions).
-- pending is 1 while an introduced peer waits for "peerkey accept"
-- ([membership] introduced-pending): it is not guarded, may not deposit,
-- and nothing is released to it.

ALTER TABLE peers ADD COLUMN introduced_by TEXT NOT NULL DEFAULT '';
ALTER TABLE peers ADD COLUMN pending INTEGER NOT NULL DEFAULT 0
    CHECK (pending IN (0, 1));
