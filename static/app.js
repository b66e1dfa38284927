// Tessera's small amount of page script. Loaded as a static file: the CSP forbids inline scripts.
// htmx sends the CSRF token from the <meta name="csrf-token"> tag on every unsafe request.
document.addEventListener('htmx:config:request', (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const detail = event.detail || {};
  if (meta && detail.ctx && detail.ctx.request && detail.ctx.request.headers) {
    detail.ctx.request.headers['X-CSRF-Token'] = meta.getAttribute('content');
  }
});

// Confirmation for destructive one-button forms (data-confirm); works without JS too (no prompt).
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
