// Relay (smarthost): presets for the common providers, and "send test email" showing what
// happened to each message. Both need the outbound delivery routes of the admin API.
import { useState } from "preact/hooks";
import { del, fill, get, put, post, route } from "../api";
import { Field, Form, Loading, NotBuilt, Page, Select, announce, useLoad } from "../ui";

const presets: [string, string][] = [
  ["smtp", "Any SMTP server"], ["ses", "Amazon SES"], ["mailgun", "Mailgun"], ["postmark", "Postmark"],
  ["sendgrid", "SendGrid"], ["gmail", "Gmail / Google Workspace"],
];

export function Relay() {
  const show = route("GET", "/relay", "/relays");
  const set = route("PUT", "/relay", "/relays");
  return (
    <Page title="Relay" intro="Send outgoing mail through a relay (smarthost) instead of straight to each recipient's MX.">
      {show && set ? <RelayForm show={show} set={set} /> : <NotBuilt what="Relay settings" needs="GET and PUT /api/v1/relay" />}
      <h2>Send a test email</h2>
      <TestEmail />
    </Page>
  );
}

function RelayForm({ show, set }: { show: string; set: string }) {
  const cur = useLoad(() => get<any>(show));
  const clear = route("DELETE", "/relay");
  const presetList = useLoad<[string, string][]>(async () => {
    if (!route("GET", "/relay-presets")) return presets;
    const ps = await get<{ name: string; description: string }[]>("/relay-presets");
    return ps.map((p) => [p.name, p.description || p.name] as [string, string]);
  });
  const [preset, setPreset] = useState("smtp");
  const [host, setHost] = useState("");
  const [port, setPort] = useState("");
  const [security, setSecurity] = useState("");
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  return (
    <>
      <h2>Current relay</h2>
      <Loading state={cur}>
        {(r) => {
          const list: any[] = Array.isArray(r) ? r : r?.relays || (r && r.host ? [r] : []);
          return list.length === 0 ? <p>No relay: mail goes to each recipient's MX.</p> : (
            <table>
              <thead><tr><th scope="col">For</th><th scope="col">Host</th><th scope="col">Port</th><th scope="col">Security</th><th scope="col">User</th><th scope="col">Password</th></tr></thead>
              <tbody>{list.map((x) => (
                <tr><td>{x.domain || "all mail"}</td><td>{x.host}</td><td>{x.port}</td><td>{x.security}</td><td>{x.user}</td><td>{x.password}</td></tr>
              ))}</tbody>
            </table>
          );
        }}
      </Loading>
      {clear && (
        <p><button type="button" class="small danger" onClick={async () => {
          if (!window.confirm("Remove the default relay? Mail then goes to each recipient's MX.")) return;
          await del(clear); announce("Relay removed"); await cur.reload();
        }}>Remove relay</button></p>
      )}
      <h2>Set the relay</h2>
      <Form label="Set the relay" submit="Save relay" onSubmit={async () => {
        const body: Record<string, unknown> = { preset };
        if (host) body.host = host;
        if (port) body.port = Number(port);
        if (security) body.security = security;
        if (user) { body.user = user; body.password = password; }
        await put(set, body);
        setPassword("");
        announce("Relay saved");
        await cur.reload();
      }}>
        <Select name="preset" label="Provider" value={preset} onChange={setPreset} options={presetList.data || presets} hint="A preset fills in host, port and security; what you type below overrides it." />
        <Field name="host" label="Host" value={host} onInput={setHost} hint={preset === "smtp" ? "Required for “Any SMTP server”" : "Leave empty to use the preset's"} />
        <Field name="port" label="Port" type="number" value={port} onInput={setPort} hint="Empty: 587 (STARTTLS), 465 (TLS), 25 (none)" />
        <Select name="security" label="Security" value={security} onChange={setSecurity}
          options={[["", "Preset's or by port"], ["starttls", "STARTTLS (required)"], ["tls", "TLS from the start"], ["none", "None (local networks only)"]]} />
        <Field name="user" label="User name" autocomplete="off" value={user} onInput={setUser} />
        <Field name="password" label="Password" type="password" autocomplete="new-password" value={password} onInput={setPassword} hint="Kept encrypted; never shown again" />
      </Form>
    </>
  );
}

function TestEmail() {
  const send = route("POST", "/send-test-email");
  const [address, setAddress] = useState("");
  const [result, setResult] = useState<any>(null);
  if (!send) return <NotBuilt what="Sending a test email" needs="POST /api/v1/send-test-email" />;
  return (
    <>
      <Form label="Send a test email" submit="Send test email" busyLabel="Sending (this can take a while)…" onSubmit={async () => {
        setResult(null);
        setResult(await post(fill(send, {}), { to: address }));
        announce("Test email finished");
      }}>
        <Field name="to" label="Send to" type="email" required value={address} onInput={setAddress}
          hint="Two messages go out through the real delivery path: one from the default sender, one from the no-reply address." />
      </Form>
      {result && <TestResult result={result} />}
    </>
  );
}

function TestResult({ result }: { result: any }) {
  const msgs: any[] = Array.isArray(result) ? result : result.messages || [result];
  return (
    <div class="result" aria-live="polite">
      <h3>Result</h3>
      <ul>
        {msgs.map((m, i) => {
          const ok = m.result === "delivered";
          return (
            <li class={ok ? "ok" : "bad"}>
              <strong>{m.which ? `${m.which} (${m.from})` : m.from || `Message ${i + 1}`}</strong>: {m.result || "unknown"}
              {m.summary && <div>{m.summary}</div>}
              {m.route && <div class="hint">route: {m.route}</div>}
              {m.tls && <div class="hint">TLS: {String(m.tls)}</div>}
              {m.reply && <div><code>{m.reply}</code></div>}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
