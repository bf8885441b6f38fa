// Small DOM helpers shared by the pages: building elements, messages, badges, times and a confirmation dialog.

/** h('button', {class: 'x', onclick}, 'text', child…): an element; null/false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children; like h(), it flattens arrays and skips null/false. */
export function set(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A message box; role=alert for errors so a screen reader says it at once. */
export function message(kind, title, detail, items = []) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    title && h('strong', {}, title),
    detail && h('span', {}, capitalize(detail)),
    items.length > 0 && h('ul', {}, items.map((i) => h('li', {}, i))));
}

function capitalize(text) {
  const value = String(text);
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** Shows an ApiError (or any error) in a slot, with a form's field errors next to their inputs. */
export function showError(slot, error, form = null) {
  clearErrors(form);
  const items = [];
  if (error?.fields) {
    for (const [field, messages] of Object.entries(error.fields)) {
      const name = field.replace(/^params\./, '').replace(/^deviceInfo\./, '');
      const input = form?.querySelector(`[name="${CSS.escape(name)}"]`);
      const text = `${labelFor(input) || name}: ${messages.join(' ')}`;
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        const note = h('div', { class: 'field-error', id: `${input.id}-error` }, messages.join(' '));
        input.setAttribute('aria-describedby', note.id);
        input.closest('.field')?.append(note);
      }
      items.push(text);
    }
  }
  const title = error?.title || 'Something went wrong';
  const detail = error?.fields ? 'Please correct the highlighted fields.' : (error?.detail || error?.message || 'Try again.');
  slot.replaceChildren(message('error', title, detail, items));
  form?.querySelector('[aria-invalid="true"]')?.focus();
}

export function clearErrors(form) {
  if (!form) return;
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => {
    e.removeAttribute('aria-invalid');
    e.removeAttribute('aria-describedby');
  });
}

function labelFor(input) {
  if (!input?.id) return null;
  return document.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.textContent?.trim() ?? null;
}

/** A labelled input in a .field wrapper. */
export function field(id, label, attrs = {}, hint = null) {
  const hintEl = hint ? h('div', { class: 'hint', id: `${id}-hint` }, hint) : null;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, 'aria-describedby': hintEl ? hintEl.id : null, ...attrs }),
    hintEl);
}

export function toast(text) {
  const box = document.getElementById('toasts');
  const item = h('div', { class: 'toast' }, text);
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}

/** Asks before something that cannot be undone. Resolves true on confirm; Escape or Cancel resolve false. */
export function confirmDialog({ title, text, confirm = 'Confirm', danger = true }) {
  return new Promise((resolve) => {
    const cancelButton = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, 'Cancel');
    const okButton = h('button', { type: 'button', class: danger ? 'danger solid' : '', value: 'ok' }, confirm);
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' },
      h('h2', { id: 'dialog-title' }, title),
      h('p', {}, text),
      h('div', { class: 'actions' }, cancelButton, okButton));
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancelButton.addEventListener('click', () => done(false));
    okButton.addEventListener('click', () => done(true));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancelButton.focus();
  });
}

export function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.getFullYear() < 2000) return '—';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", or the date. */
export function ago(value, now = Date.now()) {
  if (!value) return 'never';
  const then = new Date(value).getTime();
  if (Number.isNaN(then) || then < 946684800000) return 'never';
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatTime(value);
}

/** A fingerprint in groups of four, easy to compare with what the device's console shows. */
export function fingerprint(hex) {
  return h('span', { class: 'fingerprint', title: hex }, (hex || '').match(/.{1,4}/g)?.join(' ') ?? '');
}

export function percent(fraction) {
  return `${Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100)}%`;
}

/** A progress bar with an accessible value (width set through CSSOM, which the CSP allows; style attributes it does not). */
export function bar(fraction, label, extra = '') {
  const value = Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100);
  const fill = h('span');
  fill.style.width = `${value}%`;
  return h('div', {
    class: `bar ${extra}`, role: 'progressbar', 'aria-label': label,
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': value,
  }, fill);
}

/** Runs fn at most once per interval, trailing call included (for refetches on bursts of live events). */
export function throttle(fn, interval) {
  let timer = 0;
  let last = 0;
  return (...args) => {
    const wait = last + interval - Date.now();
    clearTimeout(timer);
    if (wait <= 0) {
      last = Date.now();
      fn(...args);
    } else {
      timer = setTimeout(() => {
        last = Date.now();
        fn(...args);
      }, wait);
    }
  };
}

export function roleOf(info) {
  if (!info) return 'unknown';
  if (info.is_manager) return 'manager';
  if (info.manager_device_id) return 'sensor';
  return 'not paired yet';
}
