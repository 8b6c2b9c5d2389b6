/**
 * The issuing-officer console (docs/WEB.md "Issuing officer console"): passkey sign-in, the request queue,
 * approval, identity verification, invitations and the SMS outbox, lost-phone lock, unlock, revoke, reissue,
 * the audit trail and the organisation view. The page shows what the API answers; every permission is the
 * API's (a refused action shows the API's refusal), never decided here.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from "@simplewebauthn/browser";
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import { h, languageOf, render, translator, type Child, type Language } from "../common/dom.js";
import { api, ApiError, useSession, type Session } from "./api.js";
import { MESSAGES, NEXT_STEP, VALUE_LABELS, type MessageKey } from "./messages.js";

interface RequestRecord {
  id: string;
  agencyCode: number;
  source: string;
  hrRequestId: string;
  state: string;
  nextStep: string;
  kind: string;
  reissueReason?: string;
  name: string;
  organisationName: string;
  department: string;
  position: string;
  employeeRef: string;
  mobile: string;
  updatedAt: string;
  refusal?: { code: string; reason: string };
  approver?: string;
  rejectionReason?: string;
  credentialId?: string;
  supersededId?: string;
  supersededBy?: string;
  txHash?: string;
  blockNumber?: number;
}
interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  from?: string;
  to?: string;
  origin: string;
  details: Record<string, unknown>;
}
interface Organisation {
  code: number;
  name: string;
  accreditation: { kind: string; status: string; accreditedAt?: string; admin: string };
  issuerKey: { did: string; address: string; registeredFor: number; validFrom?: string; compromised: boolean };
  operators: { purpose: string; address: string; role: string; agencyCode: number }[];
}
interface StatusChange {
  credentialId: string;
  state: string;
  reason: string;
  txHash: string;
  blockNumber: number;
}

const STATES = ["requested", "approved", "identity_verified", "invited", "activated", "registering", "registered", "issued", "rejected", "refused", "identity_failed", "cancelled"];
const LOCK_REASONS = ["lost-device", "pin-lockout", "app-deleted", "device-replaced", "key-compromise", "administrative"];
const UNLOCK_REASONS = ["found-device", "administrative"];
const REVOKE_REASONS = ["left-service", "key-compromise", "lost-device", "device-replaced", "app-deleted", "pin-lockout", "administrative"];
const REISSUE_REASONS = ["lost-device", "pin-lockout", "app-deleted", "device-replaced"];

let language: Language = languageOf();
let t = translator(MESSAGES, language);
const label = (value: string) => VALUE_LABELS[language][value.toLowerCase().replace(/_/g, "-")] ?? VALUE_LABELS[language][value] ?? value;

let session: Session | undefined;
let organisations: Organisation[] = [];
type View = "queue" | "org" | "import" | "staff" | "passkeys";
let view: View = "queue";
let filters = { agency: "", state: "", source: "" };
let selected: { agency: number; id: string } | undefined;
/** The last chain action's outcome, shown in the request's credential panel. */
let lastChange: StatusChange | undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function notify(message: string, kind: "info" | "error" | "ok" = "info"): void {
  const notice = $("notice");
  notice.className = kind;
  notice.textContent = message;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.status === 403 ? `${t("forbidden")} (403): ${error.message}` : `${error.message} (${error.status})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Runs an action with its button disabled; shows the API's refusal; a lost session goes back to sign-in. */
async function run(button: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  if (button !== null) button.disabled = true;
  notify(t("working"));
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && session !== undefined) {
      session = undefined;
      useSession(undefined);
      renderSignIn();
      notify(t("sessionEnded"), "error");
      return;
    }
    notify(describeError(error), "error");
  } finally {
    if (button !== null) button.disabled = false;
  }
}

function button(text: string, attributes: Record<string, string | boolean | undefined>, onClick: (b: HTMLButtonElement) => Promise<void>): HTMLButtonElement {
  const b = h("button", { type: "button", ...attributes }, text);
  b.addEventListener("click", () => void run(b, () => onClick(b)));
  return b;
}

/** A form whose submit runs `onSubmit` with its fields' text values (a missing or file field reads as ""). */
function form(attributes: Record<string, string>, children: Child[], onSubmit: (value: (name: string) => string) => Promise<void>): HTMLFormElement {
  const f = h("form", attributes, ...children);
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    const submit = f.querySelector<HTMLButtonElement>("button[type=submit]");
    const data = new FormData(f);
    const value = (name: string) => {
      const v = data.get(name);
      return typeof v === "string" ? v : "";
    };
    void run(submit, () => onSubmit(value));
  });
  return f;
}

function field(text: string, control: HTMLElement): HTMLLabelElement {
  return h("label", {}, text, control);
}

function select(name: string, id: string, values: readonly string[], options: { empty?: string; selected?: string; labelOf?: (v: string) => string } = {}): HTMLSelectElement {
  const s = h("select", { name, id });
  if (options.empty !== undefined) s.append(h("option", { value: "" }, options.empty));
  for (const v of values) s.append(h("option", { value: v, selected: v === options.selected }, (options.labelOf ?? label)(v)));
  return s;
}

function stateBadge(state: string): HTMLSpanElement {
  return h("span", { class: `state state-${state.toLowerCase()}`, "data-state": state.toLowerCase() }, label(state));
}

function time(iso: string | undefined): string {
  if (iso === undefined) return "";
  return new Date(iso).toLocaleString(language === "ko" ? "ko-KR" : "en-GB", { dateStyle: "short", timeStyle: "medium" });
}

// ---------------------------------------------------------------------------------------------------- chrome

function renderChrome(): void {
  document.documentElement.lang = language;
  document.title = `${t("title")} · ${language === "ko" ? "Issuing officer console" : "모바일 공무원증 발급 관리"}`;
  $("title").textContent = t("title");
  const toggle = $<HTMLButtonElement>("lang");
  toggle.textContent = t("otherLanguage");
  toggle.lang = language === "ko" ? "en" : "ko";
  const skip = document.querySelector<HTMLAnchorElement>(".skip");
  if (skip !== null) skip.textContent = t("skip");
  const who = $("who");
  const nav = $("nav");
  if (session === undefined) {
    who.textContent = "";
    nav.hidden = true;
    render(nav);
    return;
  }
  who.textContent = `${t("signedInAs")} ${session.member.id} (${session.member.roles.map(label).join(", ")})`;
  nav.hidden = false;
  nav.setAttribute("aria-label", language === "ko" ? "메뉴" : "Menu");
  const tab = (v: View, key: MessageKey) => {
    const b = h("button", { type: "button", class: "secondary", "data-view": v, "aria-current": view === v ? "page" : undefined }, t(key));
    b.addEventListener("click", () => {
      view = v;
      void show();
    });
    return b;
  };
  const signOut = button(t("signOut"), { id: "signout", class: "secondary" }, async () => {
    await api("DELETE", "/staff/session");
    session = undefined;
    useSession(undefined);
    renderSignIn();
    notify(t("done"), "ok");
  });
  render(nav, tab("queue", "navQueue"), tab("org", "navOrg"), tab("import", "navImport"), session.member.roles.includes("admin") ? tab("staff", "navStaff") : null, tab("passkeys", "navPasskeys"), signOut);
}

// ---------------------------------------------------------------------------------------------------- sign-in

function isIpHost(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.startsWith("[");
}

function renderSignIn(): void {
  renderChrome();
  const main = $("main");
  if (isIpHost(location.hostname)) {
    const url = `${location.protocol}//localhost${location.port === "" ? "" : `:${location.port}`}${location.pathname}${location.search}${location.hash}`;
    render(main, h("section", { class: "signin" }, h("p", {}, t("ipHost"), " ", h("a", { href: url, id: "localhost-link" }, url))));
    return;
  }
  if (!browserSupportsWebAuthn()) {
    render(main, h("p", {}, t("webauthnMissing")));
    return;
  }
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("enrol") ?? "";
  const codeInput = h("input", { id: "enrol-code", name: "code", autocomplete: "one-time-code", spellcheck: "false", required: true, value: fromLink, size: "26" });
  const labelInput = h("input", { id: "enrol-label", name: "label", value: language === "ko" ? "이 기기" : "this device", maxlength: "60" });
  const signIn = button(t("signIn"), { id: "signin" }, async () => {
    const options = await api<PublicKeyCredentialRequestOptionsJSON>("POST", "/staff/session/options", {});
    const response = await startAuthentication({ optionsJSON: options });
    const started = await api<Session>("POST", "/staff/session", { response });
    await signedIn(started);
  });
  const enrol = form({ id: "enrol-form", class: "row" }, [field(t("enrolCode"), codeInput), field(t("enrolLabel"), labelInput), h("button", { type: "submit", id: "enrol" }, t("enrol"))], async (data) => {
    const started = await api<{ staffId: string; options: PublicKeyCredentialCreationOptionsJSON }>("POST", "/staff/passkeys/register/options", { code: data("code") });
    const response = await startRegistration({ optionsJSON: started.options });
    await api("POST", "/staff/passkeys/register", { response, label: (data("label") || "passkey") });
    if (location.hash !== "") history.replaceState(null, "", location.pathname + location.search); // the code is spent
    codeInput.value = "";
    notify(`${t("enrolled")} (${started.staffId})`, "ok");
    signIn.focus();
  });
  render(
    main,
    h("section", { class: "signin", "aria-labelledby": "signin-title" }, h("h2", { id: "signin-title" }, t("signInTitle")), h("p", {}, t("signInIntro")), signIn),
    h("section", { class: "signin", "aria-labelledby": "enrol-title" }, h("h2", { id: "enrol-title" }, t("enrolTitle")), h("p", {}, t("enrolIntro")), enrol),
  );
}

async function signedIn(started: Session): Promise<void> {
  session = started;
  useSession(started);
  notify("");
  await loadOrganisations();
  view = "queue";
  await show();
}

async function loadOrganisations(): Promise<void> {
  organisations = (await api<{ organisations: Organisation[] }>("GET", "/staff/organisations")).organisations;
}

async function show(): Promise<void> {
  renderChrome();
  if (view === "queue") await renderQueue();
  else if (view === "org") await renderOrganisations();
  else if (view === "import") renderImport();
  else if (view === "passkeys") await renderPasskeys();
  else await renderStaff();
}

// ---------------------------------------------------------------------------------------------------- queue

/** Renders run one after another: only the newest one writes the page (an older answer arriving late is dropped). */
let generation = 0;

async function renderQueue(): Promise<void> {
  const mine = ++generation;
  const query = new URLSearchParams();
  if (filters.agency !== "") query.set("agency", filters.agency);
  if (filters.state !== "") query.set("state", filters.state);
  if (filters.source !== "") query.set("source", filters.source);
  const { requests } = await api<{ requests: RequestRecord[] }>("GET", `/staff/requests?${query.toString()}`);
  const filterForm = form(
    { id: "filters", class: "row", "aria-label": t("filters") },
    [
      field(t("organisation"), select("agency", "f-agency", organisations.map((o) => String(o.code)), { empty: t("allOrganisations"), selected: filters.agency, labelOf: (c) => `${organisations.find((o) => String(o.code) === c)?.name ?? c} (${c})` })),
      field(t("state"), select("state", "f-state", STATES, { empty: t("allStates"), selected: filters.state })),
      field(t("source"), select("source", "f-source", ["e-saram", "insarang"], { empty: t("allSources"), selected: filters.source })),
      h("button", { type: "submit", id: "apply-filters" }, t("apply")),
    ],
    async (data) => {
      filters = { agency: data("agency"), state: data("state"), source: data("source") };
      await renderQueue();
      notify("");
    },
  );
  const rows = requests
    .slice()
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
    .map((r) => {
      const key = `${r.agencyCode}/${r.id}`;
      const open = button(t("open"), { class: "secondary", "aria-label": `${t("open")} ${r.name} ${r.hrRequestId}` }, async () => {
        selected = { agency: r.agencyCode, id: r.id };
        lastChange = undefined;
        await renderQueue();
        notify("");
        $("detail").focus();
      });
      return h(
        "tr",
        { "data-request": key, class: selected !== undefined && `${selected.agency}/${selected.id}` === key ? "selected" : undefined },
        h("td", {}, r.hrRequestId), h("td", {}, r.name), h("td", {}, r.department), h("td", {}, label(r.kind)), h("td", {}, stateBadge(r.state)), h("td", {}, time(r.updatedAt)), h("td", {}, open),
      );
    });
  const table =
    rows.length === 0
      ? h("p", { id: "queue-empty" }, t("queueEmpty"))
      : h(
          "table",
          { id: "queue" },
          h("caption", { class: "muted" }, `${t("navQueue")}: ${rows.length}`),
          h("thead", {}, h("tr", {}, ...[t("request"), t("name"), t("department"), t("kind"), t("state"), t("updated"), ""].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, ...rows),
        );
  const detail = h("section", { id: "detail", tabindex: "-1", "aria-labelledby": "detail-title" });
  if (mine !== generation) return;
  render(
    $("main"),
    h("h2", {}, t("navQueue")),
    filterForm,
    h("div", { class: "table-scroll" }, table),
    button(t("refresh"), { class: "secondary", id: "refresh" }, async () => {
      await renderQueue();
      notify("");
    }),
    detail,
  );
  if (selected !== undefined) await renderDetail(detail, selected.agency, selected.id, () => mine === generation);
}

async function renderDetail(container: HTMLElement, agency: number, id: string, current: () => boolean): Promise<void> {
  const base = `/staff/requests/${agency}/${encodeURIComponent(id)}`;
  const record = await api<RequestRecord>("GET", base);
  const reload = async () => {
    await renderQueue();
  };
  const dl = h("dl", { class: "fields" });
  const add = (key: MessageKey, value: Child) => {
    if (value === undefined || value === "") return;
    dl.append(h("dt", {}, t(key)), h("dd", {}, value));
  };
  add("request", `${record.hrRequestId} · ${label(record.source)}`);
  add("state", stateBadge(record.state));
  add("nextStep", NEXT_STEP[language][record.state] ?? record.nextStep);
  add("name", record.name);
  add("organisation", `${record.organisationName} (${record.agencyCode})`);
  add("department", `${record.department} · ${record.position}`);
  add("employeeRef", record.employeeRef);
  add("mobile", record.mobile);
  add("kind", record.reissueReason === undefined ? label(record.kind) : `${label(record.kind)} (${label(record.reissueReason)})`);
  add("approver", record.approver);
  add("rejectionReason", record.rejectionReason);
  add("refusal", record.refusal === undefined ? undefined : `${record.refusal.code}: ${record.refusal.reason}`);
  add("credentialId", record.credentialId);
  add("supersededId", record.supersededId);
  add("supersededBy", record.supersededBy);
  add("block", record.blockNumber === undefined ? undefined : String(record.blockNumber));
  add("txHash", record.txHash);

  const actions: Child[] = [];
  const reasonInput = (id: string) => h("input", { id, name: "reason", required: true, maxlength: "500" });
  if (record.state === "requested") {
    actions.push(
      h("div", { class: "row" }, button(t("approve"), { id: "approve" }, async () => {
        await api("POST", `${base}/approve`);
        await reload();
        notify(t("done"), "ok");
      })),
      form({ id: "reject-form", class: "row" }, [field(t("rejectionReason"), reasonInput("reject-reason")), h("button", { type: "submit", class: "danger" }, t("reject"))], async (data) => {
        await api("POST", `${base}/reject`, { reason: data("reason") });
        await reload();
        notify(t("done"), "ok");
      }),
    );
  }
  if (record.state === "approved") {
    actions.push(
      h("fieldset", { id: "identity" },
        h("legend", {}, t("identityTitle")),
        button(t("identityStart"), { id: "identity-start" }, async () => {
          await api("POST", `${base}/identity/start`);
          notify(t("identitySent"), "ok");
        }),
        form({ id: "identity-form", class: "row" }, [
          field(t("name"), h("input", { name: "name", id: "identity-name", required: true, maxlength: "100" })),
          field(t("employeeRef"), h("input", { name: "employeeRef", id: "identity-ref", required: true, maxlength: "32" })),
          field(t("identityCode"), h("input", { name: "code", id: "identity-code", required: true, inputmode: "numeric", pattern: "[0-9]{4,12}", autocomplete: "off" })),
          h("button", { type: "submit" }, t("identityVerify")),
        ], async (data) => {
          await api("POST", `${base}/identity/verify`, { name: data("name"), employeeRef: data("employeeRef"), code: data("code") });
          await reload();
          notify(t("done"), "ok");
        }),
      ),
    );
  }
  if (record.state === "identity_verified" || record.state === "invited") {
    actions.push(h("div", { class: "row" }, button(record.state === "invited" ? t("reinvite") : t("invite"), { id: "invite" }, async () => {
      await api("POST", `${base}/invite`);
      await reload();
      notify(t("done"), "ok");
    })));
  }
  if (["requested", "approved", "identity_verified", "invited", "activated"].includes(record.state)) {
    actions.push(form({ id: "cancel-form", class: "row" }, [field(t("reason"), reasonInput("cancel-reason")), h("button", { type: "submit", class: "secondary" }, t("cancel"))], async (data) => {
      await api("POST", `${base}/cancel`, { reason: data("reason") });
      await reload();
      notify(t("done"), "ok");
    }));
  }

  const credential = record.credentialId === undefined ? null : await renderCredential(record, reload);
  const [sms, audit] = await Promise.all([
    api<{ messages: { id: number; purpose: string; to: string; status: string; text: string; attempts: number }[] }>("GET", `${base}/sms`).catch(asError),
    api<{ entries: AuditEntry[] }>("GET", `${base}/audit`),
  ]);
  const smsSection = h("section", { id: "sms", "aria-labelledby": "sms-title" }, h("h3", { id: "sms-title" }, t("smsTitle")));
  if (sms instanceof Error) smsSection.append(h("p", { class: "muted" }, describeError(sms)));
  else if (sms.messages.length === 0) smsSection.append(h("p", { class: "muted" }, t("smsEmpty")));
  else
    smsSection.append(h("div", { class: "table-scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ...[t("purpose"), t("mobile"), t("status"), t("attempts"), t("text")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...sms.messages.map((m) => h("tr", { "data-sms": m.purpose }, h("td", { class: "nowrap" }, label(m.purpose)), h("td", { class: "nowrap" }, m.to), h("td", { class: "nowrap" }, label(m.status)), h("td", {}, String(m.attempts)), h("td", { class: "wrap" }, m.text)))),
    )));
  const auditSection = h("section", { "aria-labelledby": "audit-title" }, h("h3", { id: "audit-title" }, t("auditTitle")),
    h("table", { id: "audit" },
      h("thead", {}, h("tr", {}, ...[t("at"), t("actor"), t("action"), t("change"), t("detailsCol")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...audit.entries.map((e) => h("tr", { "data-action": e.action, "data-actor": e.actor },
        h("td", { class: "nowrap" }, time(e.at)), h("td", { class: "nowrap" }, e.actor), h("td", { class: "nowrap" }, e.action), h("td", { class: "nowrap" }, e.from === undefined ? "" : `${label(e.from)} → ${label(e.to ?? e.from)}`),
        h("td", { class: "wrap" }, Object.entries(e.details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")),
      ))),
    ),
  );
  if (!current()) return;
  render(container, h("h2", { id: "detail-title", "data-request": `${agency}/${id}` }, `${t("details")}: ${record.name}`), dl, ...actions, credential, smsSection, auditSection);
}

async function renderCredential(record: RequestRecord, reload: () => Promise<void>): Promise<HTMLElement> {
  const credentialId = record.credentialId!;
  const path = `/staff/credentials/${credentialId}`;
  const status = await api<{ state: string; reason: string }>("GET", path).catch(asError);
  const panel = h("section", { id: "credential", class: "panel", "aria-labelledby": "credential-title" }, h("h3", { id: "credential-title" }, t("credentialTitle")));
  if (status instanceof Error) {
    panel.append(h("p", {}, describeError(status)));
    return panel;
  }
  const state = status.state.toLowerCase();
  panel.append(h("p", {}, `${t("chainState")}: `, h("strong", { id: "chain-state", "data-state": state }, label(state)), status.reason === "NONE" ? "" : ` (${label(status.reason)})`));
  if (lastChange !== undefined && lastChange.credentialId === credentialId) {
    const key: MessageKey = lastChange.state.toLowerCase() === "locked" ? "lockedIn" : lastChange.state.toLowerCase() === "revoked" ? "revokedIn" : "unlockedIn";
    panel.append(h("p", { id: "chain-result", class: `result ${lastChange.state.toLowerCase()}`, role: "status", "data-block": String(lastChange.blockNumber), "data-tx": lastChange.txHash },
      `${t(key)} #${lastChange.blockNumber} · ${t("txHash")} ${lastChange.txHash.slice(0, 18)}…`));
  }
  const change = async (kind: "lock" | "unlock" | "revoke", body: Record<string, string>) => {
    lastChange = await api<StatusChange>("POST", `${path}/${kind}`, { ...body, requestId: record.id });
    await reload();
    notify(t("done"), "ok");
  };
  if (state === "active") {
    panel.append(h("fieldset", { id: "lost" }, h("legend", {}, t("lostTitle")), h("p", {}, t("lostIntro")),
      form({ id: "lock-form", class: "row" }, [
        field(t("reason"), select("reason", "lock-reason", LOCK_REASONS, { selected: "lost-device" })),
        h("button", { type: "submit", id: "lock", class: "danger" }, t("reportLost")),
      ], async (data) => change("lock", { reason: data("reason") })),
    ));
  }
  if (state === "locked") {
    panel.append(h("fieldset", { id: "unlock" }, h("legend", {}, t("unlockTitle")),
      form({ id: "unlock-form", class: "row" }, [field(t("reason"), select("reason", "unlock-reason", UNLOCK_REASONS)), h("button", { type: "submit", id: "unlock-button" }, t("unlock"))],
        async (data) => change("unlock", { reason: data("reason") })),
    ));
  }
  if (state !== "revoked") {
    const confirm = h("input", { type: "checkbox", id: "revoke-confirm", name: "confirm", required: true });
    panel.append(h("fieldset", { id: "revoke" }, h("legend", {}, t("revokeTitle")),
      form({ id: "revoke-form", class: "row" }, [
        field(t("reason"), select("reason", "revoke-reason", REVOKE_REASONS)),
        field(t("note"), h("input", { name: "note", id: "revoke-note", maxlength: "500" })),
        h("label", { class: "inline" }, confirm, t("confirmRevoke")),
        h("button", { type: "submit", id: "revoke-button", class: "danger" }, t("revoke")),
      ], async (data) => {
        const note = data("note").trim();
        await change("revoke", { reason: data("reason"), ...(note === "" ? {} : { note }) });
      }),
    ));
  }
  if (record.state === "issued" && record.supersededBy === undefined) {
    panel.append(h("fieldset", { id: "reissue" }, h("legend", {}, t("reissueTitle")), h("p", {}, t("reissueIntro")),
      form({ id: "reissue-form", class: "row" }, [
        field(t("reason"), select("reason", "reissue-reason", REISSUE_REASONS)),
        field(t("hrRequestId"), h("input", { name: "hrRequestId", id: "reissue-hr-id", required: true, maxlength: "64" })),
        field(t("personId"), h("input", { name: "personId", id: "reissue-person", required: true, autocomplete: "off", inputmode: "numeric", maxlength: "14" })),
        h("button", { type: "submit", id: "reissue-button" }, t("reissue")),
      ], async (data) => {
        const out = await api<{ requestId: string }>("POST", `/staff/requests/${record.agencyCode}/${encodeURIComponent(record.id)}/reissue`, {
          reason: data("reason"), hrRequestId: data("hrRequestId"), personId: data("personId").replace(/\s/g, ""),
        });
        await reload();
        notify(`${t("reissued")} ${out.requestId}`, "ok");
      }),
    ));
  }
  return panel;
}

// ---------------------------------------------------------------------------------------------------- organisation

async function renderOrganisations(): Promise<void> {
  const data = await api<{ blockNumber: number; organisations: Organisation[] }>("GET", "/staff/organisations");
  organisations = data.organisations;
  const cards = data.organisations.map((o) =>
    h("section", { class: "panel", "data-organisation": String(o.code), "aria-labelledby": `org-${o.code}` },
      h("h3", { id: `org-${o.code}` }, `${o.name} (${o.code})`),
      h("dl", { class: "fields" },
        h("dt", {}, t("accreditation")), h("dd", {}, stateBadge(o.accreditation.status)),
        h("dt", {}, t("orgKind")), h("dd", {}, label(o.accreditation.kind)),
        h("dt", {}, t("accreditedAt")), h("dd", {}, time(o.accreditation.accreditedAt)),
        h("dt", {}, t("orgAdmin")), h("dd", { class: "code" }, o.accreditation.admin),
        h("dt", {}, t("issuerKey")), h("dd", { class: "code" }, o.issuerKey.did),
        h("dt", {}, t("keyValidFrom")), h("dd", {}, time(o.issuerKey.validFrom)),
        h("dt", {}, t("keyCompromised")), h("dd", {}, o.issuerKey.compromised ? t("yes") : t("no")),
      ),
      h("h4", {}, t("operators")),
      h("table", {},
        h("thead", {}, h("tr", {}, ...[t("operatorPurpose"), t("address"), t("chainRole")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...o.operators.map((op) => h("tr", { "data-operator": op.purpose }, h("td", {}, label(op.purpose)), h("td", { class: "code" }, op.address), h("td", {}, label(op.role))))),
      ),
    ),
  );
  render($("main"), h("h2", {}, t("orgTitle")), h("p", { class: "muted" }, `${t("syncedBlock")} #${data.blockNumber}`), ...cards);
  notify("");
}

// ---------------------------------------------------------------------------------------------------- HR import

function renderImport(): void {
  const content = h("textarea", { name: "content", id: "import-content", required: true, spellcheck: "false" });
  const file = h("input", { type: "file", id: "import-file", accept: ".json,.csv,application/json,text/csv" });
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (chosen !== undefined) void chosen.text().then((text) => (content.value = text));
  });
  const report = h("section", { id: "import-report", "aria-live": "polite" });
  const importForm = form({ id: "import-form" }, [
    h("div", { class: "row" },
      field(t("organisation"), select("agency", "import-agency", organisations.map((o) => String(o.code)), { labelOf: (c) => `${organisations.find((o) => String(o.code) === c)?.name ?? c} (${c})` })),
      field(t("source"), select("source", "import-source", ["e-saram", "insarang"])),
      field(t("importFile"), file),
    ),
    field(t("importContent"), content),
    h("div", { class: "row" }, h("button", { type: "submit" }, t("importRun"))),
  ], async (data) => {
    const out = await api<{ rows: number; created: string[]; duplicates: string[]; refused: { id: string; reason: string }[]; conflicts: { id: string }[] }>(
      "POST", `/staff/requests/${data("agency")}/import`, { source: data("source"), content: data("content") },
    );
    render(report, h("h3", {}, t("importReport")), h("dl", { class: "fields" },
      h("dt", {}, t("created")), h("dd", {}, out.created.join(", ") || "0"),
      h("dt", {}, t("duplicates")), h("dd", {}, out.duplicates.join(", ") || "0"),
      h("dt", {}, t("refused")), h("dd", {}, out.refused.map((r) => `${r.id}: ${r.reason}`).join("; ") || "0"),
      h("dt", {}, t("conflicts")), h("dd", {}, out.conflicts.map((c) => c.id).join(", ") || "0"),
    ));
    notify(t("done"), "ok");
  });
  render($("main"), h("h2", {}, t("importTitle")), h("p", {}, t("importIntro")), importForm, report);
  notify("");
}

// ---------------------------------------------------------------------------------------------------- staff (admin)

async function renderStaff(): Promise<void> {
  const { members } = await api<{ members: { id: string; roles: string[]; agencies?: number[]; passkeys: number }[] }>("GET", "/staff/members");
  const issued = h("div", { id: "code-issued", "aria-live": "polite" });
  render($("main"), h("h2", {}, t("staffTitle")), issued,
    h("table", { id: "members" },
      h("thead", {}, h("tr", {}, ...[t("name"), t("roles"), t("organisation"), t("passkeys"), ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...members.map((m) => h("tr", { "data-member": m.id },
        h("td", {}, m.id), h("td", {}, m.roles.map(label).join(", ")), h("td", {}, m.agencies?.join(", ") ?? t("allOrganisations")), h("td", {}, String(m.passkeys)),
        h("td", {}, button(t("issueCode"), { class: "secondary", "aria-label": `${t("issueCode")}: ${m.id}` }, async () => {
          const out = await api<{ staffId: string; code: string; expiresAt: string }>("POST", "/staff/enrolments", { staffId: m.id });
          render(issued, h("p", { class: "result" }, `${t("codeIssued")} ${out.staffId}: `, h("span", { class: "code", id: "issued-code" }, out.code)));
          notify(t("done"), "ok");
        })),
      ))),
    ),
  );
  notify("");
}

// ---------------------------------------------------------------------------------------------------- own passkeys

async function renderPasskeys(): Promise<void> {
  const { passkeys } = await api<{ passkeys: { credentialId: string; label: string; createdAt: string; lastUsedAt?: string }[] }>("GET", "/staff/passkeys");
  const labelInput = h("input", { id: "new-passkey-label", name: "label", maxlength: "60", value: language === "ko" ? "다른 기기" : "another device" });
  const add = form({ id: "add-passkey-form", class: "row" }, [field(t("enrolLabel"), labelInput), h("button", { type: "submit", id: "add-passkey" }, t("addPasskey"))], async (data) => {
    // Signed in already: no enrolment code (the session, with its CSRF token, names the member).
    const started = await api<{ options: PublicKeyCredentialCreationOptionsJSON }>("POST", "/staff/passkeys/register/options", {});
    const response = await startRegistration({ optionsJSON: started.options });
    await api("POST", "/staff/passkeys/register", { response, label: data("label") || "passkey" });
    await renderPasskeys();
    notify(t("done"), "ok");
  });
  render($("main"), h("h2", {}, t("passkeysTitle")), h("p", {}, t("passkeysIntro")),
    h("table", { id: "passkeys" },
      h("thead", {}, h("tr", {}, ...[t("passkeyLabel"), t("createdAt"), t("lastUsedAt"), ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...passkeys.map((p) => h("tr", { "data-passkey": p.credentialId },
        h("td", {}, p.label), h("td", {}, time(p.createdAt)), h("td", {}, time(p.lastUsedAt)),
        h("td", {}, button(t("removePasskey"), { class: "danger", "aria-label": `${t("removePasskey")}: ${p.label}` }, async () => {
          await api("DELETE", `/staff/passkeys/${encodeURIComponent(p.credentialId)}`);
          await renderPasskeys();
          notify(t("done"), "ok");
        })),
      ))),
    ),
    add,
  );
  notify("");
}

// ---------------------------------------------------------------------------------------------------- start

$("lang").addEventListener("click", () => {
  language = language === "ko" ? "en" : "ko";
  localStorage.setItem("mcid.lang", language);
  t = translator(MESSAGES, language);
  if (session === undefined) renderSignIn();
  else void run(null, show);
});

async function start(): Promise<void> {
  try {
    const current = await api<Session>("GET", "/staff/session");
    if (current.via === "passkey") {
      await signedIn(current);
      return;
    }
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) notify(describeError(error), "error");
  }
  renderSignIn();
}

void start();
