-- 006-labels.sql: a peer's labels (labels.h): its key=value words in
-- canonical form ("rack=r3 zone=a": sorted by key, one space between),
-- set by an operator ("peerkey peer label"); "" none. enroll's guardian
-- picker spreads shares over one of them (zone by default).

ALTER TABLE peers ADD COLUMN labels TEXT NOT NULL DEFAULT '';
