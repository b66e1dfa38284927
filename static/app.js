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

// Copy and print buttons (event overview). They are `hidden` in the HTML, so a browser without
// script shows only the selectable link and prints with its own menu; here they are shown and wired.
document.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('button[data-copy], button[data-print]')) button.hidden = false;
});
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy], button[data-print]') : null;
  if (!button) return;
  if (button.hasAttribute('data-print')) {
    window.print();
    return;
  }
  const source = document.getElementById(button.dataset.copy || '');
  const status = button.parentElement && button.parentElement.querySelector('.copy-status');
  if (!source) return;
  const say = (text) => {
    if (status) status.textContent = text;
  };
  const text = source.textContent.trim();
  if (!navigator.clipboard) {
    say('Select the link and copy it.');
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => say('Link copied.'),
    () => say('Could not copy: select the link and copy it.'),
  );
});
