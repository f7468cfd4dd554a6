// Domains: list, add, remove, and the DNS records to publish for each (with a live check of
// each record through the server's resolver) once the server has those routes.
import { useState } from "preact/hooks";
import { Domain, del, enc, get, has, post } from "../api";
import { Action, CopyButton, Field, Form, Loading, NotBuilt, Page, Spinner, announce, errorText, useLoad, when } from "../ui";

export function Domains() {
  const list = useLoad(() => get<Domain[]>("/domains"));
  const [domain, setDomain] = useState("");
  const [open, setOpen] = useState("");
  return (
    <Page title="Domains" intro="The domains this server receives mail for. A new domain gets a DKIM key at once.">
      <h2>Add a domain</h2>
      <Form label="Add a domain" submit="Add domain" busyLabel="Adding…" onSubmit={async () => {
        await post("/domains", { domain });
        announce(`Domain ${domain} added`);
        setDomain("");
        await list.reload();
      }}>
        <Field name="domain" label="Domain" required value={domain} onInput={setDomain} placeholder="example.org" />
      </Form>
      <h2>Local domains</h2>
      <Loading state={list}>
        {(ds) => ds.length === 0 ? <p>No domains yet.</p> : (
          <table>
            <thead><tr><th scope="col">Domain</th><th scope="col">Catch-all</th><th scope="col">Added</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {ds.map((d) => (
                <>
                  <tr>
                    <th scope="row">{d.domain}</th>
                    <td>{d.catchall.join(", ") || <span class="muted">none</span>}</td>
                    <td>{when(d.created)}</td>
                    <td>
                      <button type="button" class="small" aria-expanded={open === d.domain} onClick={() => setOpen(open === d.domain ? "" : d.domain)}>
                        DNS records<span class="sr-only"> for {d.domain}</span>
                      </button>
                      <Action label="Remove" danger confirm={`Remove the domain ${d.domain}? It must have no users, aliases or groups.`}
                        run={async () => { await del(`/domains/${enc(d.domain)}`); announce(`Domain ${d.domain} removed`); await list.reload(); }} />
                    </td>
                  </tr>
                  {open === d.domain && (
                    <tr><td colSpan={4}><DnsRecords domain={d.domain} /></td></tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </Page>
  );
}

interface DnsRecord { type: string; name: string; value: string; purpose?: string; note?: string; [k: string]: unknown }
interface CheckResult { ok?: boolean; status?: string; found?: string | string[]; [k: string]: unknown }

function recordsOf(data: any): DnsRecord[] {
  return Array.isArray(data) ? data : data?.records || [];
}

export function DnsRecords({ domain }: { domain: string }) {
  if (!has("GET", "/domains/{domain}/dns"))
    return <NotBuilt what="The table of DNS records to publish" needs="GET /api/v1/domains/{domain}/dns" />;
  return <DnsTable domain={domain} />;
}

function DnsTable({ domain }: { domain: string }) {
  const recs = useLoad(() => get<any>(`/domains/${enc(domain)}/dns`), [domain]);
  const canCheck = has("GET", "/domains/{domain}/dns/check");
  const [checks, setChecks] = useState<CheckResult[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [err, setErr] = useState("");
  return (
    <div class="dns">
      <h3>DNS records for {domain}</h3>
      <Loading state={recs}>
        {(data) => {
          const rs = recordsOf(data);
          return (
            <>
              {canCheck && (
                <p>
                  <button type="button" class="small" disabled={checking} onClick={async () => {
                    setChecking(true);
                    setErr("");
                    try {
                      setChecks(recordsOf(await get<any>(`/domains/${enc(domain)}/dns/check`)) as CheckResult[]);
                      announce("DNS check finished");
                    } catch (e) {
                      setErr(errorText(e));
                    } finally {
                      setChecking(false);
                    }
                  }}>Check against DNS</button>
                  {checking && <Spinner label="Asking the resolver…" />}
                  {err && <span class="field-error" role="alert">{err}</span>}
                </p>
              )}
              <table class="records">
                <thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Value</th>{checks && <th scope="col">In DNS</th>}<th scope="col"><span class="sr-only">Copy</span></th></tr></thead>
                <tbody>
                  {rs.map((r, i) => {
                    const c = checks ? checks[i] : null;
                    const ok = c ? c.ok === true || c.status === "ok" : false;
                    return (
                      <tr>
                        <td>{r.type}</td>
                        <td><code>{r.name}</code>{(r.purpose || r.note) && <div class="hint">{String(r.purpose || r.note)}</div>}</td>
                        <td class="value"><code>{r.value}</code></td>
                        {checks && (
                          <td class={ok ? "ok" : "bad"}>
                            {ok ? "✓ found" : "✗ " + (c?.status || "missing")}
                            {c?.found && <div class="hint">found: {Array.isArray(c.found) ? c.found.join(" | ") : c.found}</div>}
                          </td>
                        )}
                        <td><CopyButton text={r.value} label="Copy value" /></td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          );
        }}
      </Loading>
    </div>
  );
}
