/**
 * The holder web wallet (docs/WEB.md, "Holder wallet"): what the phone app does, as an installable PWA.
 * Activation (SMS link → identity re-check → activation code → PIN → non-extractable device key → credential),
 * the card, presentations to gates and logins (the request checked against the on-chain listing first), document
 * signatures, biometric unlock, the five-wrong-PINs lockout. State lives in IndexedDB (store.ts); the service
 * worker (sw.ts) keeps the app shell for offline use.
 */
import "./buffer-shim.js";
import { CivilIdError } from "../../sdk/errors.js";
import { h, languageOf, render, translator, type Child, type Language, type Messages } from "../common/dom.js";
import { biometricsAvailable, enrolBiometric, verifyBiometric } from "./biometric.js";
import { decodeCompactJws } from "../../sdk/credential/jws.js";
import { MAX_CREDENTIAL_JWT_LENGTH } from "../../sdk/credential/model.js";
import { signDocumentJwt } from "../../sdk/protocol/document-signature.js";
import { generateDeviceKey, webCryptoSigner } from "./device-key.js";
import {
  collectCredential, fetchIssuerMetadata, fetchOffer, offerUriOf, redeemOffer, ServiceRefusal, startIdentityRecheck, verifyIdentityRecheck,
  type CredentialOffer,
} from "./issuance.js";
import { MAX_FAILED_ATTEMPTS, newPinVerifier, tryPin } from "./lock.js";
import { MESSAGES, type MessageKey } from "./messages.js";
import { buildPresentation, checkRequest, loadSettings, submitPresentation, type HeldRequest } from "./presentation.js";
import { parseSettings, type WalletSettings } from "./settings.js";
import { deleteWallet, emptyWallet, loadWallet, saveWallet, type PresentationRecord, type WalletRecord } from "./store.js";

let language: Language = languageOf();
let t = translator(MESSAGES as Messages<MessageKey>, language);
const root = document.getElementById("app")!;
let record: WalletRecord = emptyWallet();
let settings: WalletSettings | undefined;
/** False once the wallet's own service did not answer (navigator.onLine alone says nothing about reachability). */
let reachable = true;

const SETTINGS_CACHE = "mcid.wallet.settings";

// ---------- small helpers ----------

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof CivilIdError) return { code: error.code, message: error.message };
  if (error instanceof ServiceRefusal) return { code: error.error, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: "ERROR", message: String(error) };
}

function errorBox(error: unknown, title?: string): HTMLElement {
  const { code, message } = describeError(error);
  const key = `err.${code}` as MessageKey;
  const attemptsLeft = error instanceof CivilIdError ? (error.details as { attemptsLeft?: unknown } | undefined)?.attemptsLeft : undefined;
  const summary = key in MESSAGES.ko
    ? h("p", { class: "summary" }, t(key), typeof attemptsLeft === "number" ? h("span", { id: "attempts-left", "data-left": String(attemptsLeft) }, ` ${t("attemptsLeft")}: ${attemptsLeft}`) : null)
    : null;
  return h("div", { id: "error", class: "alert refused", role: "alert", "data-code": code },
    title === undefined ? null : h("strong", {}, title), summary, h("p", { class: "detail" }, message), h("code", {}, code));
}

function field(id: string, label: string, attributes: Record<string, string | boolean | undefined> = {}): HTMLElement {
  return h("label", { for: id }, h("span", {}, label), h("input", { id, name: id, ...attributes }));
}

function pinField(id: string, label: string, autocomplete = "off"): HTMLElement {
  return field(id, label, { type: "password", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: "6", autocomplete, required: true });
}

function value(id: string): string {
  return (document.getElementById(id) as HTMLInputElement | HTMLTextAreaElement | null)?.value ?? "";
}

function claimsOf(jwt: string): { subject: Record<string, unknown>; statusId: string | undefined; exp: number | undefined } {
  // The wallet's own credential, only read for display (its issuer signature is the verifiers' to check).
  const decoded = decodeCompactJws(jwt, MAX_CREDENTIAL_JWT_LENGTH);
  if (decoded === undefined) throw new CivilIdError("MALFORMED_JWT", "The stored credential is not a compact JWS: activate the wallet again.");
  const { payload } = decoded;
  const vc = (payload.vc ?? {}) as { credentialSubject?: Record<string, unknown>; credentialStatus?: { id?: unknown } };
  return {
    subject: vc.credentialSubject ?? {},
    statusId: typeof vc.credentialStatus?.id === "string" ? vc.credentialStatus.id : undefined,
    exp: typeof payload.exp === "number" ? payload.exp : undefined,
  };
}

function displayValue(claim: unknown): string {
  if (typeof claim === "string" || typeof claim === "number") return String(claim);
  return claim === undefined ? "—" : JSON.stringify(claim);
}

function claimLabel(claim: string): string {
  const key = `claim.${claim}` as MessageKey;
  return key in MESSAGES.ko ? t(key) : claim;
}

function useLabel(use: string): string {
  const key = `use.${use}` as MessageKey;
  return key in MESSAGES.ko ? t(key) : use;
}

function page(...children: Child[]): void {
  const toggle = h("button", { type: "button", id: "lang", class: "link" }, t("language"));
  toggle.addEventListener("click", () => {
    language = language === "ko" ? "en" : "ko";
    localStorage.setItem("mcid.lang", language);
    document.documentElement.lang = language;
    t = translator(MESSAGES as Messages<MessageKey>, language);
    show();
  });
  render(
    root,
    h("header", {}, h("h1", {}, t("title")), h("span", { class: "subtitle" }, t("subtitle")), toggle),
    navigator.onLine && reachable ? null : offlineBanner(),
    h("main", {}, ...children),
  );
}

function offlineBanner(): HTMLElement {
  return h("p", { id: "offline", class: "alert notice", role: "status" }, t("offline"));
}

function setReachable(value: boolean): void {
  reachable = value;
  const banner = document.getElementById("offline");
  if (value && navigator.onLine) banner?.remove();
  else if (banner === null) root.querySelector("header")?.after(offlineBanner());
}

async function walletSettings(): Promise<WalletSettings> {
  if (settings !== undefined) return settings;
  try {
    settings = await loadSettings();
    localStorage.setItem(SETTINGS_CACHE, JSON.stringify(settings));
    setReachable(true);
  } catch (error) {
    setReachable(false);
    const cached = localStorage.getItem(SETTINGS_CACHE);
    if (cached === null) throw error;
    settings = parseSettings(JSON.parse(cached));
  }
  return settings;
}

/** Asks for the PIN or, when enrolled and chosen, biometrics; charges wrong PINs (lockout at the fifth). */
async function unlock(method: "pin" | "biometric", pin: string): Promise<CryptoKey> {
  if (method === "biometric") {
    if (record.biometric === null) throw new CivilIdError("BIOMETRIC_REFUSED", "Biometrics are not enrolled.");
    if (record.lockout !== null || record.deviceKey === null) throw new CivilIdError("WALLET_LOCKED", "The wallet is locked.");
    await verifyBiometric(record.biometric);
  } else {
    record = await tryPin(record, pin);
  }
  return record.deviceKey!;
}

async function afterUnlockFailure(error: unknown, retry: () => void): Promise<void> {
  if (error instanceof CivilIdError && error.code === "WALLET_LOCKED") {
    record = (await loadWallet()) ?? record;
    show();
    return;
  }
  if (error instanceof CivilIdError && error.code === "WRONG_PIN") record = (await loadWallet()) ?? record;
  retry();
}

// ---------- screens ----------

function showHome(prefill = "", failure?: unknown): void {
  const form = h("form", { id: "offer-form" },
    h("p", {}, t("offerHint")),
    h("label", { for: "offer-uri" }, h("span", {}, t("offerLabel")), h("textarea", { id: "offer-uri", rows: "3", required: true, spellcheck: "false" }, prefill)),
    h("button", { type: "submit", id: "offer-next" }, t("next")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void openOffer(value("offer-uri"));
  });
  page(failure === undefined ? null : errorBox(failure), form);
}

async function openOffer(input: string): Promise<void> {
  let offerUri: string;
  try {
    offerUri = offerUriOf(input);
    const answer = await fetchOffer(offerUri);
    if ("identityRecheck" in answer) return showIdentity(offerUri);
    const metadata = await fetchIssuerMetadata(answer.offer.credentialIssuer);
    showActivate(answer.offer, metadata.name);
  } catch (error) {
    showHome(input, error);
  }
}

function showIdentity(offerUri: string, failure?: unknown): void {
  const send = h("button", { type: "button", id: "id-send-code", class: "secondary" }, t("sendCode"));
  const form = h("form", { id: "identity-form" },
    h("h2", {}, t("identityTitle")), h("p", {}, t("identityHint")),
    field("id-name", t("name"), { required: true, autocomplete: "name" }),
    field("id-employee", t("employeeRef"), { required: true }),
    send,
    field("id-code", t("code"), { inputmode: "numeric", autocomplete: "one-time-code" }),
    h("button", { type: "submit", id: "id-verify" }, t("verify")),
  );
  send.addEventListener("click", () => {
    startIdentityRecheck(offerUri).then(() => send.setAttribute("data-sent", "true"), (error: unknown) => showIdentity(offerUri, error));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    verifyIdentityRecheck(offerUri, { name: value("id-name").trim(), employeeRef: value("id-employee").trim(), code: value("id-code").trim() })
      .then((released) => openOffer(released), (error: unknown) => showIdentity(offerUri, error));
  });
  page(failure === undefined ? null : errorBox(failure), form);
}

function showActivate(offer: CredentialOffer, issuerName: string, failure?: unknown): void {
  const length = offer.txCode?.length ?? 8;
  const form = h("form", { id: "activate-form" },
    h("h2", {}, t("activateTitle")),
    h("p", {}, h("span", { class: "muted" }, `${t("issuer")}: `), h("strong", { id: "issuer-name" }, issuerName)),
    offer.txCode?.description === undefined ? null : h("p", { class: "muted" }, offer.txCode.description),
    field("tx-code", t("txCode"), { inputmode: "numeric", autocomplete: "one-time-code", maxlength: String(length), required: true }),
    pinField("pin", t("pin"), "new-password"),
    pinField("pin-confirm", t("pinConfirm"), "new-password"),
    h("button", { type: "submit", id: "activate" }, t("activate")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void activate(offer, issuerName, value("tx-code").trim(), value("pin"), value("pin-confirm"));
  });
  page(failure === undefined ? null : errorBox(failure), form);
}

async function activate(offer: CredentialOffer, issuerName: string, txCode: string, pin: string, confirm: string): Promise<void> {
  try {
    if (pin !== confirm) throw new CivilIdError("INVALID_INPUT", t("pinMismatch"));
    // The PIN is judged before anything is spent: a trivial PIN must not cost an activation-code attempt.
    const verifier = await newPinVerifier(pin);
    page(h("p", { id: "progress", role: "status" }, t("activating")));
    const metadata = await fetchIssuerMetadata(offer.credentialIssuer);
    const accessToken = await redeemOffer(metadata, offer, txCode);
    const { privateKey, publicJwk, did } = await generateDeviceKey();
    const { jwt, notify } = await collectCredential(metadata, accessToken, privateKey, publicJwk);
    record = {
      ...emptyWallet(), deviceKey: privateKey, publicJwk, did, pin: verifier,
      credential: { jwt, issuerUrl: metadata.credentialIssuer, issuerName, receivedAt: new Date().toISOString() },
    };
    await saveWallet(record);
    await notify().catch(() => undefined); // the credential is stored; a lost notification changes nothing for the holder
    showCard();
  } catch (error) {
    showActivate(offer, issuerName, error);
  }
}

function showCard(notice?: Child): void {
  const held = record.credential;
  if (held === null) return showHome();
  const { subject, exp } = claimsOf(held.jwt);
  const rows = ["name", "organisation", "department", "position", "agencyCode", "employeeRef"]
    .filter((claim) => subject[claim] !== undefined)
    .map((claim) => h("div", { class: "row" }, h("dt", {}, claimLabel(claim)), h("dd", { "data-claim": claim }, displayValue(subject[claim]))));
  const presentButton = h("button", { type: "button", id: "present" }, t("present"));
  presentButton.addEventListener("click", () => showRequest());
  const signButton = h("button", { type: "button", id: "sign", class: "secondary" }, t("sign"));
  signButton.addEventListener("click", () => showSign());
  const bioButton = record.biometric === null && biometricsAvailable() ? h("button", { type: "button", id: "enrol-bio", class: "secondary" }, t("enrolBio")) : null;
  bioButton?.addEventListener("click", () => showEnrol());
  const history = record.history.slice(-5).reverse().map((entry) =>
    h("li", { class: entry.outcome }, `${new Date(entry.at).toLocaleString(language)} · ${entry.verifier} · ${useLabel(entry.use)} · ${entry.outcome === "accepted" ? t("accepted") : entry.outcome === "refused" ? t("refused") : t("builtOffline")}`));
  page(
    notice ?? null,
    h("section", { id: "card", class: "card", "aria-label": t("cardTitle") },
      h("p", { class: "card-title" }, t("cardTitle"), h("span", { class: "issuer" }, held.issuerName)),
      h("dl", {}, ...rows),
      h("p", { class: "muted small" }, `${t("expires")}: ${exp === undefined ? "—" : new Date(exp * 1000).toLocaleDateString(language)}`),
      h("p", { class: "muted small did" }, `${t("holder")}: ${record.did ?? ""}`),
      record.biometric === null ? null : h("p", { class: "muted small", id: "bio-on" }, t("bioEnrolled")),
    ),
    h("div", { class: "actions" }, presentButton, signButton, bioButton),
    history.length === 0 ? null : h("section", { id: "history" }, h("h2", {}, t("history")), h("ul", {}, ...history)),
  );
}

function showEnrol(failure?: unknown): void {
  const form = h("form", { id: "enrol-form" }, h("h2", {}, t("enrolBio")), pinField("enrol-pin", t("pinEnter")), h("button", { type: "submit", id: "enrol-confirm" }, t("enrolBio")), backButton());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    (async () => {
      await unlock("pin", value("enrol-pin"));
      const subject = claimsOf(record.credential!.jwt).subject;
      const enrolment = await enrolBiometric(typeof subject.name === "string" ? subject.name : "holder");
      record = { ...record, biometric: enrolment };
      await saveWallet(record);
      showCard(h("p", { class: "alert accepted", role: "status" }, t("bioEnrolled")));
    })().catch((error: unknown) => afterUnlockFailure(error, () => showEnrol(error)));
  });
  page(failure === undefined ? null : errorBox(failure), form);
}

function backButton(): HTMLElement {
  const back = h("button", { type: "button", class: "link", id: "back" }, t("back"));
  back.addEventListener("click", () => showCard());
  return back;
}

function showRequest(prefill = "", failure?: unknown): void {
  const form = h("form", { id: "request-form" },
    h("h2", {}, t("present")),
    h("label", { for: "request-uri" }, h("span", {}, t("requestLabel")), h("textarea", { id: "request-uri", rows: "3", spellcheck: "false", required: true }, prefill)),
    h("button", { type: "submit", id: "check-request" }, t("check")),
    "BarcodeDetector" in window ? cameraButton() : null,
    backButton(),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void openRequest(value("request-uri"));
  });
  page(failure === undefined ? null : errorBox(failure, t("requestRefused")), form);
}

/** A maintained scanner behind one interface: the platform's BarcodeDetector over the rear camera. */
function cameraButton(): HTMLElement {
  const button = h("button", { type: "button", id: "camera", class: "secondary" }, t("camera"));
  button.addEventListener("click", () => {
    (async () => {
      const Detector = (window as unknown as { BarcodeDetector: new (o: { formats: string[] }) => { detect(source: HTMLVideoElement): Promise<Array<{ rawValue: string }>> } }).BarcodeDetector;
      const detector = new Detector({ formats: ["qr_code"] });
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = h("video", { id: "scanner", autoplay: true, playsinline: true, muted: true });
      video.srcObject = stream;
      button.replaceWith(video);
      const stop = () => stream.getTracks().forEach((track) => track.stop());
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (!video.isConnected) return stop();
        const codes = await detector.detect(video).catch(() => []);
        const found = codes.find((c) => c.rawValue.startsWith("openid4vp:"));
        if (found !== undefined) {
          stop();
          return openRequest(found.rawValue);
        }
      }
    })().catch((error: unknown) => showRequest("", error));
  });
  return button;
}

async function openRequest(input: string): Promise<void> {
  try {
    const request = await checkRequest(input, await walletSettings());
    showConsent(request);
  } catch (error) {
    showRequest(input, error);
  }
}

function showConsent(request: HeldRequest, failure?: unknown): void {
  const subject = claimsOf(record.credential!.jwt).subject;
  const shown = request.requestedClaims.map((claim) =>
    h("li", { "data-claim": claim }, h("span", { class: "muted" }, `${claimLabel(claim)}: `), displayValue(subject[claim])));
  const form = h("form", { id: "consent" },
    h("h2", {}, t("asks")),
    h("p", { class: "verifier" }, h("strong", { id: "verifier-name" }, request.verifierName)),
    h("p", {}, h("span", { class: "muted" }, `${t("use")}: `), h("span", { id: "verifier-use", "data-use": request.use }, useLabel(request.use))),
    h("h3", {}, t("willSee")),
    h("ul", { id: "claims-shown" }, ...shown),
    pinField("present-pin", t("pinEnter")),
    h("button", { type: "submit", id: "present-confirm" }, t("presentWithPin")),
    record.biometric === null ? null : h("button", { type: "button", id: "present-bio", class: "secondary" }, t("presentWithBio")),
    backButton(),
  );
  const go = (method: "pin" | "biometric") => {
    (async () => {
      const key = await unlock(method, value("present-pin"));
      await present(request, key);
    })().catch((error: unknown) => afterUnlockFailure(error, () => showConsent(request, error)));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("pin");
  });
  form.querySelector("#present-bio")?.addEventListener("click", () => go("biometric"));
  page(failure === undefined ? null : errorBox(failure), form);
}

async function remember(entry: PresentationRecord): Promise<void> {
  record = { ...record, history: [...record.history, entry].slice(-50) };
  await saveWallet(record);
}

async function present(request: HeldRequest, key: CryptoKey): Promise<void> {
  if (request.expiresAt <= Math.floor(Date.now() / 1000)) throw new CivilIdError("INVALID_INPUT", "The request has expired: scan the gate's new QR code.");
  const vp = await buildPresentation(request, { did: record.did!, key }, record.credential!.jwt);
  const base = { at: new Date().toISOString(), verifier: request.verifierName, use: request.use, claims: request.requestedClaims };
  let outcome;
  try {
    outcome = await submitPresentation(request, vp);
  } catch {
    // Unreachable (offline): the presentation is built and bound to the request; an offline-capable gate reads it.
    await remember({ ...base, outcome: "built-offline" });
    return showOfflinePresentation(vp);
  }
  if (outcome.accepted) {
    await remember({ ...base, outcome: "accepted" });
    if (outcome.redirectUri !== undefined) {
      location.assign(outcome.redirectUri); // same-device login: back to the relying party
      return;
    }
    return showCard(h("div", { id: "result", class: "alert accepted", role: "status" }, h("strong", {}, t("accepted")), h("p", {}, request.verifierName)));
  }
  await remember({ ...base, outcome: "refused", detail: outcome.description });
  showCard(h("div", { id: "result", class: "alert refused", role: "alert", "data-code": outcome.error },
    h("strong", {}, t("refused")), h("p", {}, outcome.description), outcome.reasons.length === 0 ? null : h("ul", {}, ...outcome.reasons.map((r) => h("li", {}, r)))));
}

async function showOfflinePresentation(vp: string): Promise<void> {
  let image: HTMLElement | null;
  try {
    const { toDataURL } = await import("qrcode");
    image = h("img", { id: "offline-qr", alt: "QR", src: await toDataURL(vp, { errorCorrectionLevel: "L", margin: 2 }) });
  } catch {
    image = null; // too long for one QR code: the text below is handed over instead
  }
  page(h("div", { id: "result", class: "alert notice", role: "status" }, t("offlineBuilt")), image, h("textarea", { id: "offline-vp", readonly: true, rows: "6" }, vp), backButton());
}

function showSign(failure?: unknown, done?: Child): void {
  const form = h("form", { id: "sign-form" },
    h("h2", {}, t("sign")),
    field("doc-file", t("docFile"), { type: "file", required: true }),
    field("doc-purpose", t("purpose"), { maxlength: "256" }),
    pinField("sign-pin", t("pinEnter")),
    h("button", { type: "submit", id: "sign-confirm" }, t("signNow")),
    backButton(),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    (async () => {
      const file = (document.getElementById("doc-file") as HTMLInputElement).files?.[0];
      if (file === undefined) throw new CivilIdError("INVALID_INPUT", t("docFile"));
      const key = await unlock("pin", value("sign-pin"));
      const held = record.credential!;
      const purpose = value("doc-purpose").trim();
      const signature = await signDocumentJwt({
        signer: webCryptoSigner(key), signerDid: record.did!, credential: held.jwt, credentialStatusId: claimsOf(held.jwt).statusId,
        document: new Uint8Array(await file.arrayBuffer()), now: Math.floor(Date.now() / 1000), ...(purpose === "" ? {} : { purpose }),
      });
      const json = JSON.stringify(signature, null, 2);
      const link = h("a", { id: "docsig-download", href: URL.createObjectURL(new Blob([json], { type: "application/json" })), download: `${file.name}.sig.json` }, t("download"));
      showSign(undefined, h("div", { id: "signed", class: "alert accepted", role: "status" }, h("p", {}, t("signed")), link, h("pre", { id: "docsig" }, json)));
    })().catch((error: unknown) => afterUnlockFailure(error, () => showSign(error)));
  });
  page(failure === undefined ? null : errorBox(failure), done ?? null, form);
}

function showLocked(): void {
  const again = h("button", { type: "button", id: "reactivate" }, t("reactivate"));
  again.addEventListener("click", () => {
    void deleteWallet().then(() => {
      record = emptyWallet();
      showHome();
    });
  });
  page(h("section", { id: "locked", class: "alert refused", role: "alert" }, h("h2", {}, t("lockedTitle")), h("p", {}, t("lockedText")), h("code", {}, `PIN_LOCKOUT · ${MAX_FAILED_ATTEMPTS}`)), again);
}

// ---------- start ----------

/** Hand-offs in the page's fragment (never sent to a server): `#offer=<SMS link>`, `#request=<openid4vp://…>`. */
function takeHandOff(): { offer?: string; request?: string } {
  const params = new URLSearchParams(location.hash.slice(1));
  const offer = params.get("offer") ?? undefined;
  const request = params.get("request") ?? undefined;
  if (offer !== undefined || request !== undefined) history.replaceState(null, "", location.pathname + location.search);
  return { ...(offer === undefined ? {} : { offer }), ...(request === undefined ? {} : { request }) };
}

function show(): void {
  if (record.lockout !== null) return showLocked();
  if (record.credential === null) return showHome();
  showCard();
}

async function route(handOff: { offer?: string; request?: string }): Promise<void> {
  if (handOff.offer !== undefined && (record.credential === null || record.lockout !== null)) {
    if (record.lockout !== null) {
      await deleteWallet(); // a new activation after a lockout starts from an empty wallet
      record = emptyWallet();
    }
    showHome(handOff.offer);
    await openOffer(handOff.offer);
  } else if (handOff.request !== undefined && record.credential !== null && record.lockout === null) {
    showRequest(handOff.request);
    await openRequest(handOff.request);
  } else {
    show();
  }
}

async function start(): Promise<void> {
  document.documentElement.lang = language;
  record = (await loadWallet()) ?? emptyWallet();
  await route(takeHandOff());
  addEventListener("hashchange", () => {
    const handOff = takeHandOff();
    if (handOff.offer !== undefined || handOff.request !== undefined) void route(handOff);
  });
  // Is the wallet's service reachable (the offline banner)? Also refreshes the settings the request check needs.
  await walletSettings().catch(() => undefined);
  root.setAttribute("data-ready", "true");
  addEventListener("online", () => setReachable(true));
  addEventListener("offline", () => setReachable(false));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("./sw.js", { scope: "./" }).catch(() => undefined); // no offline shell, the page still works online
  }
}

void start().catch((error: unknown) => page(errorBox(error)));
