/**
 * What every phase of the issuance workflow shares: the resolved configuration, the store (opened, or created by
 * the first successful import), and the one way to move a request — `transition(action)` with an action of the
 * transition table (transitions.ts), checked, compare-and-set, audited and hooked in one transaction.
 */
import { getAddress, type Signer } from "ethers";
import { CivilIdError } from "../../errors.js";
import { parseAgencyCode } from "../../chain/codes.js";
import { parseEthrDid } from "../../did/did.js";
import { StatusClient } from "../../status/client.js";
import type { DeploymentAnchor } from "../../status/registrations.js";
import { hasUnsafeCharacters } from "../hr-import.js";
import { HrOtpIdentityVerifier, type IdentityVerifier, type JsonObject } from "../identity.js";
import { checkKey, deriveCodeKey } from "../secrets.js";
import { NEXT_STEP, TRANSITIONS, type TransitionAction, type WorkflowState } from "../transitions.js";
import type { IssuanceWorkflowOptions, IssueStep } from "../workflow-types.js";
import { WorkflowStore, type RequestPatch, type RequestRecord, type StoreBinding } from "../workflow-store.js";
import type { StoreLocation } from "../../util/sql.js";

const DAY_MS = 86_400_000;

export class WorkflowContext {
  readonly options: IssuanceWorkflowOptions;
  readonly agencyCode: number;
  readonly chainId: number;
  readonly now: () => number;
  readonly codeKey: Uint8Array;
  readonly verifier: IdentityVerifier;
  readonly status: StatusClient;
  readonly registrar: Signer;
  readonly statusRegistry: string;
  readonly invitationTtlMs: number;
  readonly invitationAttempts: number;
  readonly activationDigits: number;
  readonly maxIdentitySessions: number;
  readonly validityMs: number;
  readonly activationUrl: URL;
  readonly maxLogRange: number | undefined;
  readonly binding: StoreBinding;
  /** Where the organisation's database lives (options.store, else the SQLite file options.dbPath). */
  readonly location: StoreLocation;
  private storeRef: WorkflowStore | undefined;
  /** Chain work runs one at a time: the registrar's nonce recorded with an intent is then the one it uses. */
  private chainQueue: Promise<unknown> = Promise.resolve();

  constructor(options: IssuanceWorkflowOptions, anchor: DeploymentAnchor) {
    this.options = options;
    this.agencyCode = parseAgencyCode(options.agencyCode);
    const deployment = options.ledger.deployment;
    if (options.chainId !== deployment.chainId || anchor.chainId !== deployment.chainId || anchor.deploymentBlock !== deployment.deploymentBlock) {
      throw new CivilIdError("CHAIN_ID_MISMATCH", `chainId ${options.chainId} (node: ${anchor.chainId}) differs from the deployment's chain ${deployment.chainId}.`);
    }
    this.chainId = options.chainId;
    const issuerDid = parseEthrDid(options.issuer.did);
    if (issuerDid.chainId !== BigInt(options.chainId)) {
      throw new CivilIdError("CHAIN_ID_MISMATCH", `The issuer DID ${options.issuer.did} is not on chain ${options.chainId}.`);
    }
    checkKey(options.holderSecret, "holder secret");
    this.codeKey = options.codeHashKey ?? deriveCodeKey(options.holderSecret, this.agencyCode);
    checkKey(this.codeKey, "code hash key");
    this.registrar = registrarOf(options);
    this.status = new StatusClient(options.ledger.statusRegistry);
    this.statusRegistry = getAddress(deployment.statusRegistry);
    this.now = options.clock ?? Date.now;
    this.verifier = options.identityVerifier ?? new HrOtpIdentityVerifier({ key: this.codeKey });
    this.invitationTtlMs = boundedInt(options.invitation.ttlSeconds ?? 72 * 3600, "invitation.ttlSeconds", 60, 30 * 86_400) * 1000;
    this.invitationAttempts = boundedInt(options.invitation.maxAttempts ?? 5, "invitation.maxAttempts", 1, 20);
    this.activationDigits = boundedInt(options.invitation.codeDigits ?? 8, "invitation.codeDigits", 6, 12);
    this.maxIdentitySessions = boundedInt(options.maxIdentitySessions ?? 3, "maxIdentitySessions", 1, 10);
    this.validityMs = boundedInt(options.credentialValidityDays ?? 1095, "credentialValidityDays", 1, 3650) * DAY_MS;
    this.maxLogRange = options.maxLogRange === undefined ? undefined : boundedInt(options.maxLogRange, "maxLogRange", 1, 1_000_000);
    try {
      this.activationUrl = new URL(options.invitation.baseUrl);
    } catch (error) {
      throw new CivilIdError("INVALID_INPUT", "invitation.baseUrl must be an absolute URL.", { cause: error });
    }
    // Plain http only on loopback (development: `npm run serve` on 127.0.0.1).
    if (this.activationUrl.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(this.activationUrl.hostname)) {
      throw new CivilIdError("INVALID_INPUT", "invitation.baseUrl must use https (the link carries a secret token).");
    }
    this.binding = {
      agencyCode: this.agencyCode, chainId: options.chainId, statusRegistry: this.statusRegistry, issuerRegistry: getAddress(deployment.issuerRegistry),
      didRegistry: getAddress(deployment.didRegistry), governor: getAddress(deployment.governor), deploymentBlock: anchor.deploymentBlock,
      deploymentBlockHash: anchor.deploymentBlockHash,
    };
    this.location = options.store ?? { kind: "sqlite", file: options.dbPath };
  }

  /**
   * Opens the organisation's database. SQLite: when the file exists (a missing one is created by the first
   * successful import, atomically). PostgreSQL: always — the schema is created and bound at once, so every
   * instance sharing it opens the same database whichever imports first.
   */
  async openStore(): Promise<void> {
    if (this.location.kind === "postgres" || (await WorkflowStore.exists(this.location))) this.storeRef = await WorkflowStore.open(this.location, this.binding);
    else if (this.options.create === false) {
      throw new CivilIdError("INVALID_INPUT", `No issuance database of organisation ${this.agencyCode} at ${this.where}: import its HR requests first, or check the agency and the data directory.`);
    }
  }

  /** The database's place, for messages. */
  get where(): string {
    return this.location.kind === "sqlite" ? this.location.file : `PostgreSQL schema ${this.location.schema ?? "public"}`;
  }

  /** The store. Before the first successful import there is none (nothing is created by reads or refused steps). */
  get store(): WorkflowStore {
    if (!this.storeRef) {
      throw new CivilIdError("REQUEST_NOT_FOUND", `No issuance database of organisation ${this.agencyCode} at ${this.where} yet: import its HR requests first.`);
    }
    return this.storeRef;
  }

  /** Whether the database exists (it does not before the first successful import). */
  get hasStore(): boolean {
    return this.storeRef !== undefined;
  }

  /** Creates the database with `fill`'s writes in it, atomically (nothing is left if `fill` throws), and opens it. */
  async createStore(fill: (store: WorkflowStore) => Promise<void>): Promise<void> {
    if (this.storeRef) throw new Error("WorkflowContext: the database exists");
    await WorkflowStore.create(this.location, this.binding, fill);
    this.storeRef = await WorkflowStore.open(this.location, this.binding);
  }

  async close(): Promise<void> {
    await this.storeRef?.close();
  }

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chainQueue.then(fn, fn);
    this.chainQueue = run.catch(() => undefined); // the caller gets the error through `run`; the queue goes on
    return run;
  }

  async step(step: IssueStep, id: string): Promise<void> {
    await this.options.hooks?.afterIssueStep?.(step, id);
  }

  async request(id: string): Promise<RequestRecord> {
    const record = await this.store.request(id);
    if (!record) throw new CivilIdError("REQUEST_NOT_FOUND", `No issuance request ${JSON.stringify(id)}.`);
    return record;
  }

  async requireState(id: string, allowed: readonly WorkflowState[], action: string): Promise<RequestRecord> {
    const record = await this.request(id);
    if (!allowed.includes(record.state)) throw wrongState(record, action, allowed);
    return record;
  }

  /**
   * One move of the transition table: checks the current state against the action's `from`, updates the row
   * (compare-and-set) with `patch` and the action's `to`, runs `extra` and appends the audit row, in one
   * transaction. `extra` may return audit details to merge.
   */
  async transition(id: string, action: TransitionAction, actor: string, patch: RequestPatch, details: JsonObject, extra?: () => Promise<JsonObject | void>): Promise<void> {
    const { from: allowed, to } = TRANSITIONS[action];
    let from: WorkflowState | null = null;
    const at = this.now();
    const store = this.store;
    await store.transaction(
      async () => {
        const record = await this.request(id);
        if (!(allowed as readonly WorkflowState[]).includes(record.state)) throw wrongState(record, action, allowed);
        from = record.state;
        await store.updateRequest(id, record.state, { ...patch, state: to, updatedAt: at });
        const more = (await extra?.()) ?? {};
        await store.appendAudit({ requestId: id, at, actor, action, from: record.state, to, details: { ...details, ...more } });
      },
      () => this.options.hooks?.beforeCommit?.({ requestId: id, action, from, to }),
    );
  }

  /** An audit row without a state change (refusals and events that must be recorded). */
  async record(id: string | null, actor: string, action: string, state: WorkflowState | null, details: JsonObject, extra?: () => Promise<void>): Promise<void> {
    const store = this.store;
    await store.transaction(
      async () => {
        await extra?.();
        await store.appendAudit({ requestId: id, at: this.now(), actor, action, from: state, to: state, details });
      },
      () => this.options.hooks?.beforeCommit?.({ requestId: id, action, from: state, to: state }),
    );
  }
}

export function wrongState(record: RequestRecord, action: string, allowed: readonly WorkflowState[]): CivilIdError {
  return new CivilIdError(
    "INVALID_WORKFLOW_STATE",
    `Request ${record.id} is ${record.state}; ${action} needs ${allowed.join(" or ")}. Next step: ${NEXT_STEP[record.state]}.`,
    { details: { state: record.state, allowed: [...allowed], nextStep: NEXT_STEP[record.state] } },
  );
}

function registrarOf(options: IssuanceWorkflowOptions): Signer {
  const runner = options.ledger.statusRegistry.runner as Signer | null;
  if (!runner || typeof runner.getAddress !== "function" || !runner.provider) {
    throw new CivilIdError("INVALID_INPUT", "ledger.statusRegistry must be connected to the organisation's Registrar signer (with a provider).");
  }
  return runner;
}

export function checkActor(actor: unknown): asserts actor is string {
  if (typeof actor !== "string" || actor.length === 0 || actor.length > 128 || hasUnsafeCharacters(actor) || actor.trim() !== actor) {
    throw new CivilIdError("INVALID_INPUT", "The actor must be a non-empty id of at most 128 characters without control, invisible or bidi characters or outer spaces.");
  }
}

export function checkReason(reason: unknown): string {
  const text = typeof reason === "string" ? reason.normalize("NFC").trim() : "";
  if (text.length === 0 || text.length > 500 || hasUnsafeCharacters(text, true)) {
    throw new CivilIdError("INVALID_INPUT", "A reason is required: 1-500 characters of text (no control, invisible or bidi characters).");
  }
  return text;
}

export function boundedInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CivilIdError("INVALID_INPUT", `${what} must be an integer in ${min}..${max}.`);
  }
  return value;
}
