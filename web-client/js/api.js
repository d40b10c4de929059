// JSON over HTTP. Every call resolves to {ok, status, data, error, retryAfter}; errors are
// {code, message} (the view shows them by code, in the member's language: i18n.errorText).
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, error: { code: "offline", message: "" } };
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (response.ok) return { ok: true, status: response.status, data, retryAfter };
  const error = data && data.code ? { ...data } : { code: `http_${response.status}`, message: "" };
  if (response.status === 429 && retryAfter) error.retry_after_ms = retryAfter * 1000;
  return { ok: false, status: response.status, error, retryAfter };
}
