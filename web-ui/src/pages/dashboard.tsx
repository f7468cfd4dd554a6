// Dashboard: counts, queue depth and store size from GET /status; the 24-hour message chart
// and service health from GET /dashboard once the server has it.
import { get, has } from "../api";
import { Loading, NotBuilt, Page, bytes, useLoad } from "../ui";

interface Status {
  hostname: string; domains: number; users: number; aliases: number; groups: number; admins: number; queue: number;
  store_map_size: number; built: Record<string, boolean>;
}

const builtNames: Record<string, string> = {
  outbound_delivery: "Outbound delivery", relay: "Relay", dkim: "DKIM signing", logs: "Logs", metrics: "Metrics",
};

export function Dashboard() {
  const status = useLoad(() => get<Status>("/status"));
  return (
    <Page title="Dashboard">
      <Loading state={status}>
        {(s) => (
          <>
            <p>Server <strong>{s.hostname}</strong></p>
            <dl class="cards">
              {([["Domains", s.domains], ["Users", s.users], ["Aliases", s.aliases], ["Groups", s.groups],
                 ["Admins", s.admins], ["Queued messages", s.queue]] as [string, number][]).map(([k, v]) => (
                <div class="card"><dt>{k}</dt><dd>{v}</dd></div>
              ))}
              <div class="card"><dt>Store size</dt><dd>{bytes(s.store_map_size)}</dd></div>
            </dl>
            <h2>Parts of the suite</h2>
            <ul class="built">
              {Object.entries(s.built).map(([k, v]) => (
                <li class={v ? "ok" : "off"}>{builtNames[k] || k}: {v ? "on" : "not built or not configured"}</li>
              ))}
            </ul>
          </>
        )}
      </Loading>
      <h2>Mail over the last 24 hours</h2>
      {has("GET", "/dashboard") ? <Activity /> : <NotBuilt what="The message chart and service health" needs="GET /api/v1/dashboard" />}
    </Page>
  );
}

interface Point { hour?: string; time?: string; received: number; delivered: number; rejected: number }

function Activity() {
  const d = useLoad(() => get<any>("/dashboard"));
  return (
    <Loading state={d}>
      {(data) => {
        const points: Point[] = data.hours || data.series || data.last_24h || [];
        const max = Math.max(1, ...points.map((p) => Math.max(p.received || 0, p.delivered || 0, p.rejected || 0)));
        const w = 24, h = 120;
        const kinds: (keyof Point)[] = ["received", "delivered", "rejected"];
        return (
          <>
            {data.services && (
              <ul class="built">
                {Object.entries<any>(data.services).map(([name, v]) => (
                  <li class={v === true || v?.up || v === "up" ? "ok" : "off"}>{name}: {typeof v === "object" ? (v.up ? "up" : "down") : String(v)}</li>
                ))}
              </ul>
            )}
            <figure>
              <svg class="chart" viewBox={`0 0 ${points.length * w} ${h + 4}`} role="img"
                aria-label={`Messages per hour: ${points.reduce((a, p) => a + (p.received || 0), 0)} received, ${points.reduce((a, p) => a + (p.delivered || 0), 0)} delivered, ${points.reduce((a, p) => a + (p.rejected || 0), 0)} rejected`}>
                {points.map((p, i) =>
                  kinds.map((k, j) => {
                    const v = Number(p[k] || 0);
                    const bh = (v / max) * h;
                    return <rect class={"bar-" + k} x={i * w + j * 7 + 2} y={h - bh} width={6} height={bh}><title>{`${p.hour || p.time || i}: ${v} ${k}`}</title></rect>;
                  }))}
              </svg>
              <figcaption>
                <span class="key bar-received">received</span> <span class="key bar-delivered">delivered</span>{" "}
                <span class="key bar-rejected">rejected</span>
              </figcaption>
            </figure>
          </>
        );
      }}
    </Loading>
  );
}
