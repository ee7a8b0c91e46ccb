// The admin key lives in this tab's sessionStorage only: typed into a form, sent as a header, never put in a URL.
const KEY = 'recsvc-admin-key';

export const adminKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

/** Calls the API with the admin key; JSON in and out; a non-2xx answer throws ApiError with the API's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${adminKey.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Like api(), but a 404 gives null (a customer without a profile, a report not yet written). */
export async function apiOrNull(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Query string from an object, leaving out undefined values. */
export const qs = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();
  return s ? `?${s}` : '';
};
