// Sign-in with the account password (app passwords are for mail clients, not for this page).
import { useState } from "preact/hooks";
import { Session, post } from "../api";
import { Field, Form } from "../ui";

export function Login({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [address, setAddress] = useState("");
  const [password, setPassword] = useState("");
  return (
    <main class="login">
      <h1>Sign in to Mailstead</h1>
      <Form label="Sign in" submit="Sign in" busyLabel="Signing in…"
        onSubmit={async () => onSignedIn(await post<Session>("/login", { address, password }))}>
        <Field name="address" label="Email address" type="email" autocomplete="username" required value={address} onInput={setAddress} />
        <Field name="password" label="Password" type="password" autocomplete="current-password" required value={password} onInput={setPassword} />
      </Form>
    </main>
  );
}
