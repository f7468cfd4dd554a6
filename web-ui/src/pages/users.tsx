// Users: search, quota bars, create; per user: name, quota, enable/disable, reset password,
// the admin role, allowed senders and app passwords.
import { useState } from "preact/hooks";
import { AppPassword, Session, User, del, enc, get, patch, post, put } from "../api";
import { Action, Field, Form, Loading, Page, QuotaBar, announce, useLoad, when } from "../ui";
import { Pager, SearchBox, usePaged } from "../paging";

const MiB = 1024 * 1024;

// "" → 0 (no quota); a number of MiB → bytes. The API's own checks name the field "quota".
function quotaBytes(v: string): number {
  const n = Number(v.trim() || "0");
  if (!Number.isFinite(n) || n < 0) throw new Error("The quota must be a number of MiB (0 or empty: no quota)");
  return Math.round(n * MiB);
}

export function Users({ session }: { session: Session }) {
  const list = usePaged<User>("/users");
  const query = list.query;
  const [open, setOpen] = useState("");
  return (
    <Page title="Users">
      <SearchBox id="user-search" label="Search users" placeholder="address or name" onSearch={list.search} />
      <Loading state={list}>
        {(us) => us.length === 0 ? <p>{query ? `No user matches “${query}”.` : "No users yet."}</p> : (
          <table>
            <caption class="sr-only">{us.length} users on page {list.page}</caption>
            <thead><tr><th scope="col">Address</th><th scope="col">Name</th><th scope="col">Mailbox use</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {us.map((u) => (
                <>
                  <tr class={u.enabled ? "" : "disabled"}>
                    <th scope="row">{u.address}{u.admin && <span class="badge">admin</span>}</th>
                    <td>{u.name}</td>
                    <td><QuotaBar used={u.used} quota={u.quota} label={`Mailbox use of ${u.address}`} /></td>
                    <td>{u.enabled ? "enabled" : "disabled"}</td>
                    <td>
                      <button type="button" class="small" aria-expanded={open === u.address} onClick={() => setOpen(open === u.address ? "" : u.address)}>
                        Manage<span class="sr-only"> {u.address}</span>
                      </button>
                    </td>
                  </tr>
                  {open === u.address && (
                    <tr><td colSpan={5}><UserPanel user={u} self={u.address === session.address} changed={list.reload} /></td></tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <Pager label="Users" state={list} />
      <NewUser created={list.reload} />
    </Page>
  );
}

function NewUser({ created }: { created: () => unknown }) {
  const [address, setAddress] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [quota, setQuota] = useState("");
  return (
    <>
      <h2>Create a user</h2>
      <Form label="Create a user" submit="Create user" busyLabel="Creating (hashing the password)…" onSubmit={async () => {
        const body: Record<string, unknown> = { address, password, name };
        if (quota.trim()) body.quota = quotaBytes(quota);
        await post("/users", body);
        announce(`User ${address} created`);
        setAddress(""); setName(""); setPassword(""); setQuota("");
        await created();
      }}>
        <Field name="address" label="Address" type="email" required value={address} onInput={setAddress} placeholder="alice@example.org" />
        <Field name="name" label="Display name" value={name} onInput={setName} />
        <Field name="password" label="Password" type="password" autocomplete="new-password" required value={password} onInput={setPassword} />
        <Field name="quota" label="Quota (MiB)" type="number" value={quota} onInput={setQuota} hint="Empty or 0: no quota" />
      </Form>
    </>
  );
}

function UserPanel({ user, self, changed }: { user: User; self: boolean; changed: () => unknown }) {
  const a = enc(user.address);
  const [name, setName] = useState(user.name);
  const [quota, setQuota] = useState(user.quota ? String(user.quota / MiB) : "");
  const [password, setPassword] = useState("");
  const [sender, setSender] = useState("");
  return (
    <div class="panel" role="group" aria-label={`Manage ${user.address}`}>
      <h3>{user.address}</h3>
      <p>
        {user.messages} messages · created {when(user.created)}
        {user.aliases.length > 0 && <> · aliases: {user.aliases.join(", ")}</>}
      </p>
      <div class="row-actions">
        <Action label={user.enabled ? "Disable" : "Enable"} danger={user.enabled}
          confirm={user.enabled ? `Disable ${user.address}? It can no longer log in or receive mail.` : undefined}
          run={async () => { await patch(`/users/${a}`, { enabled: !user.enabled }); announce(`${user.address} ${user.enabled ? "disabled" : "enabled"}`); await changed(); }} />
        {user.admin ? (
          <Action label="Revoke admin role" danger confirm={self ? "Revoke your own admin role? You will lose access to these pages." : undefined}
            run={async () => { await del(`/admins/${a}`); announce(`${user.address} is no longer an admin`); await changed(); }} />
        ) : (
          <Action label="Grant admin role" run={async () => { await put(`/admins/${a}`); announce(`${user.address} is now an admin`); await changed(); }} />
        )}
        <Action label="Remove user" danger confirm={`Remove ${user.address} and all its mail? This cannot be undone.`}
          run={async () => { await del(`/users/${a}`); announce(`${user.address} removed`); await changed(); }} />
      </div>
      <div class="columns">
        <Form label={`Name and quota of ${user.address}`} submit="Save" onSubmit={async () => {
          await patch(`/users/${a}`, { name, quota: quotaBytes(quota) });
          announce("Saved");
          await changed();
        }}>
          <Field name="name" label="Display name" value={name} onInput={setName} />
          <Field name="quota" label="Quota (MiB)" type="number" value={quota} onInput={setQuota} hint="Empty or 0: no quota" />
        </Form>
        <Form label={`Reset the password of ${user.address}`} submit="Reset password" busyLabel="Hashing…" onSubmit={async () => {
          await post(`/users/${a}/password`, { password });
          setPassword("");
          announce(`Password of ${user.address} reset; its web sessions ended`);
        }}>
          <Field name="password" label="New password" type="password" autocomplete="new-password" required value={password} onInput={setPassword} />
        </Form>
      </div>
      <h4>Allowed senders</h4>
      <p class="hint">Addresses (or @domain) this user may send as, besides its own address and aliases.</p>
      <ul>
        {user.allowed_senders.map((s) => (
          <li>{s} <Action label="Withdraw" danger run={async () => { await del(`/users/${a}/allowed-senders/${enc(s)}`); await changed(); }} /></li>
        ))}
      </ul>
      <Form label={`Allow ${user.address} another sender`} submit="Allow sender" onSubmit={async () => {
        await post(`/users/${a}/allowed-senders`, { sender });
        setSender("");
        await changed();
      }}>
        <Field name="sender" label="Sender address or @domain" value={sender} onInput={setSender} />
      </Form>
      <h4>App passwords</h4>
      <UserAppPasswords address={user.address} />
    </div>
  );
}

function UserAppPasswords({ address }: { address: string }) {
  const list = useLoad(() => get<AppPassword[]>(`/users/${enc(address)}/app-passwords`), [address]);
  return (
    <Loading state={list}>
      {(ps) => ps.length === 0 ? <p class="muted">None. The user creates them on their own “App passwords” page.</p> : (
        <ul>
          {ps.map((p) => (
            <li>{p.name} <span class="muted">({p.id}, {when(p.created)})</span>{" "}
              <Action label="Revoke" danger confirm={`Revoke the app password “${p.name}”?`}
                run={async () => { await del(`/users/${enc(address)}/app-passwords/${enc(p.id)}`); await list.reload(); }} />
            </li>
          ))}
        </ul>
      )}
    </Loading>
  );
}

