// Chat streams (docs/streams.md): the signed-in user's streams (an administrator sees every
// one and can create them), a stream's page with its topics, the messages of a topic, a
// compose box and live updates over the stream's WebSocket, and (administrators) a settings
// page: the email address, a new token, members, the email posting rule, enable/disable.
// Messages are plain text put in the page as text (never as HTML); attachment links are
// the API's own paths only.
import { useEffect, useRef, useState } from "preact/hooks";
import { Session, Stream, StreamMessage, Topic, del, enc, get, patch, post } from "../api";
import { Action, CopyButton, Field, Form, Loading, Page, Select, announce, bytes, useLoad, when } from "../ui";

export const postingRules: [string, string][] = [
  ["anyone", "Anyone who has the address"],
  ["local", "Authenticated local users"],
  ["members", "Authenticated members of the stream"],
  ["nobody", "Nobody (email posting off)"],
];

// "#/streams", "#/streams/<slug>", "#/streams/<slug>/settings"
export function Streams({ session, rest }: { session: Session; rest: string }) {
  const [slug, sub] = rest.split("/").map((x) => decodeURIComponent(x));
  if (slug && sub === "settings" && session.admin) return <StreamSettings slug={slug} />;
  if (slug) return <StreamView slug={slug} session={session} />;
  return <StreamList session={session} />;
}

function StreamList({ session }: { session: Session }) {
  const list = useLoad(() => get<Stream[]>("/streams"));
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [description, setDescription] = useState("");
  const [posting, setPosting] = useState("anyone");
  return (
    <Page title="Streams" intro={session.admin ? "Every chat stream; members read and post in theirs." : "The chat streams you are a member of."}>
      <Loading state={list}>
        {(ss) => ss.length === 0 ? <p>{session.admin ? "No streams yet." : "You are not a member of any stream."}</p> : (
          <table>
            <thead><tr><th scope="col">Stream</th><th scope="col">Description</th><th scope="col">Members</th><th scope="col">State</th>{session.admin && <th scope="col">Settings</th>}</tr></thead>
            <tbody>
              {ss.map((s) => (
                <tr class={s.enabled ? "" : "disabled"}>
                  <th scope="row"><a href={`#/streams/${enc(s.slug)}`}>{s.name}</a> <span class="muted">({s.slug})</span></th>
                  <td>{s.description}</td>
                  <td>{s.members.length}</td>
                  <td>{s.enabled ? "enabled" : "disabled"}</td>
                  {session.admin && <td><a href={`#/streams/${enc(s.slug)}/settings`}>Settings<span class="sr-only"> of {s.name}</span></a></td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      {session.admin && (
        <>
          <h2>Create a stream</h2>
          <Form label="Create a stream" submit="Create stream" onSubmit={async () => {
            const body: Record<string, string> = { name, description, email_posting: posting };
            if (slug.trim()) body.slug = slug.trim();
            const s = await post<Stream>("/streams", body);
            announce(`Stream ${s.name} created`);
            setName(""); setSlug(""); setDescription(""); setPosting("anyone");
            location.hash = `#/streams/${enc(s.slug)}/settings`;
          }}>
            <Field name="name" label="Name" required value={name} onInput={setName} placeholder="Dev Team" />
            <Field name="slug" label="Short name (in the address)" value={slug} onInput={setSlug} hint="Letters, digits and dashes; empty: made from the name" />
            <Field name="description" label="Description" value={description} onInput={setDescription} />
            <Select name="email_posting" label="Who may post by email" value={posting} onChange={setPosting} options={postingRules} />
          </Form>
        </>
      )}
    </Page>
  );
}

// ---- the stream page ----

type LiveState = "connecting" | "live" | "offline";

function StreamView({ slug, session }: { slug: string; session: Session }) {
  const stream = useLoad(() => get<Stream>(`/streams/${enc(slug)}`), [slug]);
  const [topics, setTopics] = useState<Topic[] | null>(null);
  const [topic, setTopic] = useState<string>("");
  const [messages, setMessages] = useState<StreamMessage[] | null>(null);
  const [error, setError] = useState("");
  const [live, setLive] = useState<LiveState>("connecting");
  const topicRef = useRef(topic);
  topicRef.current = topic;
  const lastId = useRef(0);
  const socket = useRef<WebSocket | null>(null);
  const seen = useRef(new Set<number>());

  const loadTopics = async () => {
    try {
      const ts = await get<Topic[]>(`/streams/${enc(slug)}/topics`);
      ts.sort((a, b) => b.max_id - a.max_id);
      setTopics(ts);
      for (const t of ts) lastId.current = Math.max(lastId.current, t.max_id);
      return ts;
    } catch (e) {
      setError(String((e as Error).message));
      return [];
    }
  };
  useEffect(() => {
    (async () => {
      const ts = await loadTopics();
      if (!topicRef.current && ts.length > 0) setTopic(ts[0].name);
    })();
  }, [slug]);
  useEffect(() => {
    if (!topic) { setMessages([]); return; }
    setMessages(null);
    get<StreamMessage[]>(`/streams/${enc(slug)}/messages?topic=${enc(topic)}`).then(setMessages, (e) => setError(e.message));
    const ws = socket.current;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "watch", topic }));
  }, [slug, topic]);

  // The WebSocket: every new message of the stream, whoever posted it and however.
  useEffect(() => {
    let closed = false, retry = 1000, heartbeat = 0, timer = 0;
    const connect = () => {
      setLive("connecting");
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(`${scheme}${location.host}/api/v1/streams/${enc(slug)}/live` +
        (lastId.current ? `?after=${lastId.current}` : ""));
      socket.current = ws;
      ws.onopen = () => {
        setLive("live");
        retry = 1000;
        ws.send(JSON.stringify({ type: "watch", topic: topicRef.current }));
        heartbeat = window.setInterval(() => {
          if (ws.readyState === WebSocket.OPEN && document.visibilityState === "visible")
            ws.send(JSON.stringify({ type: "heartbeat", topic: topicRef.current }));
        }, 30000);
      };
      ws.onmessage = (ev) => {
        let f: any;
        try { f = JSON.parse(ev.data); } catch { return; }
        if (f.type === "hello") {
          lastId.current = Math.max(lastId.current, f.last_id || 0);
        } else if (f.type === "message") {
          const m = f.message as StreamMessage;
          lastId.current = Math.max(lastId.current, m.id);
          received(m);
        }
      };
      ws.onclose = () => {
        clearInterval(heartbeat);
        if (socket.current === ws) socket.current = null;
        if (closed) return;
        setLive("offline");
        timer = window.setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(timer);
      clearInterval(heartbeat);
      socket.current?.close(1000);
      socket.current = null;
    };
  }, [slug]);

  const received = (m: StreamMessage) => {
    if (seen.current.has(m.id)) return;  // posted here and also pushed by the socket
    seen.current.add(m.id);
    setTopics((ts) => {
      const list = ts ? [...ts] : [];
      const i = list.findIndex((t) => t.name.toLowerCase() === m.topic.toLowerCase());
      if (i >= 0) list[i] = { ...list[i], messages: list[i].messages + 1, max_id: Math.max(list[i].max_id, m.id) };
      else list.unshift({ name: m.topic, messages: 1, max_id: m.id });
      list.sort((a, b) => b.max_id - a.max_id);
      return list;
    });
    if (m.topic.toLowerCase() === topicRef.current.toLowerCase()) {
      setMessages((ms) => (ms && !ms.some((x) => x.id === m.id) ? [...ms, m] : ms));
    } else {
      announce(`New message from ${m.sender_full_name || m.sender_email} in ${m.topic}`);
    }
    if (!topicRef.current) setTopic(m.topic);
  };

  const [newTopic, setNewTopic] = useState("");
  const [content, setContent] = useState("");
  useEffect(() => setNewTopic(topic), [topic]);

  return (
    <Loading state={stream}>
      {(s) => (
        <Page title={s.name} intro={s.description || undefined}>
          <p class="stream-bar">
            <a href="#/streams">All streams</a>
            {session.admin && <> · <a href={`#/streams/${enc(s.slug)}/settings`}>Settings</a></>}
            {" · "}
            <span class={"live " + live} role="status">
              {live === "live" ? "Live: new messages appear here" : live === "connecting" ? "Connecting…" : "Offline, reconnecting…"}
            </span>
          </p>
          {error && <p class="form-error" role="alert">{error}</p>}
          {!s.enabled && <p class="notice" role="note">This stream is disabled: it takes no new messages.</p>}
          <div class="stream">
            <nav class="topics" aria-label="Topics">
              <h2>Topics</h2>
              {topics === null ? <p class="muted">Loading…</p> : topics.length === 0 ? <p class="muted">No topics yet: write the first message.</p> : (
                <ul>
                  {topics.map((t) => (
                    <li>
                      <button type="button" class="topic" aria-current={t.name === topic ? "true" : undefined} onClick={() => setTopic(t.name)}>
                        {t.name} <span class="count" aria-label={`${t.messages} messages`}>{t.messages}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </nav>
            <section class="messages" aria-labelledby="topic-title">
              <h2 id="topic-title">{topic ? `Topic: ${topic}` : "No topic chosen"}</h2>
              {messages === null ? <p class="muted">Loading…</p> : (
                <ol class="message-list" role="log" aria-label={`Messages in ${topic || "this stream"}`}>
                  {messages.map((m) => <Message m={m} />)}
                </ol>
              )}
              <h2>Write a message</h2>
              <Form label="Write a message" submit="Send" busyLabel="Sending…" onSubmit={async () => {
                const t = newTopic.trim();
                const r = await post<{ id: number }>(`/streams/${enc(s.slug)}/messages`, { topic: t, content });
                setContent("");
                announce("Message sent");
                if (t.toLowerCase() !== topic.toLowerCase()) setTopic(t);
                // The live socket brings it as well; shown now so the sender need not wait.
                const mine = await get<StreamMessage[]>(`/streams/${enc(s.slug)}/messages?after=${r.id - 1}&limit=1`);
                for (const m of mine) received(m);
              }}>
                <Field name="topic" label="Topic" required value={newTopic} onInput={setNewTopic} />
                <Field name="content" label="Message" required multiline value={content} onInput={setContent} />
              </Form>
            </section>
          </div>
        </Page>
      )}
    </Loading>
  );
}

function Message({ m }: { m: StreamMessage }) {
  const who = m.sender_full_name || m.sender_email;
  const time = new Date(m.timestamp * 1000);
  return (
    <li class="message" aria-label={`${who}, ${time.toLocaleString()}`}>
      <div class="meta">
        <strong>{who}</strong>
        {m.sender_id === 0 && m.email_from && <span class="muted"> (by email from {m.email_from})</span>}
        {" "}<time dateTime={time.toISOString()}>{time.toLocaleString()}</time>
        {m.via === "email" && <span class="badge">email</span>}
      </div>
      <div class="content">{m.content}</div>
      {m.attachments.length > 0 && (
        <ul class="attachments" aria-label="Attachments">
          {m.attachments.filter((a) => a.url.startsWith("/api/v1/streams/")).map((a) => (
            <li><a href={a.url} download={a.name}>{a.name}</a> <span class="muted">({bytes(a.size)})</span></li>
          ))}
        </ul>
      )}
    </li>
  );
}

// ---- settings (administrators) ----

function StreamSettings({ slug }: { slug: string }) {
  const stream = useLoad(() => get<Stream>(`/streams/${enc(slug)}`), [slug]);
  return (
    <Loading state={stream}>
      {(s) => <SettingsBody s={s} changed={stream.reload} />}
    </Loading>
  );
}

function SettingsBody({ s, changed }: { s: Stream; changed: () => Promise<void> }) {
  const a = enc(s.slug);
  const [member, setMember] = useState("");
  const [posting, setPosting] = useState(s.email_posting);
  return (
    <Page title={`Settings of ${s.name}`}>
      <p class="stream-bar"><a href="#/streams">All streams</a> · <a href={`#/streams/${a}`}>Open the stream</a></p>
      <h2>Email address</h2>
      {s.email_address ? (
        <p>
          <code class="secret" id="stream-address">{s.email_address}</code> <CopyButton text={s.email_address} label="Copy address" />
        </p>
      ) : <p class="notice" role="note">The email gateway is off: set <code>[streams] gateway_pattern</code> (docs/streams.md).</p>}
      <p class="hint">Anyone with the address can post (by the rule below): hand it out like a password.</p>
      <div class="row-actions">
        <Action label="New address (rotate the token)" danger confirm="Replace the address? The old one stops working at once."
          run={async () => { await post(`/streams/${a}/token`); announce("The stream has a new address"); await changed(); }} />
        <Action label={s.enabled ? "Disable stream" : "Enable stream"} danger={s.enabled}
          confirm={s.enabled ? `Disable ${s.name}? It takes no messages while disabled.` : undefined}
          run={async () => { await patch(`/streams/${a}`, { enabled: !s.enabled }); announce(`${s.name} ${s.enabled ? "disabled" : "enabled"}`); await changed(); }} />
        <Action label="Remove stream" danger confirm={`Remove ${s.name} and all its messages? This cannot be undone.`}
          run={async () => { await del(`/streams/${a}`); announce(`${s.name} removed`); location.hash = "#/streams"; }} />
      </div>
      <h2>Who may post by email</h2>
      <Form label="Email posting rule" submit="Save rule" onSubmit={async () => {
        await patch(`/streams/${a}`, { email_posting: posting });
        announce("Saved");
        await changed();
      }}>
        <Select name="email_posting" label="Who may post by email" value={posting} onChange={setPosting} options={postingRules} />
      </Form>
      <h2>Members</h2>
      {s.members.length === 0 ? <p class="muted">No members yet.</p> : (
        <ul>
          {s.members.map((m) => (
            <li>{m} <Action label="Remove" danger
              run={async () => { await del(`/streams/${a}/members/${enc(m)}`); announce(`${m} removed from ${s.name}`); await changed(); }} /></li>
          ))}
        </ul>
      )}
      <Form label="Add a member" submit="Add member" onSubmit={async () => {
        await post(`/streams/${a}/members`, { member });
        announce(`${member} added to ${s.name}`);
        setMember("");
        await changed();
      }}>
        <Field name="member" label="Member address" type="email" required value={member} onInput={setMember} placeholder="alice@example.org" />
      </Form>
      <p class="muted">Created {when(s.created)}</p>
    </Page>
  );
}
