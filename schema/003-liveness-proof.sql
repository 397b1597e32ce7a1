-- 003-liveness-proof.sql: what a peer's last node-key proof of life
-- allows. A release to the boot key may extend a peer's expiry
-- ("remaining_ms") for extended-timeout, but never past the time its last
-- proof of life (a heartbeat with its node key; an operator's enable)
-- granted plus extended-timeout: proof_remaining_ms is that time, in
-- milliseconds left as of the last save, kept like remaining_ms so that
-- this node's own downtime and wall-clock jumps change nothing
-- (peerkeyd(8), LIVENESS). A database from before has no such time: the
-- remaining time stands for it.

ALTER TABLE peers ADD COLUMN proof_remaining_ms INTEGER NOT NULL DEFAULT 0
    CHECK (proof_remaining_ms >= 0);
UPDATE peers SET proof_remaining_ms = remaining_ms;
