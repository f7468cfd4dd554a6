// The outbound queue (list, show, retry, delete) and the send log of what was sent.
import { useState } from "preact/hooks";
import { QueueItem, del, fill, get, post, route } from "../api";
import { Action, Loading, NotBuilt, Page, announce, useLoad, when } from "../ui";

export function Queue() {
  const list = useLoad(() => get<QueueItem[]>("/queue"));
  const [open, setOpen] = useState<number | null>(null);
  const retry = route("POST", "/queue/{id}/retry");
  const remove = route("DELETE", "/queue/{id}");
  const log = route("GET", "/queue/log", "/send-log", "/queue-log");
  return (
    <Page title="Queue and send log">
      <h2>Outbound queue</h2>
      <p><button type="button" class="small" onClick={list.reload}>Refresh</button></p>
      <Loading state={list}>
        {(q) => q.length === 0 ? <p>The queue is empty.</p> : (
          <table>
            <thead><tr><th scope="col">ID</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Queued</th><th scope="col">Attempts</th><th scope="col">Next try</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
            <tbody>{q.map((m) => (
              <>
                <tr>
                  <th scope="row">{m.id}</th>
                  <td>{m.sender || <span class="muted">&lt;&gt; (bounce or auto-reply)</span>}</td>
                  <td>{m.recipients.join(", ")}</td>
                  <td>{when(m.created)}</td>
                  <td>{m.attempts}</td>
                  <td>{when(m.next_attempt)}</td>
                  <td>{m.last_error}</td>
                  <td>
                    <button type="button" class="small" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? null : m.id)}>Show<span class="sr-only"> message {m.id}</span></button>
                    {retry && <Action label="Retry now" run={async () => { await post(fill(retry, { id: m.id }), {}); announce(`Message ${m.id} will be retried`); await list.reload(); }} />}
                    {remove && <Action label="Delete" danger confirm={`Delete queued message ${m.id}? It will not be sent and no bounce is sent.`}
                      run={async () => { await del(fill(remove, { id: m.id })); announce(`Message ${m.id} deleted`); await list.reload(); }} />}
                  </td>
                </tr>
                {open === m.id && <tr><td colSpan={8}><QueuedMessage id={m.id} /></td></tr>}
              </>
            ))}</tbody>
          </table>
        )}
      </Loading>
      {(!retry || !remove) && <NotBuilt what="Retrying and deleting queued messages" needs="POST /api/v1/queue/{id}/retry, DELETE /api/v1/queue/{id}" />}
      <h2>Send log</h2>
      {log ? <SendLog path={log} /> : <NotBuilt what="The send log" needs="GET /api/v1/queue/log" />}
    </Page>
  );
}

function QueuedMessage({ id }: { id: number }) {
  const item = useLoad(() => get<any>(`/queue/${id}`), [id]);
  return (
    <Loading state={item}>
      {(m) => <pre class="detail">{JSON.stringify(m, null, 2)}</pre>}
    </Loading>
  );
}

function SendLog({ path }: { path: string }) {
  const log = useLoad(() => get<any>(path));
  return (
    <Loading state={log}>
      {(data) => {
        const rows: any[] = Array.isArray(data) ? data : data.entries || data.log || [];
        if (rows.length === 0) return <p>Nothing sent yet.</p>;
        const cols = Object.keys(rows[0]);
        return (
          <table>
            <thead><tr>{cols.map((c) => <th scope="col">{c.replace(/_/g, " ")}</th>)}</tr></thead>
            <tbody>{rows.map((r) => <tr>{cols.map((c) => <td>{fmt(r[c])}</td>)}</tr>)}</tbody>
          </table>
        );
      }}
    </Loading>
  );
}

export function fmt(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(fmt).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
