-- sekds schema, version 1 (DESIGN §5).
-- Applied by the store inside one transaction and recorded in schema_version; do not put
-- PRAGMAs or BEGIN/COMMIT here. Times are UTC text "YYYY-MM-DDTHH:MM:SS.mmmZ"; hex is
-- uppercase; enum values are the lowercase names used by src/store/types.h.

CREATE TABLE issuers (
  id       INTEGER PRIMARY KEY,
  name     TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  iin      TEXT NOT NULL UNIQUE CHECK (length(iin) BETWEEN 2 AND 32 AND length(iin) % 2 = 0
                                       AND iin NOT GLOB '*[^0-9A-F]*'),
  created  TEXT NOT NULL
);

CREATE TABLE key_sets (
  id            INTEGER PRIMARY KEY,
  issuer_id     INTEGER NOT NULL REFERENCES issuers(id) ON DELETE RESTRICT,
  kvn           INTEGER NOT NULL CHECK (kvn BETWEEN 1 AND 127),
  scp           INTEGER NOT NULL CHECK (scp IN (2, 3)),
  scp_i         INTEGER NOT NULL CHECK (scp_i BETWEEN 0 AND 255),
  key_type      TEXT NOT NULL CHECK (key_type IN ('DES2', 'DES3', 'AES128', 'AES192', 'AES256')),
  method        TEXT NOT NULL CHECK (method IN ('none', 'visa2', 'emv', 'kdf3', 'scp03kdf')),
  kdf_layout    TEXT NOT NULL DEFAULT '',   -- gp::KdfLayout spec; '' for none/visa2/emv
  kdf_constants TEXT NOT NULL DEFAULT '',   -- "01,02,03"
  hsm_label_enc TEXT NOT NULL CHECK (length(hsm_label_enc) BETWEEN 1 AND 128),
  hsm_label_mac TEXT NOT NULL CHECK (length(hsm_label_mac) BETWEEN 1 AND 128),
  hsm_label_dek TEXT NOT NULL CHECK (length(hsm_label_dek) BETWEEN 1 AND 128),
  kcv_enc       TEXT NOT NULL,
  kcv_mac       TEXT NOT NULL,
  kcv_dek       TEXT NOT NULL,
  kcv_alg       TEXT NOT NULL CHECK (kcv_alg IN ('DES3-ECB-ZERO', 'AES-ECB-01', 'AES-CMAC-ZERO')),
  state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
  created       TEXT NOT NULL,
  UNIQUE (issuer_id, kvn)
);

CREATE TABLE tsms (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  cert_sha256 TEXT NOT NULL UNIQUE CHECK (length(cert_sha256) = 64 AND cert_sha256 NOT GLOB '*[^0-9A-F]*'),
  subject     TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'accredited' CHECK (state IN ('accredited', 'revoked')),
  created     TEXT NOT NULL,
  revoked     TEXT
);

CREATE TABLE entitlements (
  tsm_id    INTEGER NOT NULL REFERENCES tsms(id) ON DELETE CASCADE,
  issuer_id INTEGER NOT NULL REFERENCES issuers(id) ON DELETE CASCADE,
  created   TEXT NOT NULL,
  PRIMARY KEY (tsm_id, issuer_id)
) WITHOUT ROWID;
CREATE INDEX entitlements_by_issuer ON entitlements(issuer_id);

CREATE TABLE keks (
  id          INTEGER PRIMARY KEY,
  tsm_id      INTEGER NOT NULL REFERENCES tsms(id) ON DELETE RESTRICT,
  kek_index   INTEGER NOT NULL CHECK (kek_index BETWEEN 0 AND 4294967295),
  algorithm   TEXT NOT NULL CHECK (algorithm IN ('AES128', 'AES192', 'AES256')),
  kcv         TEXT NOT NULL,             -- AES-ECB-01 convention (GlobalPlatform)
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'retired')),
  valid_from  TEXT,
  valid_until TEXT,
  hsm_label   TEXT NOT NULL CHECK (length(hsm_label) BETWEEN 1 AND 128),
  created     TEXT NOT NULL,
  activated   TEXT,
  retired     TEXT,
  UNIQUE (tsm_id, kek_index)
);

-- The lifecycle holds even against hand-written SQL: pending -> active -> retired.
CREATE TRIGGER keks_state_transition BEFORE UPDATE OF state ON keks
WHEN NOT (OLD.state = NEW.state
          OR (OLD.state = 'pending' AND NEW.state = 'active')
          OR (OLD.state = 'active' AND NEW.state = 'retired'))
BEGIN
  SELECT RAISE(ABORT, 'illegal KEK state transition');
END;

CREATE TABLE card_counters (
  kdd       TEXT PRIMARY KEY CHECK (length(kdd) = 20),
  last      INTEGER NOT NULL,
  highest   INTEGER NOT NULL,
  anomalies INTEGER NOT NULL DEFAULT 0,
  updated   TEXT NOT NULL
) WITHOUT ROWID;

-- Hash-chained audit (src/store/audit_hash.h documents the canonical form).
CREATE TABLE audit (
  seq        INTEGER PRIMARY KEY,        -- gap-free, assigned from audit_head
  time       TEXT NOT NULL,
  actor      TEXT NOT NULL,
  operation  TEXT NOT NULL,
  kdd        TEXT,
  issuer     TEXT,                       -- the issuer's name, kept even if it is renamed
  kvn        INTEGER,
  kek_index  INTEGER,
  result     TEXT NOT NULL,
  request_id TEXT,
  detail     TEXT NOT NULL DEFAULT '{}',
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit(time);
CREATE INDEX audit_by_actor ON audit(actor, seq);
CREATE INDEX audit_by_kdd ON audit(kdd, seq) WHERE kdd IS NOT NULL;
CREATE INDEX audit_by_request ON audit(actor, request_id, seq) WHERE request_id IS NOT NULL;

-- The chain head: seq and hash of the last record. Appends read and move it inside
-- their write transaction, so a deleted tail still shows up as a break.
CREATE TABLE audit_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only through the application. (A determined attacker with the file can drop
-- these; the hash chain is what detects that.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END;
