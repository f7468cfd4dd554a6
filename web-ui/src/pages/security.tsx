// Email security: the MX's inbound policy as the admin API reports it (GET /policy: DNSBL
// zones and threshold, reverse DNS, greylisting, DMARC, spam thresholds — set in the
// configuration file, so shown, not edited), the per-domain DMARC overrides and the block
// and allow lists, which the administrator changes here. docs/inbound.md, docs/authentication.md.
import { useState } from "preact/hooks";
import { del, enc, get, post, put, route } from "../api";
import { Action, Field, Form, Loading, NotBuilt, Page, Select, announce, useLoad } from "../ui";

interface Rule { list: string; kind: string; value: string; user: string; note: string; created: string }
interface Override { domain: string; action: string }

const overrideActions: [string, string][] = [
  ["none", "Deliver even when DMARC fails"],
  ["quarantine", "Junk on failure, whatever the domain publishes"],
  ["reject", "Refuse on failure, whatever the domain publishes"],
  ["ignore", "Do not check DMARC for this domain"],
];

export function Security() {
  const policyRoute = route("GET", "/policy");
  return (
    <Page title="Email security" intro="What the MX checks before it accepts mail: DNS blocklists, SPF, DKIM, DMARC, SpamAssassin, and your own block and allow lists.">
      {policyRoute ? <PolicyView /> : <NotBuilt what="The inbound policy" needs="GET /api/v1/policy" />}
      <h2>DMARC overrides</h2>
      {route("GET", "/dmarc-overrides") ? <Overrides /> : <NotBuilt what="DMARC overrides" needs="GET /api/v1/dmarc-overrides" />}
      <h2>Block and allow lists</h2>
      {route("GET", "/inbound-rules") ? <Rules /> : <NotBuilt what="Block and allow lists" needs="GET /api/v1/inbound-rules" />}
    </Page>
  );
}

function onOff(b: boolean) {
  return b ? "on" : "off";
}

function PolicyView() {
  const p = useLoad(() => get<any>("/policy"));
  return (
    <Loading state={p}>
      {(x) => (
        <>
          <p>These settings come from the configuration file (docs/configuration.md); change them there and restart the services.</p>
          <table>
            <caption>Checks in force</caption>
            <tbody>
              <tr><th scope="row">DNS blocklists</th><td>{onOff(x.dnsbl.enabled)}{x.dnsbl.enabled && <> — refused when the weights of the listing zones reach {x.dnsbl.threshold}</>}</td></tr>
              {x.dnsbl.enabled && <tr><th scope="row">Zones</th><td>{x.dnsbl.zones.map((z: any) => `${z.zone} (weight ${z.weight})`).join(", ") || "none"}</td></tr>}
              <tr><th scope="row">Always reachable</th><td>{(x.dnsbl.exempt_recipients as string[]).join(", ")}</td></tr>
              <tr><th scope="row">Reverse DNS</th><td>{x.iprev_policy === "reject" ? "refuse when it does not confirm" : "recorded in a header"}</td></tr>
              <tr><th scope="row">Greylisting</th><td>{onOff(x.greylist.enabled)}{x.greylist.enabled && <> — {x.greylist.delay_seconds} s delay, {x.greylist.triplets} remembered</>}</td></tr>
              <tr><th scope="row">Connections per address per minute</th><td>{x.connection_rate_per_ip_per_minute || "no limit"}</td></tr>
              <tr><th scope="row">SPF, DKIM, DMARC</th><td>{x.dmarc.enabled ? `on (SPF ${onOff(x.dmarc.spf.enabled)}, DKIM ${onOff(x.dmarc.dkim_verify.enabled)}); failing p=reject: ${x.dmarc.reject_action}, failing p=quarantine: ${x.dmarc.quarantine_action}` : "off"}</td></tr>
              <tr><th scope="row">ARC</th><td>{x.dmarc.arc}</td></tr>
              <tr><th scope="row">SpamAssassin</th><td>{x.spam.enabled ? `on — Junk from score ${x.spam.junk_threshold}, refused from ${x.spam.reject_threshold}` : "off"}</td></tr>
              <tr><th scope="row">Not checked (trusted)</th><td>{(x.trusted_clients as string[]).join(", ") || "nobody"}</td></tr>
            </tbody>
          </table>
        </>
      )}
    </Loading>
  );
}

function Overrides() {
  const list = useLoad(() => get<Override[]>("/dmarc-overrides"));
  const set = route("PUT", "/dmarc-overrides/{domain}");
  const clear = route("DELETE", "/dmarc-overrides/{domain}");
  const [domain, setDomain] = useState("");
  const [action, setAction] = useState("none");
  return (
    <>
      <p>Replace what a sender domain's DMARC record asks, for it and its subdomains.</p>
      <Loading state={list}>
        {(os) => os.length === 0 ? <p>No overrides: every domain's published policy applies.</p> : (
          <table>
            <thead><tr><th scope="col">Domain</th><th scope="col">Action</th>{clear && <th scope="col">Actions</th>}</tr></thead>
            <tbody>
              {os.map((o) => (
                <tr>
                  <th scope="row">{o.domain}</th>
                  <td>{overrideActions.find((a) => a[0] === o.action)?.[1] || o.action}</td>
                  {clear && <td><Action label="Remove" danger confirm={`Apply ${o.domain}'s published DMARC policy again?`}
                    run={async () => { await del(`/dmarc-overrides/${enc(o.domain)}`); announce(`Override for ${o.domain} removed`); await list.reload(); }} /></td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      {set && (
        <Form label="Add a DMARC override" submit="Save override" onSubmit={async () => {
          const saved = await put<Override>(`/dmarc-overrides/${enc(domain)}`, { action });
          announce(`DMARC for ${saved.domain}: ${saved.action}`);
          setDomain("");
          await list.reload();
        }}>
          <Field name="domain" label="Sender domain" required value={domain} onInput={setDomain} placeholder="example.com" />
          <Select name="action" label="On a DMARC result" value={action} onChange={setAction} options={overrideActions} />
        </Form>
      )}
    </>
  );
}

function Rules() {
  const list = useLoad(() => get<Rule[]>("/inbound-rules"));
  const add = route("POST", "/inbound-rules");
  const remove = route("DELETE", "/inbound-rules/{list}/{value}");
  const [which, setWhich] = useState("block");
  const [value, setValue] = useState("");
  const [user, setUser] = useState("");
  const [note, setNote] = useState("");
  return (
    <>
      <p>Addresses, CIDR ranges, sender domains or sender addresses. An allow skips the DNS blocklists and greylisting; a user's own rules decide before the global ones.</p>
      <Loading state={list}>
        {(rs) => rs.length === 0 ? <p>No rules.</p> : (
          <table>
            <thead><tr><th scope="col">List</th><th scope="col">Value</th><th scope="col">For</th><th scope="col">Note</th>{remove && <th scope="col">Actions</th>}</tr></thead>
            <tbody>
              {rs.map((r) => (
                <tr>
                  <td>{r.list}</td>
                  <th scope="row">{r.value}</th>
                  <td>{r.user || "everyone"}</td>
                  <td>{r.note}</td>
                  {remove && <td><Action label="Remove" danger confirm={`Remove ${r.value} from the ${r.list} list?`}
                    run={async () => {
                      await del(`/inbound-rules/${enc(r.list)}/${enc(r.value)}${r.user ? `?user=${enc(r.user)}` : ""}`);
                      announce(`${r.value} removed from the ${r.list} list`);
                      await list.reload();
                    }} /></td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      {add && (
        <Form label="Add a rule" submit="Add rule" onSubmit={async () => {
          const body: Record<string, string> = { list: which, value };
          if (user) body.user = user;
          if (note) body.note = note;
          await post("/inbound-rules", body);
          announce(`${value} added to the ${which} list`);
          setValue(""); setNote("");
          await list.reload();
        }}>
          <Select name="list" label="List" value={which} onChange={setWhich} options={[["block", "Block"], ["allow", "Allow"]]} />
          <Field name="value" label="IP, CIDR range, domain or address" required value={value} onInput={setValue} placeholder="198.51.100.0/24" />
          <Field name="user" label="Only for this user" type="email" value={user} onInput={setUser} hint="Empty: for all mail" />
          <Field name="note" label="Note" value={note} onInput={setNote} />
        </Form>
      )}
    </>
  );
}
