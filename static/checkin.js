// Check-in desk: keeps the search box ready for the next scan, and scans ticket QR codes with the
// phone camera where the browser has a BarcodeDetector. Without it (or without JavaScript) the
// page still works with typed codes or a keyboard-wedge scanner (it types the ticket, then Enter).
(() => {
  const form = document.getElementById('checkin-search');
  const input = document.getElementById('checkin-q');
  const camera = document.getElementById('checkin-camera');
  const video = document.getElementById('checkin-video');
  const status = document.getElementById('checkin-camera-status');
  if (!(form instanceof HTMLFormElement) || !(input instanceof HTMLInputElement)) return;

  // After a lookup or a check-in, the next scan must land in the search box, replacing the old text.
  // Not after the counts poll: that would select what someone is typing every 10 seconds.
  document.addEventListener('htmx:after:swap', (event) => {
    const ctx = event.detail && event.detail.ctx;
    const source = ctx && ctx.sourceElement;
    // htmx points the source at the new card after an outerHTML swap, so both cases are inside these.
    if (source instanceof Element && source.closest('#checkin-search, #checkin-results')) {
      input.focus();
      input.select();
    }
  });

  const say = (text) => {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  };

  const supported = 'BarcodeDetector' in window && !!navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === 'function';
  if (!supported || !(camera instanceof HTMLButtonElement) || !(video instanceof HTMLVideoElement)) return;
  camera.hidden = false;
  video.style.width = '100%';
  video.style.maxHeight = '60vh';

  let media = null;
  let running = false;

  const stop = () => {
    running = false;
    if (media) for (const track of media.getTracks()) track.stop();
    media = null;
    video.srcObject = null;
    video.hidden = true;
    camera.textContent = 'Scan ticket with camera';
  };

  const start = async () => {
    const Detector = window.BarcodeDetector;
    try {
      const formats = typeof Detector.getSupportedFormats === 'function' ? await Detector.getSupportedFormats() : ['qr_code'];
      if (!formats.includes('qr_code')) {
        say('This browser cannot read QR codes. Type the attendee code instead.');
        camera.hidden = true;
        return;
      }
      media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch {
      say('The camera is not available (no permission, or used by another app). Type the attendee code instead.');
      return;
    }
    const detector = new Detector({ formats: ['qr_code'] });
    video.srcObject = media;
    video.hidden = false;
    await video.play().catch(() => undefined);
    running = true;
    camera.textContent = 'Stop camera';
    say('Point the camera at the ticket QR code.');
    const scan = async () => {
      if (!running) return;
      try {
        const found = await detector.detect(video);
        const text = found.length > 0 ? String(found[0].rawValue || '').trim() : '';
        if (text) {
          stop();
          say('');
          input.value = text;
          form.requestSubmit();
          return;
        }
      } catch {
        // A frame that is not ready yet; try the next one.
      }
      setTimeout(scan, 200);
    };
    scan();
  };

  camera.addEventListener('click', () => {
    if (running) stop();
    else void start();
  });
  // Never leave the camera on in a background tab.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && running) stop();
  });
})();
