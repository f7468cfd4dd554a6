// The signed-in user's own pages: overview and quota, password, vacation reply, forwarding
// and app passwords. Vacation and forwarding are rules in the user's Sieve script, the same
// ones Roundcube's managesieve plugin edits.
import { useState } from "preact/hooks";
import { ApiError, AppPassword, Forward, Session, User, Vacation, del, enc, get, post, put } from "../api";
import { Action, Check, CopyButton, Field, Form, Loading, Page, QuotaBar, announce, useLoad, when } from "../ui";

export function Account() {
  const me = useLoad(() => get<User>("/me"));
  return (
    <Page title="My account">
      <Loading state={me}>
        {(u) => (
          <>
            <dl class="facts">
              <dt>Address</dt><dd>{u.address}</dd>
              {u.name && <><dt>Name</dt><dd>{u.name}</dd></>}
              <dt>Mailbox use</dt><dd><QuotaBar used={u.used} quota={u.quota} label="My mailbox use" /> · {u.messages} messages</dd>
              {u.aliases.length > 0 && <><dt>Aliases</dt><dd>{u.aliases.join(", ")}</dd></>}
            </dl>
            <p><a href="/api/v1/me/mobileconfig" download="mailstead.mobileconfig">Download a profile for Apple Mail (iPhone, iPad, Mac)</a></p>
          </>
        )}
      </Loading>
    </Page>
  );
}

export function MyPassword({ session }: { session: Session }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  return (
    <Page title="Password" intro="Your password for this page and for mail clients without an app password. Changing it signs out your other sessions.">
      <input type="text" hidden autoComplete="username" value={session.address} />
      <Form label="Change password" submit="Change password" busyLabel="Changing…" onSubmit={async () => {
        setDone(false);
        if (next !== again) throw new ApiError(422, "invalid", "The two new passwords differ", "new_password_again");
        await post("/me/password", { current_password: current, new_password: next });
        setCurrent(""); setNext(""); setAgain("");
        setDone(true);
        announce("Password changed");
      }}>
        <Field name="current_password" label="Current password" type="password" autocomplete="current-password" required value={current} onInput={setCurrent} />
        <Field name="new_password" label="New password" type="password" autocomplete="new-password" required value={next} onInput={setNext} />
        <Field name="new_password_again" label="New password again" type="password" autocomplete="new-password" required value={again} onInput={setAgain} />
      </Form>
      {done && <p class="ok" role="status">Your password was changed.</p>}
    </Page>
  );
}

export function MyVacation() {
  const v = useLoad(() => get<Vacation>("/me/vacation"));
  return (
    <Page title="Vacation reply" intro="An automatic answer to people who write to you, at most once per sender in the number of days you choose.">
      <Loading state={v}>{(cur) => <VacationForm cur={cur} saved={v.reload} />}</Loading>
    </Page>
  );
}

function VacationForm({ cur, saved }: { cur: Vacation; saved: () => Promise<void> }) {
  const [enabled, setEnabled] = useState(cur.enabled);
  const [subject, setSubject] = useState(cur.subject);
  const [reason, setReason] = useState(cur.reason);
  const [days, setDays] = useState(cur.days ? String(cur.days) : "");
  const [start, setStart] = useState(cur.start);
  const [end, setEnd] = useState(cur.end);
  return (
    <Form label="Vacation reply" submit="Save vacation reply" busyLabel="Saving…" onSubmit={async () => {
      const body: Record<string, unknown> = { enabled, subject, reason, start, end };
      if (days.trim()) body.days = Number(days);
      await put("/me/vacation", body);
      announce(enabled ? "Vacation reply on" : "Vacation reply saved (off)");
      await saved();
    }}>
      <Check name="enabled" label="Send a vacation reply" checked={enabled} onChange={setEnabled} />
      <Field name="subject" label="Subject" value={subject} onInput={setSubject} />
      <Field name="reason" label="Message" multiline required value={reason} onInput={setReason} />
      <Field name="days" label="Days between replies to one sender" type="number" value={days} onInput={setDays} hint="Empty: 7" />
      <Field name="start" label="From (date)" type="date" value={start} onInput={setStart} hint="Optional" />
      <Field name="end" label="Until (date)" type="date" value={end} onInput={setEnd} hint="Optional" />
    </Form>
  );
}

export function MyForwarding() {
  const f = useLoad(() => get<Forward>("/me/forwarding"));
  return (
    <Page title="Forwarding" intro="Send a copy of every message you receive to another address.">
      <Loading state={f}>{(cur) => <ForwardForm cur={cur} saved={f.reload} />}</Loading>
    </Page>
  );
}

function ForwardForm({ cur, saved }: { cur: Forward; saved: () => Promise<void> }) {
  const [enabled, setEnabled] = useState(cur.enabled);
  const [target, setTarget] = useState(cur.target);
  const [keep, setKeep] = useState(cur.keep_copy);
  return (
    <Form label="Forwarding" submit="Save forwarding" onSubmit={async () => {
      await put("/me/forwarding", { enabled, target, keep_copy: keep });
      announce("Forwarding saved");
      await saved();
    }}>
      <Check name="enabled" label="Forward my mail" checked={enabled} onChange={setEnabled} />
      <Field name="target" label="Forward to" type="email" value={target} onInput={setTarget} />
      <Check name="keep_copy" label="Keep a copy in my mailbox" checked={keep} onChange={setKeep} />
    </Form>
  );
}

interface NewAppPassword { id: string; name: string; password: string; created?: string }

export function MyAppPasswords() {
  const list = useLoad(() => get<AppPassword[]>("/me/app-passwords"));
  const [name, setName] = useState("");
  const [made, setMade] = useState<NewAppPassword | null>(null);
  return (
    <Page title="App passwords" intro="A separate password for each mail client or device (IMAP, SMTP, ManageSieve). Revoke one when a device is lost; your main password stays the same.">
      <h2>Create an app password</h2>
      <Form label="Create an app password" submit="Create app password" busyLabel="Creating…" onSubmit={async () => {
        setMade(null);
        const r = await post<NewAppPassword>("/me/app-passwords", { name });
        setMade(r);
        setName("");
        announce(`App password ${r.name} created; it is shown only once`);
        await list.reload();
      }}>
        <Field name="name" label="Device or program" required value={name} onInput={setName} placeholder="Phone" />
      </Form>
      {made && (
        <div class="secret" role="alert">
          <p>The app password for <strong>{made.name}</strong> — it is shown only this once:</p>
          <p><code class="password" id="new-app-password">{made.password}</code> <CopyButton text={made.password} /></p>
          <p class="hint">Use it with your address as the user name in the mail client.</p>
        </div>
      )}
      <h2>Your app passwords</h2>
      <Loading state={list}>
        {(ps) => ps.length === 0 ? <p>None yet.</p> : (
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
            <tbody>{ps.map((p) => (
              <tr>
                <th scope="row">{p.name}</th><td><code>{p.id}</code></td><td>{when(p.created)}</td>
                <td><Action label="Revoke" danger confirm={`Revoke “${p.name}”? Clients using it stop working.`}
                  run={async () => { await del(`/me/app-passwords/${enc(p.id)}`); announce(`${p.name} revoked`); await list.reload(); }} /></td>
              </tr>
            ))}</tbody>
          </table>
        )}
      </Loading>
    </Page>
  );
}
