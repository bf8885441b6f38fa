// The node's HTTP API, as the UI uses it: JSON in and out, the owner's bearer token, and every failure turned
// into an ApiError a person can read (RFC 7807 title/detail, field errors, or a network error).

const TOKEN = 'abpa3.access_token';
const EXPIRES = 'abpa3.expires_at';

/**
 * The owner's access token lives in sessionStorage: it survives a reload of this tab, is gone when the tab
 * closes, and is never sent automatically with a request (no cookie, so no CSRF). docs/DECISIONS.md says why.
 */
export const session = {
  get token() {
    const expires = Number(sessionStorage.getItem(EXPIRES) || 0);
    if (expires && Date.now() > expires) {
      this.clear();
      return null;
    }
    return sessionStorage.getItem(TOKEN);
  },
  save(token, expiresIn) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(EXPIRES, String(Date.now() + Math.max(0, expiresIn - 5) * 1000));
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(EXPIRES);
  },
};

export class ApiError extends Error {
  constructor(status, title, detail, fields = null, retryAfter = null) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  get isNetwork() { return this.status === 0; }
}

const fallback = {
  400: ['Bad request', 'The node could not read this request.'],
  401: ['Not signed in', 'Sign in again to continue.'],
  403: ['Not allowed', 'This account may not do that.'],
  404: ['Not found', 'The node does not know this item (it may have been removed).'],
  409: ['Not possible now', 'The device is not in a state that allows this.'],
  410: ['Expired', 'This code has expired or was already used.'],
  413: ['Too large', 'The request is too large.'],
  422: ['Check the form', 'One or more fields are missing or not acceptable.'],
  429: ['Too many attempts', 'Wait a moment and try again.'],
  502: ['Device not reachable', 'The other device did not answer as a mesh device.'],
  503: ['Node busy', 'The node did not answer in time; try again.'],
  504: ['No answer', 'The other device did not answer in time.'],
};

/** Fired on window when a request with a token comes back 401: the session has ended. */
export const AUTH_EXPIRED = 'abpa3:auth-expired';

async function problem(response) {
  let body = null;
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try { body = await response.json(); } catch { body = null; }
  }
  const [title, detail] = fallback[response.status] || [`Error ${response.status}`, 'The node could not complete this request.'];
  const retry = Number(response.headers.get('retry-after'));
  let text = body?.detail || detail;
  if (response.status >= 500 && response.status !== 502 && response.status !== 503 && response.status !== 504) {
    text = 'The node could not complete this request. Try again; if it keeps happening, restart the device.';
  }
  if (response.status === 429 && retry > 0) text = `${text.replace(/\.?$/, '.')} Try again in ${retry} s.`;
  return new ApiError(response.status, body?.title || title, text, body?.errors || null, retry > 0 ? retry : null);
}

/**
 * Calls the API. Returns parsed JSON (or the Response with raw: true); throws ApiError.
 * A network failure becomes status 0 with a plain explanation, never an unhandled TypeError.
 */
export async function api(method, path, body, { raw = false, signal, anonymous = false } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = anonymous ? null : session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'Cannot reach the node',
      'The request did not get through (network error). Check that this device is on and reachable, then try again.');
  }
  if (!response.ok) {
    const error = await problem(response);
    if (response.status === 401 && token) window.dispatchEvent(new CustomEvent(AUTH_EXPIRED));
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    throw new ApiError(response.status, 'Unexpected answer', 'The node sent an answer this page cannot read. Reload the page.');
  }
}

/** The bytes of a binary resource (QR image, scan data), fetched with the token. */
export async function bytes(path, options = {}) {
  const response = await api('GET', path, undefined, { ...options, raw: true });
  return { response, data: new Uint8Array(await response.arrayBuffer()) };
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body = {}, options) => api('POST', path, body, options);
export const del = (path, options) => api('DELETE', path, undefined, options);
