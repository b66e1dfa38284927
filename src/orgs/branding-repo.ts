import type { DB } from '../db/open.ts';
import type { LogoType } from './logo-image.ts';

/** What the public pages need to know about an organization's branding, without the logo's bytes. */
export interface BrandingMeta {
  org_id: string;
  accent: string | null;
  logo_type: LogoType | null;
  logo_width: number | null;
  logo_height: number | null;
  logo_sha256: string | null;
  updated_at: string;
}

export interface LogoRow {
  logo: Buffer;
  logo_type: LogoType;
  logo_sha256: string;
}

const META = 'org_id, accent, logo_type, logo_width, logo_height, logo_sha256, updated_at';

/** Tenant data: every statement takes the organization's id. */
export function brandingRepo(db: DB) {
  const s = {
    all: db.prepare(`SELECT ${META} FROM org_branding`),
    meta: db.prepare(`SELECT ${META} FROM org_branding WHERE org_id = ?`),
    logo: db.prepare('SELECT logo, logo_type, logo_sha256 FROM org_branding WHERE org_id = ? AND logo IS NOT NULL'),
    ensure: db.prepare('INSERT INTO org_branding (org_id, updated_at) VALUES (?, ?) ON CONFLICT (org_id) DO NOTHING'),
    setAccent: db.prepare('UPDATE org_branding SET accent = ?, updated_at = ? WHERE org_id = ?'),
    setLogo: db.prepare('UPDATE org_branding SET logo = @logo, logo_type = @logo_type, logo_width = @logo_width, logo_height = @logo_height, logo_sha256 = @logo_sha256, updated_at = @updated_at WHERE org_id = @org_id'),
    clearLogo: db.prepare('UPDATE org_branding SET logo = NULL, logo_type = NULL, logo_width = NULL, logo_height = NULL, logo_sha256 = NULL, updated_at = ? WHERE org_id = ?'),
    dropEmpty: db.prepare('DELETE FROM org_branding WHERE org_id = ? AND accent IS NULL AND logo IS NULL'),
  };
  return {
    all: () => s.all.all() as BrandingMeta[],
    meta: (orgId: string) => s.meta.get(orgId) as BrandingMeta | undefined,
    logo: (orgId: string) => s.logo.get(orgId) as LogoRow | undefined,
    setAccent(orgId: string, accent: string | null, at: string) {
      s.ensure.run(orgId, at);
      s.setAccent.run(accent, at, orgId);
      s.dropEmpty.run(orgId);
    },
    setLogo(orgId: string, logo: { bytes: Buffer; type: LogoType; width: number; height: number; sha256: string }, at: string) {
      s.ensure.run(orgId, at);
      s.setLogo.run({ org_id: orgId, logo: logo.bytes, logo_type: logo.type, logo_width: logo.width, logo_height: logo.height, logo_sha256: logo.sha256, updated_at: at });
    },
    clearLogo(orgId: string, at: string) {
      s.clearLogo.run(at, orgId);
      s.dropEmpty.run(orgId);
    },
  };
}
