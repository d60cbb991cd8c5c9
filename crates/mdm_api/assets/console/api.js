// The steward API over fetch: the bearer token lives in sessionStorage (gone when the tab
// closes) and only ever travels in the Authorization header, never in a URL.

const KEY = 'mdm.steward.token';

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export function signOut() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem('mdm.steward.who');
}

/** A failed request: HTTP status and the problem+json body when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? `${problem.title || 'Error'}: ${problem.detail}` : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function request(method, path, body, tok = token()) {
  const headers = { Accept: 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: 'the server did not answer' });
  }
  return res;
}

/** Calls the API and returns the JSON body; throws ApiError otherwise. A 401 signs out. */
export async function api(method, path, body, tok) {
  const res = await request(method, path, body, tok);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (!res.ok) {
    if (res.status === 401 && !tok) {
      signOut();
      window.dispatchEvent(new Event('mdm:signedout'));
    }
    throw new ApiError(res.status, json);
  }
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path, filename) {
  const res = await request('GET', path);
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Path segment, escaped. */
export const seg = (s) => encodeURIComponent(s);
