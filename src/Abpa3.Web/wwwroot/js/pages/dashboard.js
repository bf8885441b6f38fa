// The device at a glance: its identity, state, role and certificate, and the mesh around it, kept live.

import { get } from '../api.js';
import { h, badge, fingerprint, message, roleOf, ago, throttle } from '../ui.js';

export default {
  title: 'Dashboard',
  async render(view, ctx) {
    const identity = h('section', { class: 'card', 'aria-labelledby': 'identity-title' });
    const mesh = h('div', { class: 'grid' });
    view.append(
      h('div', { class: 'page-head' },
        h('div', {}, h('h1', { tabindex: -1 }, 'Dashboard'), h('p', { class: 'muted' }, 'This device and the mesh around it, live.'))),
      identity, mesh);

    const drawIdentity = () => {
      const info = ctx.info;
      const role = roleOf(info);
      identity.replaceChildren(
        h('h2', { id: 'identity-title' }, 'This device'),
        h('dl', { class: 'facts', id: 'identity' },
          h('dt', {}, 'Name'), h('dd', { dataset: { field: 'name' } }, info.name),
          h('dt', {}, 'State'), h('dd', { dataset: { field: 'state' } }, badge(info.state)),
          h('dt', {}, 'Role'), h('dd', { dataset: { field: 'role' } }, badge(role, role === 'manager' ? 'manager' : 'sensor')),
          info.manager_device_id && [h('dt', {}, 'Manager'), h('dd', { class: 'mono' }, info.manager_device_id)],
          h('dt', {}, 'Device id'), h('dd', { class: 'mono', dataset: { field: 'device_id' } }, info.device_id),
          h('dt', {}, 'Serial number'), h('dd', { class: 'mono' }, info.serial_number),
          h('dt', {}, 'Address'), h('dd', { class: 'mono' }, `${info.ip_address || location.hostname} (${location.host})`),
          h('dt', {}, 'Certificate SHA-256'), h('dd', { dataset: { field: 'cert' } }, fingerprint(info.cert_sha256))));
    };

    const drawMesh = async () => {
      let devices;
      let scans = null;
      try {
        devices = (await get('/api/devices')).devices;
        scans = (await get('/api/scans')).scans;
      } catch (error) {
        if (!devices) {
          mesh.replaceChildren(message('error', error.title, error.detail));
          return;
        }
      }
      const peers = devices.filter((d) => d.kind !== 'client' && !d.revoked);
      const clients = devices.filter((d) => d.kind === 'client' && !d.revoked);
      const running = scans?.filter((s) => s.state === 'running' || s.state === 'paused') ?? [];
      const last = scans?.slice().sort((a, b) => new Date(b.started_at) - new Date(a.started_at))[0];
      mesh.replaceChildren(
        h('section', { class: 'card', id: 'summary-devices' },
          h('h2', {}, 'Paired devices'),
          h('div', { class: 'stat' }, `${peers.filter((d) => d.online).length} / ${peers.length}`),
          h('p', { class: 'muted' }, 'online'),
          peers.slice(0, 5).map((d) => h('div', {}, badge(d.online ? 'online' : 'offline'), ' ', d.name, h('span', { class: 'muted' }, ` · ${d.role}`))),
          h('p', {}, h('a', { href: '#/devices' }, 'Pair or manage devices'))),
        h('section', { class: 'card', id: 'summary-clients' },
          h('h2', {}, 'Phones and browsers'),
          h('div', { class: 'stat' }, `${clients.filter((d) => d.online).length} / ${clients.length}`),
          h('p', { class: 'muted' }, 'connected'),
          clients.slice(0, 5).map((d) => h('div', {}, badge(d.online ? 'online' : 'offline'), ' ', d.name, h('span', { class: 'muted' }, ` · ${ago(d.last_seen)}`))),
          h('p', {}, h('a', { href: '#/clients' }, 'Pair a phone'))),
        h('section', { class: 'card', id: 'summary-scans' },
          h('h2', {}, 'Scans'),
          scans === null
            ? h('p', { class: 'muted' }, 'Scans could not be listed right now.')
            : [
              h('div', { class: 'stat' }, String(running.length)),
              h('p', { class: 'muted' }, 'running'),
              last && h('div', {}, 'Last: ', h('a', { href: `#/scans/${last.scan_id}` }, last.scan_id), ' ', badge(last.state)),
            ],
          h('p', {}, h('a', { href: '#/scans' }, ctx.info.is_manager ? 'Start a scan' : 'Scans'))));
    };

    drawIdentity();
    await drawMesh();
    const refresh = throttle(async () => {
      try {
        await ctx.refreshInfo();
        drawIdentity();
      } catch { /* the mesh cards say what failed */ }
      await drawMesh();
    }, 500);
    ctx.on('devices', refresh);
    ctx.on('scans', (data) => {
      if (['started', 'completed', 'cancelled', 'paused', 'resumed'].includes(data.change)) refresh();
    });
    ctx.onReconnect(refresh);
  },
};
