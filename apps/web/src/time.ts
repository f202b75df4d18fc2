import { create } from './dom.js';

// Relative times are part of the English sentence around them; the exact one follows the
// reader's own locale and time zone.
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

const secondsPer: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "just now", "3 minutes ago", "yesterday"... in the largest unit that fits. */
function timeAgo(date: Date, now = Date.now()): string {
  // A server clock slightly ahead of this one must not date a new task in the future.
  const secondsAgo = Math.max(0, (now - date.getTime()) / 1000);
  for (const [unit, seconds] of secondsPer) {
    if (secondsAgo >= seconds) return relative.format(-Math.floor(secondsAgo / seconds), unit);
  }
  return 'just now';
}

/** `<time>` reading "3 minutes ago", with the machine-readable instant and the exact local one. */
export function timeElement(date: Date): HTMLTimeElement {
  return create(
    'time',
    { datetime: date.toISOString(), title: exact.format(date), 'data-relative': true },
    timeAgo(date),
  );
}

/** Keeps every relative time on the page current while it stays open. */
export function keepRelativeTimesCurrent(): void {
  setInterval(() => {
    const now = Date.now();
    for (const time of document.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
      time.textContent = timeAgo(new Date(time.dateTime), now);
    }
  }, 30_000);
}
