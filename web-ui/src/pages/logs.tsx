// Recent events of the services, filtered by service, level and text.
import { useState } from "preact/hooks";
import { get, route } from "../api";
import { Field, Form, NotBuilt, Page, Select } from "../ui";
import { fmt } from "./queue";

export function Logs() {
  const path = route("GET", "/logs");
  return (
    <Page title="Logs" intro="Recent events of smtpd, imapd, sieved, the delivery service and this API.">
      {path ? <LogView path={path} /> : <NotBuilt what="The log viewer" needs="GET /api/v1/logs" />}
    </Page>
  );
}

function LogView({ path }: { path: string }) {
  const [service, setService] = useState("");
  const [level, setLevel] = useState("");
  const [q, setQ] = useState("");
  const [rows, setRows] = useState<any[] | null>(null);
  const load = async () => {
    const qs = new URLSearchParams();
    if (service) qs.set("service", service);
    if (level) qs.set("level", level);
    if (q) qs.set("q", q);
    const data = await get<any>(path + (qs.toString() ? "?" + qs : ""));
    setRows(Array.isArray(data) ? data : data.entries || data.events || []);
  };
  return (
    <>
      <Form label="Filter the log" submit="Show events" busyLabel="Loading…" onSubmit={load}>
        <Select name="service" label="Service" value={service} onChange={setService}
          options={[["", "All"], ["smtpd", "smtpd"], ["imapd", "imapd"], ["sieved", "sieved"], ["deliverd", "deliverd"], ["admin", "admin-api"]]} />
        <Select name="level" label="Level at least" value={level} onChange={setLevel}
          options={[["", "Any"], ["debug", "debug"], ["info", "info"], ["warn", "warning"], ["error", "error"]]} />
        <Field name="q" label="Text" value={q} onInput={setQ} />
      </Form>
      {rows && (rows.length === 0 ? <p>No events match.</p> : (
        <table class="log">
          <thead><tr>{Object.keys(rows[0]).map((c) => <th scope="col">{c}</th>)}</tr></thead>
          <tbody>{rows.map((r) => <tr>{Object.keys(rows[0]).map((c) => <td>{fmt(r[c])}</td>)}</tr>)}</tbody>
        </table>
      ))}
    </>
  );
}
