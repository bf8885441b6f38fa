// Pairing phones and browsers (seed 000): a one-time QR code with a live countdown, and the paired clients
// with their presence, last seen, and revoke.

import { get, post, del, bytes } from '../api.js';
import { h, set, badge, message, showError, toast, confirmDialog, ago, formatTime, throttle } from '../ui.js';

export default {
  title: 'Clients',
  async render(view, ctx) {
    const qrSlot = h('div', { id: 'qr-area' });
    const listSlot = h('div', { id: 'client-list' });
    const listStatus = h('div', { 'aria-live': 'polite' });
    view.append(
      h('div', { class: 'page-head' },
        h('div', {}, h('h1', { tabindex: -1 }, 'Phones and browsers'),
          h('p', { class: 'muted' }, 'Pair a client by scanning a one-time code with its app; revoke it when it is lost or sold.'))),
      h('div', { class: 'cols' },
        h('section', { class: 'card', 'aria-labelledby': 'qr-title' },
          h('h2', { id: 'qr-title' }, 'Pair a client'), qrSlot),
        h('section', { class: 'card', 'aria-labelledby': 'clients-title' },
          h('h2', { id: 'clients-title' }, 'Paired clients'), listStatus, listSlot)));

    // ---- the QR code ----
    let objectUrl = null;
    let tick = 0;
    const release = () => {
      clearInterval(tick);
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
    };
    ctx.later(release);

    const idle = (note = null) => {
      release();
      set(qrSlot,
        note,
        h('p', {}, 'A code works once, for a few minutes. The phone must be on the same network as this device.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', id: 'qr-new', onclick: create }, 'Show a pairing code')));
    };

    async function create() {
      const button = qrSlot.querySelector('#qr-new');
      if (button) {
        button.disabled = true;
        button.textContent = 'Creating…';
      }
      let qr;
      let image;
      try {
        qr = await post('/api/pairing/qr');
        // The image needs the bearer token, so it is fetched here and shown from a blob URL.
        image = await bytes(qr.qr_svg);
      } catch (error) {
        const slot = h('div');
        idle(slot);
        showError(slot, error.status === 410
          ? { title: 'Code expired', detail: 'That code expired before it could be shown. Create a new one.' }
          : error);
        return;
      }
      release();
      objectUrl = URL.createObjectURL(new Blob([image.data], { type: 'image/svg+xml' }));
      const expires = qr.payload.expires * 1000;
      const lifetime = Math.max(1, expires - Date.now());
      const countdown = h('div', { class: 'countdown', id: 'qr-countdown', 'aria-live': 'off' });
      const remaining = h('div', { class: 'bar big', role: 'progressbar', 'aria-label': 'Time left', 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span'));
      const state = h('div', { id: 'qr-state', 'aria-live': 'polite' });
      const box = h('div', { class: 'qr' },
        h('figure', {},
          h('img', { src: objectUrl, alt: 'QR code to pair a client with this device', id: 'qr-image', width: 220, height: 220 })),
        h('div', { class: 'stack' },
          h('div', {}, h('div', { class: 'muted' }, 'Expires in'), countdown),
          remaining,
          state,
          h('div', { class: 'actions' }, h('button', { type: 'button', id: 'qr-new', onclick: create }, 'New code'))));
      qrSlot.replaceChildren(box,
        h('details', {},
          h('summary', {}, 'Pair without a camera (payload)'),
          h('p', { class: 'hint' }, 'Paste this into a client that cannot scan. It holds a one-time secret: do not share it.'),
          h('pre', { class: 'payload', id: 'qr-payload' }, JSON.stringify(qr.payload))));

      const update = () => {
        const left = Math.max(0, expires - Date.now());
        const seconds = Math.ceil(left / 1000);
        countdown.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
        remaining.firstChild.style.width = `${(left / lifetime) * 100}%`;
        remaining.setAttribute('aria-valuenow', String(Math.round((left / lifetime) * 100)));
        if (left <= 0) {
          clearInterval(tick);
          box.classList.add('expired');
          countdown.textContent = 'Expired';
          state.replaceChildren(message('warn', 'This code has expired', 'It can no longer pair a device. Create a new code.'));
          qrSlot.querySelector('#qr-image').alt = 'Expired QR code';
          qrSlot.querySelector('#qr-new').focus();
        }
      };
      update();
      tick = setInterval(update, 250);
      qrSlot.querySelector('#qr-new').focus();
    }

    idle();

    // ---- the paired clients ----
    const draw = (devices) => {
      const clients = devices.filter((d) => d.kind === 'client')
        .sort((a, b) => Number(a.revoked) - Number(b.revoked) || new Date(b.paired_at) - new Date(a.paired_at));
      if (clients.length === 0) {
        listSlot.replaceChildren(h('p', { class: 'empty' }, 'No client is paired yet. Show a code and scan it with the app.'));
        return;
      }
      listSlot.replaceChildren(h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Name', 'Status', 'Last seen', 'Paired', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, clients.map((c) => h('tr', { dataset: { device: c.device_id }, class: c.revoked ? 'gone' : null },
          h('td', { 'data-label': 'Name' }, h('strong', {}, c.name), h('div', { class: 'muted mono' }, `${c.role} · ${c.device_id}`)),
          h('td', { 'data-label': 'Status', class: 'status' }, c.revoked ? badge('revoked') : badge(c.online ? 'online' : 'offline')),
          h('td', { 'data-label': 'Last seen', class: 'seen', dataset: { seen: c.last_seen ?? '' } }, c.online ? 'now' : ago(c.last_seen)),
          h('td', { 'data-label': 'Paired' }, formatTime(c.paired_at)),
          h('td', {}, c.revoked ? null : h('button', {
            type: 'button', class: 'danger small', 'aria-label': `Revoke ${c.name}`, onclick: () => revoke(c),
          }, 'Revoke')))))));
    };

    const load = async () => {
      try {
        draw((await get('/api/devices')).devices);
        listStatus.replaceChildren();
      } catch (error) {
        showError(listStatus, error);
      }
    };

    async function revoke(client) {
      const sure = await confirmDialog({
        title: `Revoke ${client.name}?`,
        text: 'Its key stops working at once and its open connections close. To use it again, pair it again.',
        confirm: 'Revoke',
      });
      if (!sure) return;
      try {
        await del(`/api/devices/${encodeURIComponent(client.device_id)}`);
        toast(`${client.name} revoked`);
        await load();
      } catch (error) {
        showError(listStatus, error);
      }
    }

    await load();
    const refresh = throttle(load, 300);
    ctx.on('devices', (data) => {
      if (data.kind === 'client' && data.change === 'paired') {
        toast(`${data.name} paired`);
        const state = qrSlot.querySelector('#qr-state');
        state?.replaceChildren(message('ok', `${data.name} paired with this device`, 'Each code pairs one device; create a new code for the next one.'));
      }
      if (!data.kind || data.kind === 'client') refresh();
    });
    ctx.onReconnect(refresh);
    ctx.every(5000, () => listSlot.querySelectorAll('td.seen').forEach((td) => {
      if (td.textContent !== 'now') td.textContent = ago(td.dataset.seen);
    }));
  },
};
