-- An organization's accent colour and logo for its public pages. One row per organization once
-- either is set. The logo's bytes live here, in the encrypted database, with what was read from
-- its header (src/orgs/logo-image.ts); its SHA-256 names the version in URLs and ETags.
CREATE TABLE org_branding (
  org_id TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  accent TEXT CHECK (accent IS NULL OR (length(accent) = 7 AND accent GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]')),
  logo BLOB,
  logo_type TEXT CHECK (logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg', 'image/webp')),
  logo_width INTEGER,
  logo_height INTEGER,
  logo_sha256 TEXT,
  updated_at TEXT NOT NULL,
  CHECK ((logo IS NULL) = (logo_type IS NULL) AND (logo IS NULL) = (logo_sha256 IS NULL))
);
