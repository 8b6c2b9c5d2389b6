/**
 * Gate kiosk (docs/WEB.md): a fresh OpenID4VP QR code per tap, the verdict within a second of the phone's answer
 * (Server-Sent Events over fetch, polling when the stream breaks), then the next QR. The ledger-health strip turns
 * red — and the QR gives way to "out of service" — whenever the verifier's ledger is stale or unavailable, or the
 * page has not heard from the verifier for a few seconds: never green on doubt. The verifier decides; this page only
 * shows what it decided.
 *
 * Credential: the page pairs once with the one-time code in its URL fragment (`#pair=…`, never sent to a server),
 * keeps the kiosk session token in localStorage and sends it as a bearer token.
 *
 * Query parameters (not secret): `use` (building-gate, library-card; default the verifier's first), `hold`
 * (seconds a verdict stays on screen, 1–30, default 5).
 */
import { h, render } from "../common/dom.js";
import { HttpStatusError, readEventStream } from "../common/event-stream.js";
import type { LedgerHealth } from "../common/ledger-health.js";
import { refusalTexts, type Bilingual } from "../common/refusals.js";

interface Session {
  readonly token: string;
  readonly terminalId: string;
  readonly expiresAt: string;
}
interface Created {
  readonly id: string;
  readonly authorization_request: string;
  readonly qr_svg: string;
}
interface Result {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly claims?: Record<string, unknown>;
  readonly organisation?: { readonly name?: string };
}
interface Outcome {
  readonly id: string;
  readonly status: "pending" | "accepted" | "refused" | "expired";
  readonly result?: Result;
}

type View =
  | { kind: "starting" }
  | { kind: "unpaired"; problem?: Bilingual }
  | { kind: "qr"; created: Created }
  | { kind: "verdict"; outcome: Outcome }
  | { kind: "error"; problem: Bilingual };

const SESSION_KEY = "mcid.gate.session";
/** No health from the verifier for this long: treated as lost (red), whatever the last health said. */
const LOST_AFTER_MS = 4_000;
const RETRY_MS = 1_500;

const API = new URL("../", location.href); // the verifier's root (the page is served at <root>/gate/)
const query = new URLSearchParams(location.search);
const holdMs = Math.min(30, Math.max(1, Number(query.get("hold") ?? "5") || 5)) * 1000;

const gate = document.getElementById("gate")!;
const stage = document.getElementById("stage")!;
const healthStrip = document.getElementById("health")!;
const terminalLabel = document.getElementById("terminal")!;
const clock = document.getElementById("clock")!;

let session: Session | undefined;
let use = query.get("use") ?? "";
let view: View = { kind: "starting" };
let health: LedgerHealth | undefined;
let healthAt = -Infinity;
let generation = 0;
/** Aborts the event stream of the tap being followed when a new cycle (or a re-pairing) replaces it. */
let following = new AbortController();
let rendered = "";

const ko = (text: string) => h("span", { lang: "ko" }, text);
const en = (text: string) => h("span", { class: "en", lang: "en" }, text);
const both = (tag: "p" | "h2", cls: string, text: Bilingual): HTMLElement => h(tag, { class: cls }, ko(text.ko), " ", en(text.en));

function loadSession(): Session | undefined {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (raw === null) return undefined;
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.token !== "string" || typeof parsed.terminalId !== "string" || typeof parsed.expiresAt !== "string") return undefined;
    if (Date.parse(parsed.expiresAt) <= Date.now()) return undefined;
    return parsed as Session;
  } catch {
    return undefined; // unreadable storage: pair again
  }
}

async function api<T>(method: "GET" | "POST", path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = {};
  if (auth && session !== undefined) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(path, API), { method, headers, cache: "no-store", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!response.ok) {
    let description = `HTTP ${response.status}`;
    try {
      description = ((await response.json()) as { error_description?: string }).error_description ?? description;
    } catch {
      // a body that is not the service's JSON error: the status says enough
    }
    throw new HttpStatusError(response.status, description);
  }
  return (await response.json()) as T;
}

function healthBad(): boolean {
  return health === undefined || health.state !== "ok" || performance.now() - healthAt > LOST_AFTER_MS;
}

function renderHealth(): void {
  const lost = health !== undefined && performance.now() - healthAt > LOST_AFTER_MS;
  const state = health === undefined ? (lost ? "lost" : "unknown") : lost ? "lost" : health.state;
  healthStrip.dataset.health = state;
  if (health === undefined || lost) {
    render(healthStrip, ko(lost ? "검증 서버 연결 끊김 — 출입 확인 중지" : "원장 상태 확인 중…"), " ", en(lost ? "Verifier connection lost — gate stopped" : "Checking the ledger…"));
    return;
  }
  const block = health.block >= 0 ? `#${health.block.toLocaleString("en-US")}` : "—";
  const age = health.stalenessMs === null ? "—" : `${(health.stalenessMs / 1000).toFixed(1)}`;
  const nodes = `${health.nodesUsable}/${health.nodesTotal}`;
  if (health.state === "ok") {
    render(healthStrip, ko(`원장 정상 · 블록 ${block} · ${age}초 전 · 노드 ${nodes} (정족수 ${health.quorum})`), " ",
      en(`Ledger OK · block ${block} · ${age} s ago · nodes ${nodes} (quorum ${health.quorum})`));
  } else if (health.state === "stale") {
    const bound = (health.maxStalenessMs / 1000).toFixed(0);
    render(healthStrip, ko(`원장 지연 ${age}초 (허용 ${bound}초) — 출입 확인 중지 · 블록 ${block}`), " ",
      en(`Ledger stale ${age} s (bound ${bound} s) — gate refusing · block ${block}`));
  } else {
    render(healthStrip, ko(`원장 연결 불가 — 출입 확인 중지 · 노드 ${nodes} (정족수 ${health.quorum})`), " ",
      en(`Ledger unavailable — gate refusing · nodes ${nodes} (quorum ${health.quorum})`));
  }
}

function verdictNodes(outcome: Outcome): { state: string; nodes: Node[] } {
  const result = outcome.result;
  if (outcome.status === "accepted" && result?.ok === true) {
    const claims = result.claims ?? {};
    const name = typeof claims.name === "string" ? claims.name : undefined;
    const org = typeof claims.organisation === "string" ? claims.organisation : result.organisation?.name;
    const unit = [claims.department, claims.position].filter((v): v is string => typeof v === "string").join(" · ");
    return {
      state: "accepted",
      nodes: [
        h("p", { class: "verdict-mark", "aria-hidden": "true" }, "✓"),
        both("h2", "verdict-title", { ko: "통과", en: "Admitted" }),
        name === undefined ? null : h("p", { class: "holder-name", "data-field": "name" }, name),
        org === undefined ? null : h("p", { class: "holder-org", "data-field": "organisation" }, org),
        unit === "" ? null : h("p", { class: "holder-org" }, unit),
      ].filter((n): n is HTMLElement => n !== null),
    };
  }
  const reasons = refusalTexts(result?.reasons ?? []);
  return {
    state: "refused",
    nodes: [
      h("p", { class: "verdict-mark", "aria-hidden": "true" }, "✕"),
      both("h2", "verdict-title", { ko: "출입 불가", en: "Refused" }),
      ...reasons.map((r) => both("p", "reason", r)),
      both("p", "hint", { ko: "안내 데스크로 문의해 주세요", en: "Please see the help desk" }),
    ],
  };
}

/** Renders the stage for the current view and health (only when something changed: the live region speaks once). */
function renderStage(): void {
  let state: string;
  let key: string;
  let nodes: Node[];
  if (view.kind === "qr" && healthBad()) {
    state = "out-of-service";
    key = `oos:${health?.state ?? "none"}:${performance.now() - healthAt > LOST_AFTER_MS}`;
    nodes = [
      h("p", { class: "verdict-mark", "aria-hidden": "true" }, "!"),
      both("h2", "verdict-title", { ko: "출입 확인 중지", en: "Gate out of service" }),
      both("p", "reason", health === undefined || performance.now() - healthAt > LOST_AFTER_MS
        ? { ko: "검증 서버의 응답이 없습니다", en: "The verifier does not answer" }
        : health.state === "stale"
          ? { ko: "원장 정보가 오래되어 확인할 수 없습니다", en: "Ledger data is stale: cannot verify" }
          : { ko: "원장에 연결할 수 없어 확인할 수 없습니다", en: "Ledger unavailable: cannot verify" }),
      both("p", "hint", { ko: "잠시 후 다시 시도하거나 안내 데스크로 문의해 주세요", en: "Try again shortly or see the help desk" }),
    ];
  } else if (view.kind === "qr") {
    state = "ready";
    key = `qr:${view.created.id}`;
    nodes = [
      both("p", "prompt", { ko: "휴대전화로 QR 코드를 읽어 주세요", en: "Scan the QR code with your phone" }),
      h("figure", { id: "qr", class: "qr", "data-authorization-request": view.created.authorization_request, "data-presentation": view.created.id },
        h("img", { src: new URL(view.created.qr_svg.replace(/^\//, ""), API).href, alt: "출입 확인 QR 코드 · Gate check QR code", width: "600", height: "600" })),
      both("p", "hint", { ko: "모바일 공무원증 앱에서 ‘출입’을 누르세요", en: "Open the mobile ID app and choose ‘Gate’" }),
    ];
  } else if (view.kind === "verdict") {
    const verdict = verdictNodes(view.outcome);
    state = verdict.state;
    key = `verdict:${view.outcome.id}`;
    nodes = verdict.nodes;
  } else if (view.kind === "unpaired") {
    state = "unpaired";
    key = `unpaired:${view.problem?.en ?? ""}`;
    nodes = [
      both("h2", "verdict-title", { ko: "단말기 연결 필요", en: "Kiosk not paired" }),
      view.problem === undefined ? null : both("p", "reason", view.problem),
      both("p", "hint", { ko: "시설 담당자에게 연결 코드가 담긴 주소를 받아 여세요", en: "Open the pairing address from facilities staff" }),
    ].filter((n): n is HTMLElement => n !== null);
  } else if (view.kind === "error") {
    state = "error";
    key = `error:${view.problem.en}`;
    nodes = [h("p", { class: "verdict-mark", "aria-hidden": "true" }, "!"), both("h2", "verdict-title", { ko: "출입 확인 중지", en: "Gate out of service" }), both("p", "reason", view.problem)];
  } else {
    state = "starting";
    key = "starting";
    nodes = [both("p", "message", { ko: "준비 중…", en: "Starting…" })];
  }
  gate.dataset.state = state;
  if (key === rendered) return;
  rendered = key;
  render(stage, ...nodes);
}

function show(next: View): void {
  view = next;
  renderStage();
}

function onHealth(data: unknown): void {
  health = data as LedgerHealth;
  healthAt = performance.now();
  renderHealth();
  renderStage();
}

function unpair(problem: Bilingual): void {
  generation += 1;
  following.abort();
  localStorage.removeItem(SESSION_KEY);
  session = undefined;
  terminalLabel.textContent = "";
  show({ kind: "unpaired", problem });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follows one presentation until it is answered or expired: the event stream, polling while it is broken. */
async function watch(id: string, gen: number): Promise<Outcome | undefined> {
  while (gen === generation) {
    let outcome: Outcome | undefined;
    try {
      await readEventStream(new URL(`presentations/${id}/events`, API).href, { headers: { authorization: `Bearer ${session?.token ?? ""}` }, signal: following.signal }, (event, data) => {
        if (event === "health") onHealth(data);
        else if (event === "outcome") outcome = data as Outcome;
      });
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 401) {
        unpair({ ko: "단말기 인증이 만료되었습니다", en: "The kiosk's pairing expired or was withdrawn" });
        return undefined;
      }
      // Stream broken (network, restart): the watchdog turns the strip red; poll once, then reconnect.
    }
    if (outcome !== undefined) return outcome;
    if (gen !== generation) return undefined;
    await sleep(RETRY_MS);
    try {
      const polled = await api<Outcome>("GET", `presentations/${id}`);
      if (polled.status !== "pending") return polled;
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 404) return { id, status: "expired" };
      if (error instanceof HttpStatusError && error.status === 401) {
        unpair({ ko: "단말기 인증이 만료되었습니다", en: "The kiosk's pairing expired or was withdrawn" });
        return undefined;
      }
    }
  }
  return undefined;
}

/** One tap: a fresh presentation request, its QR, the verdict, then the next. */
async function cycle(): Promise<void> {
  const gen = ++generation;
  following.abort();
  following = new AbortController();
  let created: Created;
  try {
    created = await api<Created>("POST", "presentations", { use });
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 401) return unpair({ ko: "단말기 인증이 만료되었습니다", en: "The kiosk's pairing expired or was withdrawn" });
    const refusedByServer = error instanceof HttpStatusError && error.status === 400;
    show({ kind: "error", problem: refusedByServer ? { ko: "단말기 설정 오류입니다 (용도 use 확인)", en: error.message } : { ko: "검증 서버에 연결할 수 없습니다", en: "Cannot reach the verifier" } });
    await sleep(refusedByServer ? 10 * RETRY_MS : RETRY_MS);
    if (gen === generation) void cycle();
    return;
  }
  if (gen !== generation) return;
  show({ kind: "qr", created });
  const outcome = await watch(created.id, gen);
  if (outcome === undefined || gen !== generation) return;
  if (outcome.status === "expired" || outcome.status === "pending") return void cycle();
  show({ kind: "verdict", outcome });
  await sleep(holdMs);
  if (gen === generation) void cycle();
}

async function pairFromFragment(): Promise<Bilingual | undefined> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const code = fragment.get("pair");
  if (code === null) return undefined;
  // Out of the address bar (and the history) at once: the code is single use, but a screenshot should not show it.
  history.replaceState(null, "", location.pathname + location.search);
  try {
    const paired = await api<{ token: string; terminal_id: string; expires_at: string }>("POST", "kiosk/pair", { code }, false);
    session = { token: paired.token, terminalId: paired.terminal_id, expiresAt: paired.expires_at };
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    return undefined;
  } catch {
    return { ko: "연결 코드가 올바르지 않거나 만료되었거나 이미 사용되었습니다", en: "The pairing code is wrong, expired or already used" };
  }
}

/** The heading names what this screen checks: a building gate, or a library desk (`?use=library-card`). */
function showTitle(): void {
  const library = use === "library-card";
  const title = document.querySelector(".title");
  if (title === null) return;
  render(title, ko(library ? "모바일 공무원증 도서관 이용 확인" : "모바일 공무원증 출입 확인"), " ", en(library ? "Mobile civil-servant ID · library desk" : "Mobile civil-servant ID · gate"));
  document.title = library ? "도서관 이용 확인 · Library desk — 모바일 공무원증" : "출입 확인 · Gate check — 모바일 공무원증";
}

function tick(): void {
  clock.textContent = new Date().toLocaleTimeString("ko-KR", { hour12: false });
  renderHealth();
  renderStage();
}

async function boot(): Promise<void> {
  const problem = await pairFromFragment();
  session ??= loadSession();
  if (session === undefined) return show({ kind: "unpaired", ...(problem === undefined ? {} : { problem }) });
  try {
    const info = await api<{ terminal_id: string; uses: string[] }>("GET", "kiosk/session");
    terminalLabel.textContent = `단말기 Terminal: ${info.terminal_id}`;
    if (use === "") use = info.uses[0] ?? "building-gate";
    showTitle();
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 401) return unpair({ ko: "단말기 인증이 만료되었습니다", en: "The kiosk's pairing expired or was withdrawn" });
    show({ kind: "error", problem: { ko: "검증 서버에 연결할 수 없습니다", en: "Cannot reach the verifier" } });
    await sleep(RETRY_MS);
    return boot();
  }
  void cycle();
}

// A new pairing address typed or pasted into a running kiosk changes only the fragment: pair again at once.
window.addEventListener("hashchange", () => {
  if (!new URLSearchParams(location.hash.slice(1)).has("pair")) return;
  generation += 1; // the running cycle stops at its next step
  following.abort();
  session = undefined;
  void boot();
});

setInterval(tick, 500);
tick();
void boot();
