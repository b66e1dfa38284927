/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { PublicBrand } from '../../src/orgs/branding.ts';

/**
 * The organization in the header of its public pages: logo (if any) and name, linking to its
 * page of public events. The logo's alt text is empty: the name beside it says the same.
 */
export function OrgBrandMark({ brand }: { brand: PublicBrand }) {
  return (
    <a class="brand org-brand" href={`/o/${brand.slug}`}>
      {brand.logo ? <img src={brand.logo.url} alt="" width={brand.logo.width} height={brand.logo.height} /> : null}
      <span>{brand.name}</span>
    </a>
  );
}

/** The organization's accent stylesheet, after Pico and app.css so its variables win. */
export function OrgBrandStyle({ brand }: { brand: PublicBrand }) {
  return brand.cssUrl ? <link rel="stylesheet" href={brand.cssUrl} /> : null;
}
