// Scans on a manager (SPEC §7): choose sensors and parameters and start one; watch it live (overall and per
// sensor, segments moving when a sensor drops out, the heatmap filling in); cancel it; browse past scans.

import { get, post, bytes } from '../api.js';
import { h, set, badge, bar, message, showError, clearErrors, confirmDialog, formatTime, percent, throttle, toast } from '../ui.js';
import { draw as drawHeatmap, rowMask, legend } from '../heatmap.js';

const defaults = { width: 64, height: 64, segments: 8, seed: 1, rows_per_second: 200 };
const finished = (state) => state === 'completed' || state === 'cancelled' || state === 'failed';

async function sensorNames() {
  try {
    const devices = (await get('/api/devices')).devices;
    return devices.filter((d) => d.kind !== 'client');
  } catch {
    return [];
  }
}

export default {
  title: 'Scans',
  render(view, ctx) {
    return ctx.params[0] ? detail(view, ctx, ctx.params[0]) : overview(view, ctx);
  },
};

// ---------------------------------------------------------------- the list and the form

async function overview(view, ctx) {
  const formSlot = h('div', { id: 'new-scan' });
  const listStatus = h('div', { 'aria-live': 'polite' });
  const listSlot = h('div', { id: 'scan-list' });
  view.append(
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { tabindex: -1 }, 'Scans'),
        h('p', { class: 'muted' }, 'A scan is split into segments shared among the chosen sensors; if one drops out, its segments move to the others.'))),
    h('section', { class: 'card', 'aria-labelledby': 'new-scan-title' }, h('h2', { id: 'new-scan-title' }, 'New scan'), formSlot),
    h('section', { class: 'card', 'aria-labelledby': 'past-title' }, h('h2', { id: 'past-title' }, 'Scans on this device'), listStatus, listSlot));

  // ---- the form ----
  let peers = [];
  const sensorBox = h('fieldset', { id: 'sensor-choice' }, h('legend', {}, 'Sensors'));
  const drawSensors = () => {
    const checked = new Set([...sensorBox.querySelectorAll('input:checked')].map((i) => i.value));
    const first = sensorBox.querySelectorAll('input').length === 0;
    const sensors = peers.filter((p) => p.role === 'sensor' && p.kind === 'peer' && !p.revoked);
    // At first the online sensors are ticked (all of them if none is online).
    const anyOnline = sensors.some((s) => s.online);
    set(sensorBox, h('legend', {}, 'Sensors'),
      sensors.length === 0
        ? h('p', { class: 'muted' }, 'No sensor is paired yet. ', h('a', { href: '#/devices' }, 'Pair one on the Devices page.'))
        : sensors.map((s) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', name: 'sensor', value: s.device_id, checked: first ? s.online || !anyOnline : checked.has(s.device_id) }),
          s.name, ' ', badge(s.online ? 'online' : 'offline'))));
  };
  const number = (name, label, attrs) => h('div', { class: 'field' },
    h('label', { for: name }, label),
    h('input', { id: name, name, type: 'number', value: defaults[name], required: true, ...attrs }));
  const formStatus = h('div', { 'aria-live': 'polite', id: 'start-status' });
  const form = h('form', { novalidate: true, id: 'scan-form' },
    sensorBox,
    h('div', { class: 'params' },
      number('width', 'Width', { min: 1, max: 1024 }),
      number('height', 'Height', { min: 1, max: 1024 }),
      number('segments', 'Segments', { min: 1, max: 1024 }),
      number('seed', 'Seed', { step: 1 }),
      number('rows_per_second', 'Rows per second', { min: 0.1, step: 'any' })),
    h('p', { class: 'hint' }, 'The simulated sensor driver: the same parameters always give the same image, whatever fails on the way.'),
    formStatus,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'start-scan' }, 'Start scan')));

  const info = ctx.info;
  if (info.manager_device_id) {
    formSlot.append(message('info', 'This device is a sensor', 'Scans are started on its manager, which shares them among its sensors.'));
  } else {
    formSlot.append(form);
    if (!info.is_manager) {
      formStatus.append(message('info', 'No sensors yet', 'This device becomes a manager when it pairs its first sensor on the Devices page.'));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    formStatus.replaceChildren();
    const sensors = [...form.querySelectorAll('input[name="sensor"]:checked')].map((i) => i.value);
    if (form.querySelectorAll('input[name="sensor"]').length > 0 && sensors.length === 0) {
      showError(formStatus, { title: 'Choose sensors', detail: 'Tick at least one sensor to scan with.' });
      return;
    }
    const params = {};
    const problems = {};
    for (const name of Object.keys(defaults)) {
      const raw = form.elements[name].value.trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) problems[name] = ['Enter a number.'];
      else params[name] = value;
    }
    if (Object.keys(problems).length) {
      showError(formStatus, { title: 'Check the parameters', fields: problems }, form);
      return;
    }
    const button = form.querySelector('#start-scan');
    button.disabled = true;
    try {
      const started = await post('/api/scans', sensors.length ? { sensors, params } : { params });
      toast('Scan started');
      ctx.navigate(`#/scans/${started.scan_id}`);
    } catch (error) {
      showError(formStatus, error, form);
    } finally {
      button.disabled = false;
    }
  });

  // ---- the list ----
  const thumbs = new Map();
  const drawList = (scans) => {
    if (scans.length === 0) {
      listSlot.replaceChildren(h('p', { class: 'empty' }, 'No scan yet.'));
      return;
    }
    scans.sort((a, b) => new Date(b.started_at) - new Date(a.started_at));
    listSlot.replaceChildren(h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Result', 'Scan', 'Started', 'Size', 'Sensors', 'State', 'Progress'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, scans.map((s) => h('tr', { dataset: { scan: s.scan_id } },
        h('td', { 'data-label': 'Result' }, thumbnail(s)),
        h('td', { 'data-label': 'Scan' }, h('a', { class: 'row-link mono', href: `#/scans/${s.scan_id}` }, s.scan_id)),
        h('td', { 'data-label': 'Started' }, formatTime(s.started_at)),
        h('td', { 'data-label': 'Size' }, `${s.params.width} × ${s.params.height}`),
        h('td', { 'data-label': 'Sensors' }, String(s.sensors.length)),
        h('td', { 'data-label': 'State', class: 'state' }, badge(s.state)),
        h('td', { 'data-label': 'Progress' }, bar(s.progress, `Progress of ${s.scan_id}`, s.state === 'completed' ? 'done' : s.state)))))));
  };

  // The latest completed scans show their result as a thumbnail (each fetched once).
  let thumbnailBudget = 0;
  const thumbnail = (scan) => {
    if (scan.state !== 'completed') return h('span', { class: 'muted' }, '—');
    if (thumbs.has(scan.scan_id)) return thumbs.get(scan.scan_id);
    if (thumbnailBudget++ >= 12) return h('span', { class: 'muted' }, '—');
    const canvas = h('canvas', { class: 'thumb', role: 'img', 'aria-label': `Result of ${scan.scan_id}` });
    thumbs.set(scan.scan_id, canvas);
    bytes(`/api/scans/${scan.scan_id}/data`)
      .then(({ data }) => drawHeatmap(canvas, data, scan.params.width, scan.params.height))
      .catch(() => canvas.replaceWith(h('span', { class: 'muted' }, 'n/a')));
    return canvas;
  };

  const load = async () => {
    try {
      thumbnailBudget = 0;
      drawList((await get('/api/scans')).scans);
      listStatus.replaceChildren();
    } catch (error) {
      showError(listStatus, error);
    }
  };
  const loadSensors = async () => {
    peers = await sensorNames();
    drawSensors();
  };

  await Promise.all([load(), loadSensors()]);
  const refresh = throttle(load, 400);
  const refreshSensors = throttle(loadSensors, 400);
  ctx.on('scans', refresh);
  ctx.on('devices', refreshSensors);
  ctx.onReconnect(() => {
    refresh();
    refreshSensors();
  });
}

// ---------------------------------------------------------------- one scan, live

async function detail(view, ctx, scanId) {
  const head = h('div', { class: 'page-head' });
  const progressCard = h('section', { class: 'card', 'aria-labelledby': 'progress-title' });
  const resultCard = h('section', { class: 'card', 'aria-labelledby': 'result-title' });
  const segmentsCard = h('section', { class: 'card', 'aria-labelledby': 'segments-title' });
  const log = h('ol', { class: 'log', id: 'scan-log', 'aria-live': 'polite' });
  const status = h('div', { 'aria-live': 'polite', id: 'scan-status' });
  const canvas = h('canvas', { class: 'heatmap', id: 'heatmap', role: 'img', 'aria-label': 'Scan result' });
  view.append(head, status,
    h('div', { class: 'cols' }, h('div', {}, progressCard, segmentsCard), resultCard),
    h('section', { class: 'card', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Activity'), log));

  let scan = null;
  let peers = await sensorNames();
  const nameOf = (id) => peers.find((p) => p.device_id === id)?.name ?? id ?? 'no sensor';
  const labelOf = (id) => (scan ? `S${scan.sensors.findIndex((s) => s.device_id === id) + 1}` : '?');

  const note = (text, kind = '') => {
    const time = new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    log.prepend(h('li', { class: kind }, h('time', {}, time), h('span', {}, text)));
    while (log.children.length > 80) log.lastChild.remove();
  };

  let headState = null;
  const drawHead = () => {
    // Redrawn only when the state changes, so the Cancel button keeps keyboard focus through live updates.
    if (headState === scan.state) return;
    headState = scan.state;
    const running = !finished(scan.state);
    set(head,
      h('div', {},
        h('p', { class: 'muted' }, h('a', { href: '#/scans' }, '← All scans')),
        h('h1', { tabindex: -1 }, 'Scan ', h('span', { class: 'mono' }, scan.scan_id), ' ', h('span', { id: 'scan-state' }, badge(scan.state)))),
      running ? h('button', { type: 'button', class: 'danger', id: 'cancel-scan', onclick: cancel }, 'Cancel scan') : null);
  };

  const drawProgress = () => {
    const done = scan.segments?.filter((s) => s.state === 'done').length ?? 0;
    const total = scan.params.segments;
    progressCard.replaceChildren(
      h('h2', { id: 'progress-title' }, 'Progress'),
      h('div', { class: 'stack' },
        h('div', { id: 'scan-progress' }, bar(scan.progress, 'Overall progress', scan.state === 'completed' ? 'done' : scan.state === 'paused' ? 'paused' : '')),
        h('p', { id: 'scan-summary' }, `${done} of ${total} segments · ${percent(scan.progress)}`,
          scan.state === 'paused' ? h('strong', {}, ' · paused: no sensor online') : null)),
      h('h3', {}, 'Sensors'),
      h('div', { id: 'scan-sensors' }, scan.sensors.map((s) => {
        const mine = s.segments_done + s.segments_assigned;
        return h('div', { class: 'sensor-row', dataset: { sensor: s.device_id } },
          h('span', {}, h('strong', {}, `${labelOf(s.device_id)} `), nameOf(s.device_id)),
          h('span', { class: 'presence' }, badge(s.online ? 'online' : 'offline')),
          bar(mine ? s.segments_done / mine : 0, `Progress of ${nameOf(s.device_id)}`, s.segments_assigned === 0 && s.segments_done > 0 ? 'done' : ''),
          h('span', { class: 'count' }, `${s.segments_done} / ${mine}`));
      })));
  };

  const drawSegments = () => {
    segmentsCard.replaceChildren(
      h('h2', { id: 'segments-title' }, 'Segments'),
      h('p', { class: 'hint' }, 'Each cell is a segment and the sensor it is assigned to; green ones are done.'),
      h('div', { class: 'segments', id: 'scan-segments' }, (scan.segments ?? []).map((s) => h('div', {
        class: `segment ${s.state}`,
        title: `Segment ${s.segment}: ${s.state}${s.sensor ? ` (${nameOf(s.sensor)})` : ''}`,
        dataset: { segment: s.segment, sensor: s.sensor ?? '', state: s.state },
      }, h('b', {}, `#${s.segment}`), s.sensor ? labelOf(s.sensor) : '–'))));
  };

  let resultReady = false;
  const drawResult = async () => {
    if (!resultReady) {
      resultCard.replaceChildren(
        h('h2', { id: 'result-title' }, 'Result'),
        h('div', { class: 'heatmap-wrap' }, canvas, h('div', {},
          legend(),
          h('p', { class: 'hint', id: 'result-caption' }),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', id: 'download', onclick: download }, 'Download raw bytes')))));
      resultReady = true;
    }
    const p = scan.params;
    resultCard.querySelector('#result-caption').textContent = `${p.width} × ${p.height} samples, ${p.segments} segments, seed ${p.seed}, ${p.rows_per_second} rows/s per sensor.`;
    resultCard.querySelector('#download').disabled = scan.state !== 'completed';
    try {
      const { data } = await bytes(`/api/scans/${scanId}/data?partial=true`);
      const mask = scan.state === 'completed' ? null : rowMask(p, scan.segments);
      drawHeatmap(canvas, data, p.width, p.height, mask);
      // Scaled up whole, within 420 px either way, keeping the grid's aspect ratio.
      const scale = Math.min(420 / p.width, 420 / p.height);
      canvas.style.width = `${Math.round(p.width * scale)}px`;
      const rows = mask ? mask.reduce((a, b) => a + b, 0) : p.height;
      canvas.dataset.rows = String(rows);
      canvas.setAttribute('aria-label', `Heatmap of scan ${scanId}: ${rows} of ${p.height} rows arrived`);
    } catch (error) {
      if (error.status !== 409) showError(status, error);
    }
  };

  async function download() {
    try {
      const { data } = await bytes(`/api/scans/${scanId}/data`);
      const link = h('a', { href: URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' })), download: `${scanId}-${scan.params.width}x${scan.params.height}.bin` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      showError(status, error);
    }
  }

  async function cancel() {
    const sure = await confirmDialog({ title: 'Cancel this scan?', text: 'Its sensors stop, and the result stays incomplete.', confirm: 'Cancel scan' });
    if (!sure) return;
    try {
      scan = await post(`/api/scans/${scanId}/cancel`);
      note('Cancelled by you', 'warn');
      drawAll();
    } catch (error) {
      showError(status, error);
    }
  }

  const drawAll = () => {
    drawHead();
    drawProgress();
    drawSegments();
    return drawResult();
  };

  const load = async () => {
    try {
      scan = await get(`/api/scans/${scanId}`);
      status.replaceChildren();
      await drawAll();
      return true;
    } catch (error) {
      if (!scan) {
        head.replaceChildren(h('div', {}, h('p', {}, h('a', { href: '#/scans' }, '← All scans')), h('h1', { tabindex: -1 }, 'Scan not available')));
        showError(status, error.status === 404 ? { title: 'No such scan', detail: 'This device has no scan with that id.' } : error);
      } else {
        showError(status, error);
      }
      return false;
    }
  };

  if (!await load()) return;
  note(`Opened: ${scan.segments.filter((s) => s.state === 'done').length} of ${scan.params.segments} segments done, ${scan.state}`);
  const refresh = throttle(load, 300);

  ctx.on('scans', (data) => {
    if (data.scan_id !== scanId) return;
    const seg = data.segment;
    switch (data.change) {
      case 'assigned': note(`Segment ${seg} → ${nameOf(data.sensor)}`); break;
      case 'segment': note(`Segment ${seg} done by ${nameOf(data.sensor)}`); break;
      case 'reassigned': note(`Segment ${seg} moved from ${nameOf(data.from)} to ${nameOf(data.sensor)}`, 'warn'); break;
      case 'unassigned': note(`Segment ${seg} waiting: ${nameOf(data.from)} is offline`, 'warn'); break;
      case 'paused': note('Paused: no sensor is online; it resumes when one is back', 'warn'); break;
      case 'resumed': note('Resumed'); break;
      case 'completed': note('Completed: every segment arrived'); toast('Scan completed'); break;
      case 'cancelled': note('Cancelled', 'warn'); break;
      default: note(`${data.change}`); break;
    }
    // The bar moves at once from the event; the rest follows from a refetch.
    if (scan && typeof data.progress === 'number') {
      scan.progress = data.progress;
      const overall = progressCard.querySelector('#scan-progress .bar');
      if (overall) {
        overall.firstChild.style.width = percent(data.progress);
        overall.setAttribute('aria-valuenow', String(Math.round(data.progress * 100)));
      }
    }
    refresh();
  });
  ctx.on('devices', (data) => {
    if (!scan?.sensors.some((s) => s.device_id === data.device_id)) return;
    if (data.change === 'offline') note(`${nameOf(data.device_id)} went offline`, 'bad');
    else if (data.change === 'online') note(`${nameOf(data.device_id)} is back online`);
    refresh();
  });
  ctx.onReconnect(async () => {
    peers = await sensorNames();
    refresh();
  });
  // Without the live channel (reconnecting), a running scan is still followed, more slowly.
  ctx.every(3000, () => {
    if (scan && !finished(scan.state) && ctx.live.state !== 'live') refresh();
  });
}
