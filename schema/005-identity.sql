-- 005-identity.sql: a peer's signed identity (doc/protocol.md, "Signed
-- identity"): the document its node key signed, as received (NULL for a
-- peer an operator added by hand), and its sequence number (0: none).
-- A document with a higher sequence number replaces it; a lower one is
-- refused, so an older identity re-sent never wins.

ALTER TABLE peers ADD COLUMN identity BLOB;
ALTER TABLE peers ADD COLUMN identity_seq INTEGER NOT NULL DEFAULT 0
    CHECK (identity_seq >= 0);
