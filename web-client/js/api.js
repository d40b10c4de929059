// JSON over HTTP. Every call resolves to {ok, status, data, error, retryAfter}; errors are {code, message}.
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, error: { code: "offline", message: "Can't reach filmnight. Check your connection." } };
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (response.ok) return { ok: true, status: response.status, data, retryAfter };
  const error = data && data.code ? data : { code: `http_${response.status}`, message: "Something went wrong." };
  if (response.status === 429 && retryAfter) {
    error.message = `Too many attempts — try again in ${retryAfter} s.`;
  }
  return { ok: false, status: response.status, error, retryAfter };
}
