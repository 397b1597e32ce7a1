-- 001-initial.sql: the first schema of peerkeyd's store.
--
-- Migrations are numbered and append-only: never edit a released one, add
-- 002-*.sql instead. store.c applies every migration whose number is above
-- PRAGMA user_version, each in its own transaction, and sets user_version
-- to that number in the same transaction. A database whose user_version is
-- above the newest migration the code knows is refused.
--
-- Times: *_at and last_* columns are wall-clock milliseconds since the
-- epoch, for people and the audit log only. Liveness is kept as
-- "remaining" (milliseconds before the peer is disabled, as of the last
-- save), so that this node's own downtime is not held against its peers and
-- a wall-clock jump changes nothing.

-- This node itself: one row.
CREATE TABLE self (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	node_keyid	TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	alive_at	INTEGER NOT NULL	-- last "alive" mark (wall ms)
);

-- The machines this node guards and keeps blobs for.
CREATE TABLE peers (
	id			INTEGER PRIMARY KEY,
	name			TEXT NOT NULL UNIQUE
				    CHECK (length(name) BETWEEN 1 AND 64),
	node_keyid		TEXT UNIQUE,	-- NULL: no node key (Mandos client)
	boot_keyid		TEXT NOT NULL UNIQUE
				    CHECK (length(boot_keyid) = 64),
	addresses		TEXT NOT NULL DEFAULT '',
	checker			TEXT NOT NULL DEFAULT '',
	timeout_ms		INTEGER NOT NULL CHECK (timeout_ms > 0),
	interval_ms		INTEGER NOT NULL CHECK (interval_ms > 0),
	extended_timeout_ms	INTEGER NOT NULL CHECK (extended_timeout_ms >= 0),
	approval_delay_ms	INTEGER NOT NULL DEFAULT 0,
	approval_duration_ms	INTEGER NOT NULL DEFAULT 1000,
	approved_by_default	INTEGER NOT NULL DEFAULT 1,
	require_notice		INTEGER NOT NULL DEFAULT 0,
	disabled_by		INTEGER NOT NULL DEFAULT 0
				    CHECK (disabled_by IN (0, 1, 2)),
	remaining_ms		INTEGER NOT NULL CHECK (remaining_ms >= 0),
	last_seen_at		INTEGER NOT NULL DEFAULT 0,
	last_check_at		INTEGER NOT NULL DEFAULT 0,
	last_check_ok		INTEGER NOT NULL DEFAULT 0,
	created_at		INTEGER NOT NULL
);

-- Passphrases encrypted to a peer's OpenPGP boot key: opaque here.
CREATE TABLE blobs (
	peer_id		INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,
	blob_id		TEXT NOT NULL CHECK (length(blob_id) BETWEEN 1 AND 128),
	data		BLOB NOT NULL CHECK (length(data) > 0),
	deposited_at	INTEGER NOT NULL,
	PRIMARY KEY (peer_id, blob_id)
);

-- The append-only audit log.
CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL,
	peer		TEXT NOT NULL DEFAULT '',	-- peer name, '' for none
	kind		TEXT NOT NULL,
	address		TEXT NOT NULL DEFAULT '',
	detail		TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events(at);
CREATE INDEX events_peer ON events(peer, at);
