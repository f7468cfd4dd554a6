// The admin API as the UI calls it: JSON in and out under /api/v1, the session cookie sent by
// the browser, the CSRF token on every state-changing request, and errors as ApiError with
// the API's code, message and field (docs/admin-api.md, "Errors").

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public field: string) {
    super(message);
  }
}

let csrf = "";
export function setCsrf(token: string) {
  csrf = token;
}

// Called when a request finds the session gone (401): the app shows the sign-in page.
let onSignedOut: () => void = () => {};
export function setSignedOutHandler(f: () => void) {
  onSignedOut = f;
}

export const enc = encodeURIComponent;

async function send(method: string, path: string, body?: unknown): Promise<{ data: any; response: Response }> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r: Response | null = null;
  // A GET is retried once when the connection failed (a kept-alive connection the server
  // closed as the request left); a change is never sent twice.
  for (let attempt = 0; !r; attempt++) {
    try {
      r = await fetch("/api/v1" + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (e) {
      if (method !== "GET" || attempt > 0)
        throw new ApiError(0, "network", "The server could not be reached. Check the connection and try again.", "");
    }
  }
  const text = await r.text();
  if (r.status === 204) return { data: undefined, response: r };
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!r.ok) {
    const e = data && data.error ? data.error : { code: "http_" + r.status, message: r.statusText, field: "" };
    if (r.status === 401 && path !== "/login") onSignedOut();
    throw new ApiError(r.status, e.code || "", e.message || "the request failed (" + r.status + ")", e.field || "");
  }
  return { data, response: r };
}

export async function request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  return (await send(method, path, body)).data as T;
}

// One page of a list route that pages (?limit=&after=&q=, docs/admin-api.md "Pages"): its
// entries and the path of the next page from the Link header (null on the last page).
export interface ListPage<T> { items: T[]; next: string | null }
export async function getPage<T = any>(path: string): Promise<ListPage<T>> {
  const { data, response } = await send("GET", path);
  const link = response.headers.get("Link") || "";
  const m = /<\/api\/v1([^>]*)>\s*;\s*rel="?next"?/.exec(link);
  return { items: (data || []) as T[], next: m ? m[1] : null };
}

export const get = <T = any>(p: string) => request<T>("GET", p);
export const post = <T = any>(p: string, b?: unknown) => request<T>("POST", p, b === undefined ? {} : b);
export const put = <T = any>(p: string, b?: unknown) => request<T>("PUT", p, b);
export const patch = <T = any>(p: string, b?: unknown) => request<T>("PATCH", p, b);
export const del = <T = any>(p: string) => request<T>("DELETE", p);

// Which routes this server has, from its OpenAPI document: a page whose route is missing says
// so instead of showing a control that does nothing.
let known: Record<string, Set<string>> | null = null;

export async function loadRoutes(): Promise<void> {
  const doc = await get<any>("/openapi.json");
  known = {};
  for (const [path, ops] of Object.entries<any>(doc.paths || {})) {
    known[path.replace(/^\/api\/v1/, "")] = new Set(Object.keys(ops).map((m) => m.toUpperCase()));
  }
}

// has("POST", "/domains/{domain}/dkim"): the template as the OpenAPI document writes it.
export function has(method: string, template: string): boolean {
  return !!known && !!known[template] && known[template].has(method);
}

// ---- records as the API returns them ----
export interface Session { address: string; admin: boolean; csrf_token: string; expires: string; id: string }
export interface Domain { domain: string; created: string; catchall: string[] }
export interface User {
  address: string; name: string; quota: number; used: number; messages: number; enabled: boolean;
  admin: boolean; aliases: string[]; allowed_senders: string[]; created: string;
}
export interface Alias { alias: string; user: string }
export interface Group { group: string; policy: string; members: string[]; created: string }
export interface Catchall { domain: string; users: string[] }
export interface AppPassword { id: string; name: string; created: string }
export interface QueueItem {
  id: number; sender: string; recipients: string[]; authenticated_user: string; created: string;
  next_attempt: string; attempts: number; last_error: string;
}
export interface Vacation {
  enabled: boolean; subject: string; reason: string; from: string; addresses: string[]; days: number;
  start: string; end: string; zone: string;
}
export interface Forward { enabled: boolean; target: string; keep_copy: boolean }
export interface Stream {
  stream_id: number; slug: string; name: string; description: string; enabled: boolean; members: string[];
  email_posting: string; email_address: string; created: string;
}
export interface Topic { name: string; messages: number; max_id: number }
export interface StreamAttachment { name: string; content_type: string; size: number; url: string }
export interface StreamMessage {
  id: number; stream: string; topic: string; sender_id: number; sender_email: string; sender_full_name: string;
  email_from: string; content: string; attachments: StreamAttachment[]; via: string; timestamp: number;
}

// The first of several spellings of a route that this server has (a route being added in
// parallel is written here as docs/admin-api.md names it; the others are kept out).
export function route(method: string, ...templates: string[]): string | null {
  for (const t of templates) if (has(method, t)) return t;
  return null;
}

// "/domains/{domain}/dkim" with {domain: "x.org"} → "/domains/x.org/dkim" (encoded).
export function fill(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, k) => enc(String(params[k])));
}
