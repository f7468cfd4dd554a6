// Shared pieces of every page: forms whose errors name the field the API named (linked with
// aria-describedby, summarised in an alert, focus moved to the field), a progress indicator
// while a request runs, a polite live region for "saved" messages, tables and quota bars.
import { ComponentChildren, createContext } from "preact";
import { useContext, useEffect, useRef, useState, useCallback } from "preact/hooks";
import { ApiError } from "./api";

// ---- announcements (one polite live region for the whole app) ----
let announcer: (m: string) => void = () => {};
let hide = 0;
export function announce(message: string) {
  announcer(message);
}
export function LiveRegion() {
  const [msg, setMsg] = useState("");
  useEffect(() => {
    announcer = (m) => {
      setMsg("");
      // a new node's text is read even when it repeats the last message
      setTimeout(() => setMsg(m), 30);
      clearTimeout(hide);
      hide = window.setTimeout(() => setMsg(""), 6000);
    };
  }, []);
  return (
    <div class="toast" role="status" aria-live="polite" aria-atomic="true">
      {msg}
    </div>
  );
}

export function Spinner({ label = "Working…" }: { label?: string }) {
  return (
    <span class="busy" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </span>
  );
}

// ---- forms ----
interface FormState {
  id: string;
  error: ApiError | null;
  busy: boolean;
}
const FormCtx = createContext<FormState>({ id: "", error: null, busy: false });
let formSeq = 0;

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return String(e);
}

interface FormProps {
  onSubmit: () => Promise<unknown>;
  submit: string;
  busyLabel?: string;
  children?: ComponentChildren;
  label?: string;
  class?: string;
  danger?: boolean;
}

export function Form(props: FormProps) {
  const [id] = useState(() => "f" + ++formSeq);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLFormElement>(null);
  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit();
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, "client", String(e), "");
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  // Move focus to the field the API named, else to the summary.
  useEffect(() => {
    if (!error || !ref.current) return;
    const target =
      (error.field && ref.current.querySelector<HTMLElement>(`[data-field="${CSS.escape(error.field)}"]`)) ||
      ref.current.querySelector<HTMLElement>(".form-error");
    target?.focus();
  }, [error]);
  return (
    <FormCtx.Provider value={{ id, error, busy }}>
      <form ref={ref} class={"form " + (props.class || "")} onSubmit={onSubmit} aria-busy={busy} aria-label={props.label} noValidate>
        {error && (
          <div class="form-error" role="alert" tabIndex={-1}>
            {error.field ? (
              <span>
                <a href={`#${id}-${error.field}`} onClick={(e) => { e.preventDefault(); document.getElementById(`${id}-${error.field}`)?.focus(); }}>
                  {error.message}
                </a>
              </span>
            ) : (
              error.message
            )}
          </div>
        )}
        {props.children}
        <div class="actions">
          <button type="submit" class={props.danger ? "danger" : "primary"} disabled={busy}>
            {props.submit}
          </button>
          {busy && <Spinner label={props.busyLabel} />}
        </div>
      </form>
    </FormCtx.Provider>
  );
}

interface FieldProps {
  name: string; // the API's field name: its errors land here
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: string;
  hint?: string;
  autocomplete?: string;
  required?: boolean;
  multiline?: boolean;
  placeholder?: string;
  list?: string;
}

export function Field(p: FieldProps) {
  const f = useContext(FormCtx);
  const id = `${f.id}-${p.name}`;
  const err = f.error && f.error.field === p.name ? f.error.message : "";
  const described = [p.hint ? id + "-hint" : "", err ? id + "-err" : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: p.name,
    "data-field": p.name,
    value: p.value,
    required: p.required,
    placeholder: p.placeholder,
    autoComplete: p.autocomplete,
    "aria-invalid": err ? true : undefined,
    "aria-describedby": described,
    onInput: (e: Event) => p.onInput((e.target as HTMLInputElement).value),
  };
  return (
    <div class={"field" + (err ? " invalid" : "")}>
      <label for={id}>
        {p.label}
        {p.required && <span aria-hidden="true"> *</span>}
      </label>
      {p.multiline ? <textarea rows={5} {...common} /> : <input type={p.type || "text"} list={p.list} {...common} />}
      {p.hint && (
        <div class="hint" id={id + "-hint"}>
          {p.hint}
        </div>
      )}
      {err && (
        <div class="field-error" id={id + "-err"}>
          {err}
        </div>
      )}
    </div>
  );
}

export function Check(p: { name: string; label: string; checked: boolean; onChange: (v: boolean) => void }) {
  const f = useContext(FormCtx);
  const id = `${f.id}-${p.name}`;
  const err = f.error && f.error.field === p.name ? f.error.message : "";
  return (
    <div class="field check">
      <input type="checkbox" id={id} data-field={p.name} checked={p.checked} aria-describedby={err ? id + "-err" : undefined}
        onChange={(e) => p.onChange((e.target as HTMLInputElement).checked)} />
      <label for={id}>{p.label}</label>
      {err && <div class="field-error" id={id + "-err"}>{err}</div>}
    </div>
  );
}

export function Select(p: { name: string; label: string; value: string; onChange: (v: string) => void; options: [string, string][]; hint?: string }) {
  const f = useContext(FormCtx);
  const id = `${f.id}-${p.name}`;
  const err = f.error && f.error.field === p.name ? f.error.message : "";
  const described = [p.hint ? id + "-hint" : "", err ? id + "-err" : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={"field" + (err ? " invalid" : "")}>
      <label for={id}>{p.label}</label>
      <select id={id} data-field={p.name} value={p.value} aria-invalid={err ? true : undefined} aria-describedby={described}
        onChange={(e) => p.onChange((e.target as HTMLSelectElement).value)}>
        {p.options.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
      {p.hint && <div class="hint" id={id + "-hint"}>{p.hint}</div>}
      {err && <div class="field-error" id={id + "-err"}>{err}</div>}
    </div>
  );
}

// A button that runs one request, with its own progress and error (row actions: remove,
// disable, revoke). `confirm` asks first.
export function Action(p: { label: string; run: () => Promise<unknown>; confirm?: string; danger?: boolean; describedBy?: string }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  return (
    <span class="action">
      <button type="button" class={p.danger ? "danger small" : "small"} disabled={busy} aria-describedby={p.describedBy}
        onClick={async () => {
          if (p.confirm && !window.confirm(p.confirm)) return;
          setBusy(true);
          setErr("");
          try {
            await p.run();
          } catch (e) {
            setErr(errorText(e));
          } finally {
            setBusy(false);
          }
        }}>
        {p.label}
      </button>
      {busy && <Spinner />}
      {err && <span class="field-error" role="alert">{err}</span>}
    </span>
  );
}

// ---- loading ----
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setData(await load());
      setError("");
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { data, error, loading, reload };
}

export function Loading<T>(p: { state: { data: T | null; error: string; loading: boolean }; children: (d: T) => ComponentChildren }) {
  if (p.state.error)
    return (
      <p class="form-error" role="alert">
        {p.state.error}
      </p>
    );
  if (p.state.data === null) return <Spinner label="Loading…" />;
  return <>{p.children(p.state.data)}</>;
}

// ---- display ----
export function bytes(n: number): string {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (v >= 10 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

export function QuotaBar({ used, quota, label }: { used: number; quota: number; label: string }) {
  if (!quota) return <span class="muted">{bytes(used)} (no quota)</span>;
  const pct = Math.min(100, Math.round((used / quota) * 100));
  return (
    <span class="quota">
      <meter min={0} max={quota} value={used} high={quota * 0.8} optimum={0} aria-label={label} title={`${pct}%`} />
      <span>
        {bytes(used)} of {bytes(quota)} ({pct}%)
      </span>
    </span>
  );
}

export function NotBuilt({ what, needs }: { what: string; needs: string }) {
  return (
    <div class="notice" role="note">
      <strong>{what} is not available on this server yet.</strong> This version of mailstead-admin-api has no route for it
      (<code>{needs}</code>); the page will offer it once the server does.
    </div>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button type="button" class="small" onClick={async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // clipboard refused (permissions): leave the text selected for Ctrl+C
        const ta = document.createElement("textarea");
        ta.value = text;
        document.body.appendChild(ta);
        ta.select();
        document.execCommand("copy");
        ta.remove();
      }
      setDone(true);
      announce("Copied to the clipboard");
      setTimeout(() => setDone(false), 1500);
    }}>
      {done ? "Copied" : label}
    </button>
  );
}

export function Page(p: { title: string; children?: ComponentChildren; intro?: ComponentChildren }) {
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = p.title + " · Mailstead";
    h.current?.focus();
  }, [p.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1} ref={h}>
        {p.title}
      </h1>
      {p.intro && <p class="intro">{p.intro}</p>}
      {p.children}
    </section>
  );
}

export function when(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString();
}
