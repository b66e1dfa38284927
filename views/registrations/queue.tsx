/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import type { Place } from '../../src/registrations/queue.ts';

/**
 * The waiting room of an opening rush. It asks again by itself (the Refresh header, so it works
 * without JavaScript); the person only has to keep it open.
 */
export function QueuePage({ e, place }: { e: Pick<EventRow, 'title' | 'slug'>; place: Place }) {
  const wait = place.etaSeconds <= 5 ? 'a few seconds' : place.etaSeconds < 90 ? `about ${place.etaSeconds} seconds` : `about ${Math.round(place.etaSeconds / 60)} minutes`;
  return (
    <article aria-live="polite">
      <h1>High demand — you are in the queue</h1>
      <p>
        Many people are registering for <strong>{e.title}</strong> right now. Your form has been received and waits for its turn;
        seats are given in the order people arrived.
      </p>
      <p data-testid="queue-place">
        {place.ahead === 0 ? 'You are next.' : `${place.ahead.toLocaleString('en')} ${place.ahead === 1 ? 'person is' : 'people are'} ahead of you`} — {wait} to go.
      </p>
      <p>
        <strong>Keep this page open.</strong> It checks again every {place.refreshSeconds} seconds and shows your answer as soon as it is ready.
        If you close it, your place is given to the next person and nothing is saved.
      </p>
      <p>
        <a href={`/e/${e.slug}/queue`} role="button" class="secondary">
          Check now
        </a>
      </p>
    </article>
  );
}

/** A queue ticket that is not (or no longer) known: finished and collected, expired, or from before a restart. */
export function QueueGonePage({ e }: { e: Pick<EventRow, 'title' | 'slug'> }) {
  return (
    <article>
      <h1>Your place in the queue was not found</h1>
      <p>
        This can happen when the page was closed for a while, or after a restart of the server. If your registration went through, the
        confirmation is in your inbox. Otherwise, please <a href={`/e/${e.slug}`}>register for {e.title}</a> again.
      </p>
    </article>
  );
}
