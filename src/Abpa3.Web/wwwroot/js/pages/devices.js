// Pairing another device by address (seed 004): discover → check its details → its setup code → pair; and the
// paired devices with live online/offline badges from the devices topic.

import { get, post, del } from '../api.js';
import { h, badge, field, fingerprint, message, showError, clearErrors, toast, confirmDialog, ago, formatTime, throttle } from '../ui.js';

export default {
  title: 'Devices',
  async render(view, ctx) {
    const pairSlot = h('div', { id: 'pair-area' });
    const listSlot = h('div', { id: 'device-list' });
    const listStatus = h('div', { 'aria-live': 'polite' });
    view.append(
      h('div', { class: 'page-head' },
        h('div', {}, h('h1', { tabindex: -1 }, 'Devices'),
          h('p', { class: 'muted' }, 'Pair sensors with this device by their address and the setup code on their console.'))),
      h('section', { class: 'card', 'aria-labelledby': 'pair-title' }, h('h2', { id: 'pair-title' }, 'Pair a device'), pairSlot),
      h('section', { class: 'card', 'aria-labelledby': 'peers-title' },
        h('h2', { id: 'peers-title' }, 'Paired devices'), listStatus, listSlot),
      h('section', { class: 'card', 'aria-labelledby': 'unlock-title' },
        h('h2', { id: 'unlock-title' }, 'Pairing lock'),
        h('p', { class: 'muted' }, 'After too many wrong setup codes this device refuses to be paired until it restarts or you unlock it.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'unlock', onclick: unlock }, 'Unlock pairing on this device')),
        h('div', { id: 'unlock-status', 'aria-live': 'polite' })));

    async function unlock() {
      const slot = view.querySelector('#unlock-status');
      try {
        await post('/api/devices/pair/unlock');
        slot.replaceChildren(message('ok', 'Unlocked', 'This device accepts pairing again.'));
      } catch (error) {
        showError(slot, error);
      }
    }

    // ---- step 1: the address ----
    const findForm = h('form', { novalidate: true, id: 'discover-form' },
      h('div', { class: 'field' },
        h('label', { for: 'ip_address' }, 'Device address'),
        h('div', { class: 'inline' },
          h('input', { id: 'ip_address', name: 'ip_address', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: '192.168.1.11 or 192.168.1.11:8000', 'aria-describedby': 'ip-hint' }),
          h('button', { type: 'submit', id: 'discover' }, 'Find device')),
        h('div', { class: 'hint', id: 'ip-hint' }, 'The IP address (and port, if not 8000) the device shows on its console.')));
    const findStatus = h('div', { 'aria-live': 'polite', id: 'discover-status' });
    const found = h('div', { id: 'discovered' });

    if (ctx.info.manager_device_id) {
      pairSlot.append(message('info', 'This device is a sensor',
        `It belongs to its manager (${ctx.info.manager_device_id}); other devices are paired from there.`));
    } else {
      pairSlot.append(findForm, findStatus, found);
    }

    findForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(findForm);
      findStatus.replaceChildren();
      found.replaceChildren();
      const address = findForm.elements.ip_address.value.trim();
      if (!address) {
        showError(findStatus, { title: 'Enter an address', fields: { ip_address: ['Enter the device\'s IP address, e.g. 192.168.1.11.'] } }, findForm);
        return;
      }
      const button = findForm.querySelector('#discover');
      button.disabled = true;
      button.textContent = 'Looking…';
      findStatus.replaceChildren(message('info', null, `Contacting ${address}…`));
      try {
        const result = await post('/api/devices/discover/manual', { ip_address: address });
        findStatus.replaceChildren();
        showDiscovered(address, result);
      } catch (error) {
        if (error.status === 422) showError(findStatus, { title: 'Not a valid address', fields: error.fields }, findForm);
        else if (error.status === 502) showError(findStatus, { title: 'Device not reachable', detail: `${error.detail}. Check the address and that the device is on.` });
        else if (error.status === 504) showError(findStatus, { title: 'No answer', detail: `${address} did not answer in time. Check the address and that the device is on this network.` });
        else showError(findStatus, error);
      } finally {
        button.disabled = false;
        button.textContent = 'Find device';
      }
    });

    // ---- step 2: the device found, and its setup code ----
    function showDiscovered(address, result) {
      const d = result.device;
      const details = h('div', { class: 'card', id: 'device-details' },
        h('h3', {}, d.name, ' ', badge(d.state), d.is_manager ? [' ', badge('manager')] : null),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Device id'), h('dd', { class: 'mono' }, d.device_id),
          h('dt', {}, 'Serial'), h('dd', { class: 'mono' }, d.serial_number),
          h('dt', {}, 'Address'), h('dd', { class: 'mono' }, address),
          h('dt', {}, 'Certificate'), h('dd', {}, fingerprint(d.cert_sha256)),
          d.manager_device_id && [h('dt', {}, 'Manager'), h('dd', { class: 'mono' }, d.manager_device_id)]));
      found.replaceChildren(details);
      if (!result.can_pair) {
        const already = /already|paired|manager/i.test(result.reason || '');
        details.append(message('warn', already ? 'Already paired' : 'Cannot pair this device', result.reason || 'This device cannot be paired from here.'));
        return;
      }
      if (d.manager_device_id && d.manager_device_id === ctx.info.device_id) {
        details.append(message('info', 'Already paired with this device', 'Pairing it again renews the keys of its link.'));
      }
      const slot = h('div', { 'aria-live': 'polite', id: 'pair-status' });
      const pairForm = h('form', { novalidate: true, id: 'pair-form' },
        field('setup_code', 'Setup code of this device', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 16 },
          `The 8 digits printed on ${d.name}'s console. Compare the certificate above with the one it shows.`),
        slot,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', id: 'pair' }, `Pair ${d.name}`),
          h('button', { type: 'button', class: 'secondary', onclick: () => found.replaceChildren() }, 'Cancel')));
      details.append(pairForm);
      pairForm.elements.setup_code.focus();
      pairForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors(pairForm);
        slot.replaceChildren();
        const code = pairForm.elements.setup_code.value.replace(/[\s-]/g, '');
        if (!/^\d{8}$/.test(code)) {
          showError(slot, { title: 'Check the setup code', fields: { setup_code: ['The setup code is 8 digits.'] } }, pairForm);
          return;
        }
        const button = pairForm.querySelector('#pair');
        button.disabled = true;
        button.textContent = 'Pairing…';
        try {
          const response = await post('/api/devices/pair/initiate', { target_ip: address, setup_code: code });
          if (response.status === 'pending') {
            found.replaceChildren(message('info', 'Pairing is completing', response.detail || 'The device will appear below once it confirms over the link.'));
          } else {
            found.replaceChildren(message('ok', `Paired ${response.device.name}`, `${response.device.name} is now a sensor of this device.`));
            toast(`${response.device.name} paired`);
          }
          findForm.reset();
          await ctx.refreshInfo();
          await load();
        } catch (error) {
          if (error.status === 403) {
            const locked = /\blocked\b/i.test(error.detail || '');
            showError(slot, { title: locked ? 'Pairing locked' : 'Wrong setup code', detail: error.detail }, pairForm);
            pairForm.elements.setup_code.setAttribute('aria-invalid', 'true');
            pairForm.elements.setup_code.select();
          } else if (error.status === 409) {
            const locked = /\blocked\b/i.test(error.detail || '');
            showError(slot, { title: locked ? 'Pairing locked' : 'Cannot pair', detail: error.detail });
          } else if (error.status === 502 || error.status === 504) {
            showError(slot, { title: 'Device not reachable', detail: error.detail });
          } else {
            showError(slot, error, pairForm);
          }
        } finally {
          button.disabled = false;
          button.textContent = `Pair ${d.name}`;
        }
      });
    }

    // ---- the paired devices ----
    let peers = [];
    const seenText = (p) => (p.online && !p.revoked ? 'now' : ago(p.last_seen));
    const statusOf = (p) => (p.revoked ? 'revoked' : p.kind === 'peer-pending' ? 'pending' : p.online ? 'online' : 'offline');
    const draw = () => {
      if (peers.length === 0) {
        listSlot.replaceChildren(h('p', { class: 'empty' }, 'No device is paired yet. Enter a sensor\'s address above.'));
        return;
      }
      listSlot.replaceChildren(h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Name', 'Role', 'Status', 'Last seen', 'Paired', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, peers.map((p) => h('tr', { dataset: { device: p.device_id }, class: p.revoked ? 'gone' : null },
          h('td', { 'data-label': 'Name' }, h('strong', {}, p.name), h('div', { class: 'muted mono' }, p.device_id)),
          h('td', { 'data-label': 'Role' }, badge(p.role, p.role === 'manager' ? 'manager' : 'sensor')),
          h('td', { 'data-label': 'Status', class: 'status' }, badge(statusOf(p))),
          h('td', { 'data-label': 'Last seen', class: 'seen' }, seenText(p)),
          h('td', { 'data-label': 'Paired' }, formatTime(p.paired_at)),
          h('td', {}, p.revoked ? null : h('button', {
            type: 'button', class: 'danger small', 'aria-label': `Unpair ${p.name}`, onclick: () => unpair(p),
          }, 'Unpair')))))));
    };

    /** Updates one row in place (keeps keyboard focus where it is). */
    const patch = (p) => {
      const row = listSlot.querySelector(`tr[data-device="${CSS.escape(p.device_id)}"]`);
      if (!row) return;
      const status = statusOf(p);
      const cell = row.querySelector('td.status');
      if (cell.textContent !== status) cell.replaceChildren(badge(status));
      row.querySelector('td.seen').textContent = seenText(p);
    };

    const load = async () => {
      try {
        peers = (await get('/api/devices')).devices.filter((d) => d.kind !== 'client')
          .sort((a, b) => Number(a.revoked) - Number(b.revoked) || a.name.localeCompare(b.name));
        listStatus.replaceChildren();
        draw();
      } catch (error) {
        showError(listStatus, error);
      }
    };

    async function unpair(peer) {
      const sure = await confirmDialog({
        title: `Unpair ${peer.name}?`,
        text: 'Its link is cut at once and its certificate and keys are refused from then on. Pairing it again needs its setup code.',
        confirm: 'Unpair',
      });
      if (!sure) return;
      try {
        await del(`/api/devices/${encodeURIComponent(peer.device_id)}`);
        toast(`${peer.name} unpaired`);
        await load();
      } catch (error) {
        showError(listStatus, error);
      }
    }

    await load();
    const refresh = throttle(load, 300);
    ctx.on('devices', (data) => {
      const peer = peers.find((p) => p.device_id === data.device_id);
      if (peer && (data.change === 'online' || data.change === 'offline')) {
        // Presence is applied in place at once; the row does not wait for a refetch.
        peer.online = data.change === 'online';
        if (data.last_seen) peer.last_seen = data.last_seen;
        patch(peer);
        return;
      }
      if (data.kind && data.kind !== 'client') refresh();
    });
    ctx.onReconnect(refresh);
    ctx.every(5000, () => peers.forEach(patch));
  },
};
