// Catch-all: where mail to an unknown address of a domain goes (else 550 5.1.1).
import { useState } from "preact/hooks";
import { Catchall as CatchallRec, Domain, del, enc, get, put } from "../api";
import { Action, Field, Form, Loading, Page, Select, announce, useLoad } from "../ui";

export function Catchall() {
  const list = useLoad(() => get<CatchallRec[]>("/catchall"));
  const domains = useLoad(() => get<Domain[]>("/domains"));
  const [domain, setDomain] = useState("");
  const [users, setUsers] = useState("");
  return (
    <Page title="Catch-all" intro="Mail to an address of the domain that matches no user, alias or group goes to these mailboxes. Without one it is refused.">
      <h2>Set a domain's catch-all</h2>
      <Loading state={domains}>
        {(ds) => ds.length === 0 ? <p>Add a domain first.</p> : (
          <Form label="Set a catch-all" submit="Set catch-all" onSubmit={async () => {
            const d = domain || ds[0].domain;
            await put(`/catchall/${enc(d)}`, { users: users.split(/[\s,;]+/).filter(Boolean) });
            announce(`Catch-all of ${d} set`);
            setUsers("");
            await list.reload();
          }}>
            <Select name="domain" label="Domain" value={domain || ds[0].domain} onChange={setDomain} options={ds.map((d) => [d.domain, d.domain])} />
            <Field name="users" label="Deliver to users" required value={users} onInput={setUsers} hint="One or more user addresses, separated by commas" />
          </Form>
        )}
      </Loading>
      <h2>Catch-alls</h2>
      <Loading state={list}>
        {(cs) => cs.filter((c) => c.users.length).length === 0 ? <p>No domain has a catch-all.</p> : (
          <table>
            <thead><tr><th scope="col">Domain</th><th scope="col">Delivers to</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {cs.filter((c) => c.users.length).map((c) => (
                <tr>
                  <th scope="row">{c.domain}</th>
                  <td>{c.users.join(", ")}</td>
                  <td><Action label="Clear" danger confirm={`Clear the catch-all of ${c.domain}?`}
                    run={async () => { await del(`/catchall/${enc(c.domain)}`); announce(`Catch-all of ${c.domain} cleared`); await list.reload(); }} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </Page>
  );
}
