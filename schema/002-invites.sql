-- 002-invites.sql: pending invitations ("peerkey invite"), and each
-- peer's boot OpenPGP public key (learnt at join; what a depositor
-- encrypts to).

-- One row per code not yet used: only the SHA-256 of its secret is kept.
-- A JOIN that proves the secret deletes the row in the same transaction
-- that adds the joiner, so a code works once.
CREATE TABLE invites (
	secret_hash	TEXT PRIMARY KEY CHECK (length(secret_hash) = 64),
	expires_at	INTEGER NOT NULL,	-- wall ms
	created_at	INTEGER NOT NULL,
	self_doc	TEXT NOT NULL		-- the inviter's identity (JSON)
);

ALTER TABLE peers ADD COLUMN boot_pgp TEXT NOT NULL DEFAULT '';
