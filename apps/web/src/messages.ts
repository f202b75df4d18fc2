import { element } from './dom.js';
import { describeError, type DescribedError } from './errors.js';

const notice = element('notice', HTMLParagraphElement);
const alert = element('error', HTMLParagraphElement);

/** `text` ending as a sentence does: the API's messages have no full stop, the app's do. */
export function asSentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

export function showNotice(text: string): void {
  notice.textContent = text;
  notice.hidden = text === '';
}

/** Shows `text` in the page's alert, as for a failed call; empty hides it. */
export function showAlert(text: string): void {
  alert.textContent = text;
  alert.hidden = text === '';
}

export function clearMessages(...forms: HTMLFormElement[]): void {
  showNotice('');
  showAlert('');
  for (const form of forms) setFieldErrors(form, {});
}

/**
 * Puts each message in the `.field-error` slot of its field and marks the field invalid (its
 * `aria-describedby` then names the message too); clears the other slots. Returns the messages
 * of fields the form has no slot for.
 */
function setFieldErrors(form: HTMLFormElement, fields: Record<string, string>): string[] {
  const placed = new Set<string>();
  for (const slot of form.querySelectorAll<HTMLElement>('.field-error')) {
    const name = slot.dataset.field ?? '';
    const message = fields[name] ?? '';
    slot.textContent = message;
    slot.hidden = message === '';
    if (message !== '') placed.add(name);
    const control = form.elements.namedItem(name);
    if (!(control instanceof HTMLInputElement || control instanceof HTMLTextAreaElement)) continue;
    slot.id ||= `${control.id}-error`;
    const describedBy = (control.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id !== '' && id !== slot.id);
    if (message !== '') describedBy.push(slot.id);
    if (describedBy.length > 0) control.setAttribute('aria-describedby', describedBy.join(' '));
    else control.removeAttribute('aria-describedby');
    control.setAttribute('aria-invalid', String(message !== ''));
  }
  return Object.entries(fields)
    .filter(([name]) => !placed.has(name))
    .map(([, message]) => message);
}

/**
 * The text that sums up a failure: the catalogue message, plus the messages of fields that have
 * no place of their own in `form`, which the form's slots then show.
 */
export function summarize(described: DescribedError, form?: HTMLFormElement): string {
  const unplaced = form ? setFieldErrors(form, described.fields) : Object.values(described.fields);
  return [described.message, ...unplaced].join(' ');
}

/** Shows a failed call in the page's alert; field errors go next to their inputs in `form`. */
export function showError(error: unknown, form?: HTMLFormElement): DescribedError {
  const described = describeError(error);
  showAlert(summarize(described, form));
  return described;
}
