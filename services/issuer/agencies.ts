import type { Signer } from "ethers";
import type { LedgerContracts } from "../../sdk/chain/contracts.js";
import { CivilIdError } from "../../sdk/errors.js";
import type { IssuanceWorkflow } from "../../sdk/issuer/workflow.js";
import { StatusClient } from "../../sdk/status/client.js";

/**
 * One issuing organisation served by this issuer service: its workflow (database, issuer key, Registrar) and the
 * status clients its staff's chain actions use. Keys stay on the server; staff never hold them.
 */
export interface AgencyRuntime {
  readonly code: number;
  readonly name: string;
  readonly workflow: IssuanceWorkflow;
  /** Locks (lost phone): the help desk's LockOnly operator, or the status officer when no help-desk key is configured. */
  readonly lockClient: StatusClient;
  /** Unlock and revoke: a Registrar operator of the organisation other than the workflow's (so the workflow's nonces stay its own). */
  readonly statusClient: StatusClient;
}

export interface AgencyKeys {
  readonly code: number;
  readonly name: string;
  /** Opens the organisation's workflow (`IssuanceWorkflow.open`: the node is asked for the deployment's identity). */
  readonly workflow: () => Promise<IssuanceWorkflow>;
  readonly ledger: LedgerContracts;
  readonly helpDesk: Signer | undefined;
  readonly statusOfficer: Signer;
}

/**
 * The organisations of the service. `open()` opens every workflow once (the workflow's invitation links carry the
 * service's public URL, known only once it listens; the service calls it before the first request); `get` and
 * `all` answer the opened ones. `close()` closes every opened workflow database.
 */
export class Agencies {
  private readonly opened = new Map<number, AgencyRuntime>();
  private opening: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly keys: readonly AgencyKeys[]) {
    const codes = new Set<number>();
    for (const k of keys) {
      if (codes.has(k.code)) throw new CivilIdError("INVALID_INPUT", `Organisation ${k.code} is configured twice.`);
      codes.add(k.code);
    }
  }

  codes(): number[] {
    return this.keys.map((k) => k.code);
  }

  has(code: number): boolean {
    return this.keys.some((k) => k.code === code);
  }

  /** Opens every organisation's workflow (once; after a failure, the next call tries again). */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(new CivilIdError("INVALID_INPUT", "The issuer service is shutting down."));
    this.opening ??= this.openAll().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  private async openAll(): Promise<void> {
    for (const k of this.keys) {
      if (this.opened.has(k.code)) continue;
      const workflow = await k.workflow();
      if (this.closed) {
        await workflow.close();
        return;
      }
      const statusClient = new StatusClient(k.ledger.statusRegistry.connect(k.statusOfficer));
      this.opened.set(k.code, {
        code: k.code,
        name: k.name,
        workflow,
        statusClient,
        lockClient: k.helpDesk === undefined ? statusClient : new StatusClient(k.ledger.statusRegistry.connect(k.helpDesk)),
      });
    }
  }

  get(code: number): AgencyRuntime {
    if (this.closed) throw new CivilIdError("INVALID_INPUT", "The issuer service is shutting down.");
    const open = this.opened.get(code);
    if (open !== undefined) return open;
    if (!this.has(code)) throw new CivilIdError("REQUEST_NOT_FOUND", `Organisation ${code} is not served by this issuer service.`);
    throw new CivilIdError("CHAIN_UNREACHABLE", `Organisation ${code}'s workflow is not open yet (the node did not answer); retry shortly.`);
  }

  all(): AgencyRuntime[] {
    return this.codes().map((c) => this.get(c));
  }

  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.opened.values()];
    this.opened.clear();
    await Promise.all(open.map((a) => a.workflow.close()));
  }
}
