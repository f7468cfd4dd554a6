// DKIM keys per domain: the keys to publish (DNS name and TXT record, copyable), generate a
// key of the other algorithm, rotate. Private keys never leave the server.
import { useState } from "preact/hooks";
import { Domain, fill, get, post, route } from "../api";
import { CopyButton, Field, Form, Loading, NotBuilt, Page, Select, announce, useLoad, when } from "../ui";

export function Dkim() {
  const show = route("GET", "/domains/{domain}/dkim", "/dkim/{domain}");
  const domains = useLoad(() => get<Domain[]>("/domains"));
  return (
    <Page title="DKIM keys" intro="Outgoing mail is signed with the domain's key; publish each key's TXT record.">
      {!show ? <NotBuilt what="DKIM key management" needs="GET /api/v1/domains/{domain}/dkim" /> : (
        <Loading state={domains}>
          {(ds) => ds.length === 0 ? <p>Add a domain first.</p> : <>{ds.map((d) => <DomainKeys domain={d.domain} show={show} />)}</>}
        </Loading>
      )}
    </Page>
  );
}

interface Key { selector: string; algorithm: string; state: string; created: string; retire_at?: string; dns_name: string; txt: string }

function DomainKeys({ domain, show }: { domain: string; show: string }) {
  const keys = useLoad(() => get<any>(fill(show, { domain })), [domain]);
  const generate = route("POST", show);
  const rotate = route("POST", show + "/rotate");
  const [algorithm, setAlgorithm] = useState("ed25519");
  const [selector, setSelector] = useState("");
  return (
    <section class="panel" aria-labelledby={"dk-" + domain}>
      <h2 id={"dk-" + domain}>{domain}</h2>
      <Loading state={keys}>
        {(data) => {
          const ks: Key[] = Array.isArray(data) ? data : data.keys || [];
          return ks.length === 0 ? <p>No keys: mail from {domain} is not signed.</p> : (
            <table class="records">
              <thead><tr><th scope="col">Selector</th><th scope="col">Algorithm</th><th scope="col">State</th><th scope="col">DNS name</th><th scope="col">TXT record</th><th scope="col"><span class="sr-only">Copy</span></th></tr></thead>
              <tbody>{ks.map((k) => (
                <tr>
                  <th scope="row">{k.selector}</th><td>{k.algorithm}</td>
                  <td>{k.state}{k.retire_at && <div class="hint">until {when(k.retire_at)}</div>}<div class="hint">since {when(k.created)}</div></td>
                  <td><code>{k.dns_name}</code></td>
                  <td class="value"><code>{k.txt}</code></td>
                  <td><CopyButton text={k.txt} label="Copy record" /></td>
                </tr>
              ))}</tbody>
            </table>
          );
        }}
      </Loading>
      <div class="columns">
        {generate && (
          <Form label={`Generate a DKIM key for ${domain}`} submit="Generate key" busyLabel="Generating…" onSubmit={async () => {
            const body: Record<string, string> = { algorithm };
            if (selector) body.selector = selector;
            await post(fill(generate, { domain }), body);
            announce(`New ${algorithm} key for ${domain}: publish its record`);
            setSelector("");
            await keys.reload();
          }}>
            <Select name="algorithm" label="Algorithm" value={algorithm} onChange={setAlgorithm} options={[["ed25519", "Ed25519"], ["rsa", "RSA-2048"]]} />
            <Field name="selector" label="Selector" value={selector} onInput={setSelector} hint="Empty: chosen for you" />
          </Form>
        )}
        {rotate && (
          <Form label={`Rotate the DKIM keys of ${domain}`} submit="Rotate keys" busyLabel="Rotating…" danger onSubmit={async () => {
            if (!window.confirm(`Replace the signing keys of ${domain}? Publish the new records; the old ones stay valid during the grace period.`)) return;
            await post(fill(rotate, { domain }), {});
            announce(`Keys of ${domain} rotated: publish the new records`);
            await keys.reload();
          }}>
            <p class="hint">Each signing key is replaced by a new one under a new selector; the old one is retired after a grace period.</p>
          </Form>
        )}
      </div>
    </section>
  );
}
