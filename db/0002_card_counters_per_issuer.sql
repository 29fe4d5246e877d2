-- Card sequence counters per (issuer, KDD) instead of per KDD (issue 19, item 6).
--
-- Keyed by KDD alone, a TSM entitled to issuer B could move the counter of a card of issuer A
-- (same KDD, B's key set): a release at FFFFFF made every later counter of the A card look
-- backwards, a lock-out with reject_counter_anomaly = true. From this version on only a
-- successful release writes a counter, so the table is rebuilt from what the releases
-- recorded: for every (issuer, KDD) with an OK WSGetDiversifiedKeys audit record, `last` is
-- the counter of the latest one, `highest` the largest, `anomalies` the number of them that
-- were flagged (counter_anomaly) and `updated` the latest one's time. That is the row the new
-- code would have written from the start. The old value itself is not kept: it may come from
-- a refused request (a refusal used to overwrite it) or from another issuer's TSM.
--
-- Dropped: counters without such a record (only refused requests, or records without an
-- issuer or a counter). Such a card's next release is its first one seen for that issuer: no
-- anomaly check that once, never a lock-out.

CREATE TABLE card_counters_v2 (
  issuer_id INTEGER NOT NULL REFERENCES issuers(id) ON DELETE RESTRICT,
  kdd       TEXT NOT NULL CHECK (length(kdd) = 20),
  last      INTEGER NOT NULL,
  highest   INTEGER NOT NULL,
  anomalies INTEGER NOT NULL DEFAULT 0,
  updated   TEXT NOT NULL,
  PRIMARY KEY (issuer_id, kdd)
) WITHOUT ROWID;

INSERT INTO card_counters_v2 (issuer_id, kdd, last, highest, anomalies, updated)
WITH releases AS (
  SELECT a.seq, a.kdd, a.issuer, a.time,
         json_extract(a.detail, '$.counter') AS counter,
         json_extract(a.detail, '$.counter_anomaly') IS NOT NULL AS anomalous
  FROM audit a
  WHERE a.operation = 'WSGetDiversifiedKeys' AND a.result = 'OK' AND a.kdd IS NOT NULL
    AND a.issuer IS NOT NULL AND json_valid(a.detail)
    AND json_type(a.detail, '$.counter') = 'integer'
    AND a.kdd IN (SELECT kdd FROM card_counters)
),
pairs AS (
  SELECT kdd, issuer, max(seq) AS last_seq, max(counter) AS highest, sum(anomalous) AS anomalies
  FROM releases GROUP BY kdd, issuer
)
SELECT i.id, p.kdd, r.counter, p.highest, p.anomalies, r.time
FROM pairs p
JOIN releases r ON r.seq = p.last_seq
JOIN issuers i ON i.name = p.issuer;

DROP TABLE card_counters;
ALTER TABLE card_counters_v2 RENAME TO card_counters;
