// Lists the API pages (users, aliases: ?limit=&after=&q=, the next page named by the Link
// header): a search box, a page size, and Previous/Next buttons, so a page never asks for
// the whole directory. Previous goes back through the pages seen (the API pages forward only).
import { useCallback, useEffect, useState } from "preact/hooks";
import { getPage } from "./api";
import { errorText } from "./ui";

export const pageSizes = [10, 25, 50, 100];

export function usePaged<T>(base: string, initialSize = 50) {
  const [query, setQuery] = useState("");
  const [size, setSize] = useState(initialSize);
  // The paths of the pages up to the one shown; the last is the current page.
  const first = () => `${base}?limit=${size}` + (query ? "&q=" + encodeURIComponent(query) : "");
  const [trail, setTrail] = useState<string[]>([first()]);
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const current = trail[trail.length - 1];

  const load = useCallback(async (path: string) => {
    setLoading(true);
    try {
      const p = await getPage<T>(path);
      setItems(p.items);
      setNext(p.next);
      setError("");
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => { load(current); }, [current]);
  // a new search or page size starts from the first page
  useEffect(() => { setTrail([first()]); }, [query, size]);

  return {
    data: items, error, loading, query, size, next,
    page: trail.length,
    search: setQuery,
    setSize,
    forward: () => next && setTrail([...trail, next]),
    back: () => trail.length > 1 && setTrail(trail.slice(0, -1)),
    reload: () => load(current),
  };
}

export function SearchBox(p: { id: string; label: string; placeholder: string; onSearch: (q: string) => void }) {
  const [q, setQ] = useState("");
  return (
    <form role="search" class="search" onSubmit={(e) => { e.preventDefault(); p.onSearch(q.trim()); }}>
      <label for={p.id}>{p.label}</label>
      <input id={p.id} type="search" value={q} placeholder={p.placeholder}
        onInput={(e) => { const v = (e.target as HTMLInputElement).value; setQ(v); if (!v) p.onSearch(""); }} />
      <button type="submit" class="small">Search</button>
    </form>
  );
}

export function Pager(p: { label: string; state: ReturnType<typeof usePaged<any>> }) {
  const s = p.state;
  const id = "pager-" + p.label.replace(/\W+/g, "-").toLowerCase();
  return (
    <nav class="pager" aria-label={`${p.label} pages`}>
      <button type="button" class="small" disabled={s.page <= 1 || s.loading} onClick={s.back}>Previous page</button>
      <span aria-live="polite">Page {s.page}{s.query ? ` of the matches for “${s.query}”` : ""}</span>
      <button type="button" class="small" disabled={!s.next || s.loading} onClick={s.forward}>Next page</button>
      <label for={id}>Per page</label>
      <select id={id} value={String(s.size)} onChange={(e) => s.setSize(Number((e.target as HTMLSelectElement).value))}>
        {pageSizes.map((n) => <option value={String(n)}>{n}</option>)}
      </select>
    </nav>
  );
}
