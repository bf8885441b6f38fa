// The live channel (SPEC §6): one WebSocket to /ws, authenticated with the owner's token in the first message,
// subscribed to the devices and scans topics. It reconnects with backoff and jitter; after every (re)connect
// it says "connected", and the page re-fetches what it shows instead of replaying a gap it cannot see.

export const TOPICS = ['devices', 'scans'];

export class Live extends EventTarget {
  #socket = null;
  #attempt = 0;
  #timer = 0;
  #stopped = true;
  #tokenSource;
  state = 'offline';

  constructor(tokenSource) {
    super();
    this.#tokenSource = tokenSource;
  }

  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, 'signed out');
    }
    this.#setState('offline');
  }

  /** Listens to one topic's events (data only); returns the function that stops listening. */
  on(topic, handler) {
    const listener = (e) => handler(e.detail.data, e.detail);
    this.addEventListener(`event:${topic}`, listener);
    return () => this.removeEventListener(`event:${topic}`, listener);
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  #connect() {
    const token = this.#tokenSource();
    if (!token) {
      this.#setState('offline');
      return;
    }
    if (this.state !== 'reconnecting') this.#setState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/ws`);
    } catch {
      this.#retry();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', access_token: token }));
    socket.onmessage = (message) => this.#receive(socket, message);
    socket.onclose = (closed) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (closed.code === 4401 || closed.code === 4403) {
        this.#setState('offline');
        this.dispatchEvent(new CustomEvent('unauthenticated'));
        return;
      }
      this.#retry();
    };
  }

  #receive(socket, message) {
    let msg;
    try {
      msg = JSON.parse(message.data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'welcome':
        socket.send(JSON.stringify({ type: 'subscribe', topics: TOPICS }));
        break;
      case 'subscribed':
        this.#attempt = 0;
        this.#setState('live');
        this.dispatchEvent(new CustomEvent('connected'));
        break;
      case 'event': {
        let data = msg.data;
        if (typeof data === 'string') {
          try { data = JSON.parse(data); } catch { /* leave as text */ }
        }
        this.dispatchEvent(new CustomEvent(`event:${msg.topic}`, { detail: { ...msg, data } }));
        break;
      }
      case 'resync_required':
        this.dispatchEvent(new CustomEvent('connected'));
        break;
      default:
        break;
    }
  }

  #retry() {
    if (this.#stopped) return;
    this.#setState('reconnecting');
    const base = Math.min(10_000, 500 * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 10);
    // Jitter, so a node that restarts is not met by every open tab at the same instant.
    this.#timer = setTimeout(() => this.#connect(), base / 2 + Math.random() * base / 2);
  }
}
