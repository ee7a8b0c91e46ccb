// The admin key lives in this tab's sessionStorage only: typed into a form, sent as a header, never put in a URL.
const KEY = 'recsvc-admin-key';

export const adminKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    /** Seconds the answer's Retry-After asks to wait (429, 503), or null. */
    this.retryAfter = retryAfter;
  }
}

/** Retry-After in seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
function retryAfterSeconds(header) {
  if (header === null) return null;
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, seconds) : null;
}

/** Calls the API with the admin key; JSON in and out; a non-2xx answer throws ApiError with the API's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${adminKey.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await jsonOf(res);
  if (!res.ok) throw new ApiError(res.status, data, retryAfterSeconds(res.headers.get('retry-after')));
  return data;
}

/** The code of an answer that is not the service's JSON (jsonOf). */
const NOT_THE_SERVICE = 'NOT_THE_SERVICE';

/**
 * The answer's JSON. An answer that is not JSON is not the service's: a proxy's or load balancer's error page
 * (a 502 or 504 in HTML) showed as `Unexpected token '<'`; it is said as what it is, with its status.
 */
async function jsonOf(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const type = res.headers.get('content-type')?.split(';')[0].trim() || 'no content type';
    throw new ApiError(res.status, { error: { code: NOT_THE_SERVICE, message: `${status}: the answer is not the service's JSON (${type}); a proxy or load balancer between this page and the service answered instead` } }, retryAfterSeconds(res.headers.get('retry-after')));
  }
}

/**
 * Like api(), but the service's 404 gives null (a customer without a profile, a report not yet written); a
 * proxy's 404 page (a path it does not send to the service) is the error it is.
 */
export async function apiOrNull(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code !== NOT_THE_SERVICE) return null;
    throw err;
  }
}

/**
 * Whether a failed call is worth repeating: a refused key (401, 403) or a resource that is not there (404)
 * stays so; anything else (429, 503, a network error, a proxy's 502) may pass.
 */
export const retryable = (err) => !(err instanceof ApiError && [401, 403, 404].includes(err.status));

/** Milliseconds to wait before the `attempt`th retry (1, 2, ...): the answer's Retry-After, else 1 s doubling up to 30 s. */
export function retryDelayMs(err, attempt) {
  if (err instanceof ApiError && err.retryAfter !== null) return Math.min(Math.max(err.retryAfter, 1), 300) * 1000;
  return Math.min(30_000, 1000 * 2 ** (attempt - 1));
}

/** Query string from an object, leaving out undefined values. */
export const qs = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();
  return s ? `?${s}` : '';
};
