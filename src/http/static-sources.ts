/**
 * Shipped static files by logical name. Kept free of imports because build.mjs reads it with
 * plain Node to embed these files in the single binary.
 */
export const staticFiles: Record<string, string> = {
  'pico.css': 'node_modules/@picocss/pico/css/pico.min.css',
  'htmx.js': 'node_modules/htmx.org/dist/htmx.min.js',
  'app.css': 'static/app.css',
  'app.js': 'static/app.js',
  'checkin.js': 'static/checkin.js',
};

export const staticSources = Object.values(staticFiles);
