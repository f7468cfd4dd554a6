// The single-page app: sign-in, then the admin pages (for the admin role) and the user's own
// pages, chosen by the URL's #fragment so every page has an address and Back works. Served
// by mailstead-admin-api under a strict CSP: this bundle is the only script.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, Session, get, loadRoutes, post, setCsrf, setSignedOutHandler } from "./api";
import { LiveRegion, Spinner, errorText } from "./ui";
import { Login } from "./pages/login";
import { Dashboard } from "./pages/dashboard";
import { Domains } from "./pages/domains";
import { Users } from "./pages/users";
import { Aliases } from "./pages/aliases";
import { Groups } from "./pages/groups";
import { Catchall } from "./pages/catchall";
import { Relay } from "./pages/relay";
import { Security } from "./pages/security";
import { Dkim } from "./pages/dkim";
import { Queue } from "./pages/queue";
import { Logs } from "./pages/logs";
import { Streams } from "./pages/streams";
import { Account, MyAppPasswords, MyForwarding, MyPassword, MyVacation } from "./pages/me";

interface PageDef {
  path: string;
  title: string;
  admin: boolean;
  chat?: boolean;  // listed under "Chat"
  view: (s: Session, rest: string) => preact.JSX.Element;
}

const pages: PageDef[] = [
  { path: "dashboard", title: "Dashboard", admin: true, view: () => <Dashboard /> },
  { path: "domains", title: "Domains", admin: true, view: () => <Domains /> },
  { path: "users", title: "Users", admin: true, view: (s) => <Users session={s} /> },
  { path: "aliases", title: "Aliases", admin: true, view: () => <Aliases /> },
  { path: "groups", title: "Groups", admin: true, view: () => <Groups /> },
  { path: "catchall", title: "Catch-all", admin: true, view: () => <Catchall /> },
  { path: "dkim", title: "DKIM keys", admin: true, view: () => <Dkim /> },
  { path: "relay", title: "Relay", admin: true, view: () => <Relay /> },
  { path: "security", title: "Email security", admin: true, view: () => <Security /> },
  { path: "queue", title: "Queue and send log", admin: true, view: () => <Queue /> },
  { path: "logs", title: "Logs", admin: true, view: () => <Logs /> },
  { path: "account", title: "My account", admin: false, view: () => <Account /> },
  { path: "password", title: "Password", admin: false, view: (s) => <MyPassword session={s} /> },
  { path: "vacation", title: "Vacation reply", admin: false, view: () => <MyVacation /> },
  { path: "forwarding", title: "Forwarding", admin: false, view: () => <MyForwarding /> },
  // after the account pages: a user's first page (and the fallback) stays "My account"
  { path: "streams", title: "Streams", admin: false, chat: true, view: (s, rest) => <Streams session={s} rest={rest} /> },
  { path: "app-passwords", title: "App passwords", admin: false, view: () => <MyAppPasswords /> },
];

function currentPath(): string {
  return location.hash.replace(/^#\/?/, "").split("?")[0];
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [state, setState] = useState<"loading" | "signed-out" | "ready" | "failed">("loading");
  const [failure, setFailure] = useState("");
  const [path, setPath] = useState(currentPath());

  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener("hashchange", onHash);
    setSignedOutHandler(() => {
      setSession(null);
      setState("signed-out");
    });
    (async () => {
      try {
        await loadRoutes();
        const s = await get<Session>("/session");
        setCsrf(s.csrf_token);
        setSession(s);
        setState("ready");
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) setState("signed-out");
        else {
          setFailure(errorText(e));
          setState("failed");
        }
      }
    })();
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const signedIn = (s: Session) => {
    setCsrf(s.csrf_token);
    setSession(s);
    setState("ready");
    location.hash = s.admin ? "#/dashboard" : "#/account";
  };

  if (state === "loading") return <main class="center"><Spinner label="Loading…" /></main>;
  if (state === "failed") return <main class="center"><p role="alert">The admin API did not answer: {failure}</p></main>;
  if (state === "signed-out" || !session) return <><Login onSignedIn={signedIn} /><LiveRegion /></>;

  const visible = pages.filter((p) => !p.admin || session.admin);
  // "streams/dev/settings": the page "streams" with the rest "dev/settings"
  const page = visible.find((p) => p.path === path || path.startsWith(p.path + "/")) || visible[0];
  const rest = path.startsWith(page.path + "/") ? path.slice(page.path.length + 1) : "";
  const link = (p: PageDef) => (
    <li>
      <a href={"#/" + p.path} aria-current={p === page ? "page" : undefined}>{p.title}</a>
    </li>
  );
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("page-title")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Mailstead</span>
        <span class="who">
          Signed in as <strong>{session.address || "an API token"}</strong>
          {session.admin && <span class="badge">admin</span>}
        </span>
        <button type="button" class="small" onClick={async () => {
          try { await post("/logout"); } catch { /* the session is gone either way */ }
          setSession(null);
          setState("signed-out");
          location.hash = "";
        }}>Sign out</button>
      </header>
      <div class="layout">
        <nav aria-label="Pages">
          {session.admin && (
            <>
              <h2>Administration</h2>
              <ul>{visible.filter((p) => p.admin).map(link)}</ul>
            </>
          )}
          <h2>Chat</h2>
          <ul>{visible.filter((p) => p.chat).map(link)}</ul>
          <h2>My account</h2>
          <ul>{visible.filter((p) => !p.admin && !p.chat).map(link)}</ul>
        </nav>
        <main id="main">{page.view(session, rest)}</main>
      </div>
      <LiveRegion />
    </>
  );
}

render(<App />, document.getElementById("app")!);
