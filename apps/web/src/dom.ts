/** The element of index.html with this id; a missing one is a bug of the page, caught at start. */
export function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from index.html`);
  return found;
}

/** A new element with attributes (`true` sets an empty one, false/undefined leaves it out). */
export function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) created.setAttribute(name, '');
    else if (typeof value === 'string') created.setAttribute(name, value);
  }
  created.append(...children);
  return created;
}

/**
 * A form field: the label, the control, `notes` under it (hints), and the slot its error message
 * goes in (`messages.ts` fills it, keyed by the control's `name`).
 */
export function labelled(
  label: string,
  control: HTMLInputElement | HTMLTextAreaElement,
  ...notes: Node[]
): HTMLDivElement {
  return create(
    'div',
    { class: 'field' },
    create('label', { for: control.id }, label),
    control,
    ...notes,
    create('p', { class: 'field-error', 'data-field': control.name, hidden: true }),
  );
}

/** Disables the controls while `run` is in flight, so a slow answer cannot be asked for twice. */
export async function whileBusy<T>(
  controls: (HTMLButtonElement | HTMLSelectElement)[],
  run: () => Promise<T>,
): Promise<T> {
  for (const control of controls) control.disabled = true;
  try {
    return await run();
  } finally {
    for (const control of controls) control.disabled = false;
  }
}
