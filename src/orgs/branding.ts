import { createHash } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { Result } from '../auth/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { accentCss } from './accent.ts';
import { type BrandingMeta, type LogoRow, brandingRepo } from './branding-repo.ts';
import { checkLogo } from './logo-image.ts';
import type { OrgRow } from './repo.ts';

export interface BrandingDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  now: () => number;
  orgById: (id: string) => Pick<OrgRow, 'id' | 'slug' | 'name'> | undefined;
  /** A suspended organization's logo and stylesheet are not served (its pages answer "unavailable"). */
  isSuspended: (orgId: string) => boolean;
}

/** An organization as its public pages present it: name, logo and the stylesheet with its accent. */
export interface PublicBrand {
  name: string;
  slug: string;
  logo?: { url: string; width: number; height: number };
  cssUrl?: string;
  /** changes whenever anything above does: part of the keys of cached public pages */
  version: string;
}

type LogoFacts = { sha256: string; type: string; width: number; height: number } | null;
const logoFacts = (m: BrandingMeta | undefined): LogoFacts => (m?.logo_sha256 ? { sha256: m.logo_sha256, type: m.logo_type!, width: m.logo_width!, height: m.logo_height! } : null);

/**
 * An organization's accent colour and logo. What the public pages ask on every request (is
 * there a logo, which colour) is kept in memory, changed only here after the write committed,
 * so a cached event page costs no extra database read; the logo's bytes are read only when the
 * logo itself is asked for.
 */
export class BrandingService {
  private readonly repo;
  private readonly meta: Map<string, BrandingMeta>;

  constructor(private readonly d: BrandingDeps) {
    this.repo = brandingRepo(d.db);
    this.meta = new Map(this.repo.all().map((m) => [m.org_id, m]));
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  private reload(orgId: string): void {
    const m = this.repo.meta(orgId);
    if (m) this.meta.set(orgId, m);
    else this.meta.delete(orgId);
  }

  of(orgId: string): { accent: string | null; logo: LogoFacts } {
    const m = this.meta.get(orgId);
    return { accent: m?.accent ?? null, logo: logoFacts(m) };
  }

  publicBrand(org: Pick<OrgRow, 'id' | 'slug' | 'name'>): PublicBrand {
    const m = this.d.isSuspended(org.id) ? undefined : this.meta.get(org.id);
    const base = `/o/${encodeURIComponent(org.slug)}`;
    const logoVersion = m?.logo_sha256?.slice(0, 16);
    const brand: PublicBrand = { name: org.name, slug: org.slug, version: `${org.slug}|${org.name}|${m?.accent ?? ''}|${logoVersion ?? ''}` };
    if (logoVersion) brand.logo = { url: `${base}/logo?v=${logoVersion}`, width: m!.logo_width!, height: m!.logo_height! };
    if (m?.accent) brand.cssUrl = `${base}/brand.css?v=${m.accent.slice(1)}`;
    return brand;
  }

  /** The brand of the organization an event or request belongs to. */
  forOrg(orgId: string): PublicBrand | undefined {
    const org = this.d.orgById(orgId);
    return org ? this.publicBrand(org) : undefined;
  }

  /** The stylesheet of the organization's accent, or undefined without one. */
  css(orgId: string): { body: string; etag: string } | undefined {
    const accent = this.meta.get(orgId)?.accent;
    if (!accent) return undefined;
    const body = accentCss(accent);
    return { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
  }

  logo(orgId: string): LogoRow | undefined {
    return this.meta.get(orgId)?.logo_sha256 ? this.repo.logo(orgId) : undefined;
  }

  /** `accent` is already `#rrggbb` (the route's schema normalizes it); null resets to the product's colour. */
  setAccent(org: Pick<OrgRow, 'id'>, accent: string | null, ctx: AuditContext): void {
    const before = this.of(org.id).accent;
    this.d.writer.tx(() => {
      this.repo.setAccent(org.id, accent, this.iso());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.branding_accent_changed', { type: 'organization', id: org.id }, 'success', { before, after: accent });
    });
    this.reload(org.id);
  }

  /** Checks the bytes (type from the magic bytes, size, pixel dimensions); nothing is stored unless all pass. */
  setLogo(org: Pick<OrgRow, 'id'>, bytes: Buffer, ctx: AuditContext): Result<{ logo: NonNullable<LogoFacts> }, 'invalid'> {
    const check = checkLogo(bytes);
    if (!check.ok) return { ok: false, error: 'invalid', message: check.message };
    const after = { sha256: createHash('sha256').update(bytes).digest('hex'), type: check.type, width: check.width, height: check.height };
    const before = this.of(org.id).logo;
    this.d.writer.tx(() => {
      this.repo.setLogo(org.id, { bytes, ...after }, this.iso());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.branding_logo_changed', { type: 'organization', id: org.id }, 'success', { before, after, bytes: bytes.length });
    });
    this.reload(org.id);
    return { ok: true, logo: after };
  }

  removeLogo(org: Pick<OrgRow, 'id'>, ctx: AuditContext): void {
    const before = this.of(org.id).logo;
    this.d.writer.tx(() => {
      this.repo.clearLogo(org.id, this.iso());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.branding_logo_changed', { type: 'organization', id: org.id }, 'success', { before, after: null });
    });
    this.reload(org.id);
  }
}
