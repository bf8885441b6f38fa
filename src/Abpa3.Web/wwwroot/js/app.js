// The owner's web UI: a hash router over a few pages, the session, and the live channel.
// Plain ES modules served by the node itself: no build step, no framework, nothing from the internet.

import { get, session, AUTH_EXPIRED } from './api.js';
import { Live } from './live.js';
import { h, message, toast } from './ui.js';
import setup from './pages/setup.js';
import login from './pages/login.js';
import dashboard from './pages/dashboard.js';
import clients from './pages/clients.js';
import devices from './pages/devices.js';
import scans from './pages/scans.js';

const pages = { setup, login, dashboard, clients, devices, scans };
const view = document.getElementById('view');
const live = new Live(() => session.token);

let info = null;
let current = null;
let routing = 0;
let notice = null;
let firstLoad = true;

/** What a page gets: the device, the live channel, navigation, and cleanup that runs when the page is left. */
class PageContext {
  #cleanups = [];

  constructor(params) {
    this.params = params;
    this.live = live;
  }

  get info() { return info; }

  async refreshInfo() {
    info = await get('/api/devices/info', { anonymous: true });
    showDevice();
    return info;
  }

  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  signedIn(token, expiresIn) {
    session.save(token, expiresIn);
    live.start();
  }

  /** A live topic handler, removed when the page is left. */
  on(topic, handler) { this.#cleanups.push(live.on(topic, handler)); }

  /** Called after every (re)connect of the live channel: re-fetch what the page shows. */
  onReconnect(handler) {
    live.addEventListener('connected', handler);
    this.#cleanups.push(() => live.removeEventListener('connected', handler));
  }

  every(ms, fn) {
    const id = setInterval(fn, ms);
    this.#cleanups.push(() => clearInterval(id));
  }

  later(fn) { this.#cleanups.push(fn); }

  dispose() {
    this.#cleanups.splice(0).forEach((fn) => {
      try { fn(); } catch { /* leaving anyway */ }
    });
  }
}

function showDevice() {
  document.getElementById('device-name').textContent = info ? `${info.name} · ${info.state}` : '';
}

function signOut(text) {
  session.clear();
  live.stop();
  notice = text;
  location.hash = '#/login';
  route();
}

async function route() {
  const ticket = ++routing;
  current?.dispose();
  current = null;

  const [name = '', ...params] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  try {
    info = await get('/api/devices/info', { anonymous: true });
  } catch (error) {
    if (ticket !== routing) return;
    renderUnreachable(error);
    return;
  }
  if (ticket !== routing) return;
  showDevice();

  let target = name;
  if (info.state === 'unconfigured') target = 'setup';
  else if (!session.token) target = 'login';
  else if (target === 'setup' || target === 'login' || !pages[target]) target = 'dashboard';
  if (target !== name) history.replaceState(null, '', `#/${target}`);

  const signedIn = Boolean(session.token) && info.state !== 'unconfigured';
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.route === target) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (signedIn) live.start();

  const page = pages[target];
  const context = new PageContext(target === name ? params : []);
  current = context;
  document.title = `${page.title} · ${info.name} · ABPA3 Mesh`;
  document.body.dataset.page = target;
  view.replaceChildren();
  if (notice) {
    view.append(message('info', null, notice));
    notice = null;
  }
  try {
    await page.render(view, context);
  } catch (error) {
    if (ticket === routing) view.append(message('error', error.title || 'This page could not be shown', error.detail || error.message));
  }
  // Focus moves to the new page's heading, so keyboard and screen-reader users start at the top of it.
  // (unless the page put it on its first field already). Not on the first load: there the skip link comes first.
  if (ticket === routing && !firstLoad && !view.contains(document.activeElement)) view.querySelector('h1')?.focus({ preventScroll: true });
  firstLoad = false;
}

function renderUnreachable(error) {
  document.getElementById('nav').hidden = true;
  view.replaceChildren(
    h('section', { class: 'card narrow' },
      h('h1', { tabindex: -1 }, 'Cannot reach the device'),
      message('error', error.title || 'Network error', error.detail || 'The device did not answer.'),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => route() }, 'Try again'))));
  view.querySelector('h1').focus();
}

const liveText = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline' };
live.addEventListener('state', (e) => {
  document.getElementById('live').dataset.state = e.detail === 'reconnecting' ? 'connecting' : e.detail;
  document.getElementById('live-text').textContent = liveText[e.detail] || e.detail;
});
live.addEventListener('unauthenticated', () => signOut('Your session has ended; sign in again.'));
window.addEventListener(AUTH_EXPIRED, () => signOut('Your session has ended; sign in again.'));
document.getElementById('logout').addEventListener('click', () => {
  signOut('Signed out. The token is forgotten by this tab.');
  toast('Signed out');
});
// The skip link moves focus to the page; it must not become a route.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  view.focus();
});
window.addEventListener('hashchange', route);
// A failure nobody caught still ends as a message on the page, never as a blank one.
window.addEventListener('unhandledrejection', (e) => {
  toast(e.reason?.detail || e.reason?.message || 'Something went wrong; try again.');
});
route();
