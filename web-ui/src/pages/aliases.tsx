// Aliases: another address of a user (alias+tag works too); never equal to a user's address.
import { useState } from "preact/hooks";
import { Alias, del, enc, post } from "../api";
import { Action, Field, Form, Loading, Page, announce } from "../ui";
import { Pager, SearchBox, usePaged } from "../paging";

export function Aliases() {
  const list = usePaged<Alias>("/aliases");
  const [alias, setAlias] = useState("");
  const [user, setUser] = useState("");
  return (
    <Page title="Aliases" intro="Another address that delivers to a user's mailbox.">
      <h2>Add an alias</h2>
      <Form label="Add an alias" submit="Add alias" onSubmit={async () => {
        await post("/aliases", { alias, user });
        announce(`Alias ${alias} added`);
        setAlias(""); setUser("");
        await list.reload();
      }}>
        <Field name="alias" label="Alias address" type="email" required value={alias} onInput={setAlias} placeholder="info@example.org" />
        <Field name="user" label="Delivers to user" type="email" required value={user} onInput={setUser} placeholder="alice@example.org" />
      </Form>
      <h2>Aliases</h2>
      <SearchBox id="alias-search" label="Search aliases" placeholder="alias or user address" onSearch={list.search} />
      <Loading state={list}>
        {(as) => as.length === 0 ? <p>{list.query ? `No alias matches “${list.query}”.` : "No aliases yet."}</p> : (
          <table>
            <thead><tr><th scope="col">Alias</th><th scope="col">User</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {as.map((x) => (
                <tr>
                  <th scope="row">{x.alias}</th>
                  <td>{x.user}</td>
                  <td><Action label="Remove" danger confirm={`Remove the alias ${x.alias}?`}
                    run={async () => { await del(`/aliases/${enc(x.alias)}`); announce(`Alias ${x.alias} removed`); await list.reload(); }} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <Pager label="Aliases" state={list} />
    </Page>
  );
}
