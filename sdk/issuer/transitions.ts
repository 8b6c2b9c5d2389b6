/**
 * The issuance workflow's states and every transition between them, as one table. The workflow's phases move a
 * request only through `transition(action)` with an action of this table (the store refuses any other move), and
 * docs/ISSUANCE.md shows the same table, rendered by {@link transitionTableMarkdown} (a test keeps the two equal).
 */

export type WorkflowState =
  | "requested"
  | "refused"
  | "rejected"
  | "approved"
  | "identity_failed"
  | "identity_verified"
  | "invited"
  | "activated"
  | "cancelled"
  | "registering"
  | "registered"
  | "issued";

export const WORKFLOW_STATES: readonly WorkflowState[] = [
  "requested", "refused", "rejected", "approved", "identity_failed", "identity_verified", "invited", "activated",
  "cancelled", "registering", "registered", "issued",
];

/** The phase (module under sdk/issuer/phases/) that owns a transition. */
export type Phase = "intake" | "identity" | "invitation" | "activation" | "issuance" | "reconcile";

export interface Transition {
  /** The audit action recorded with the move. */
  readonly action: string;
  /** States the request may be in; empty for the actions that create a request. */
  readonly from: readonly WorkflowState[];
  readonly to: WorkflowState;
  readonly phase: Phase;
  /** What the move means, for the docs. */
  readonly meaning: string;
}

const BEFORE_REGISTRATION: readonly WorkflowState[] = ["requested", "approved", "identity_verified", "invited", "activated"];

/** Every move a request can make, by audit action. */
export const TRANSITIONS = {
  "import": { action: "import", from: [], to: "requested", phase: "intake", meaning: "a valid HR row of a participating organisation becomes a request" },
  "import-refused-request": { action: "import-refused-request", from: [], to: "refused", phase: "intake", meaning: "a valid HR row is refused for good (organisation not participating, holder has an open request)" },
  "approve": { action: "approve", from: ["requested"], to: "approved", phase: "intake", meaning: "the department head approves" },
  "reject": { action: "reject", from: ["requested"], to: "rejected", phase: "intake", meaning: "the department head rejects, with a reason (final)" },
  "cancel": { action: "cancel", from: BEFORE_REGISTRATION, to: "cancelled", phase: "intake", meaning: "an operator cancels before registration; open invitations, sessions and SMS are dropped" },
  "identity-verification-started": { action: "identity-verification-started", from: ["approved"], to: "approved", phase: "identity", meaning: "a verification session opens (the default method texts a one-time code)" },
  "identity-check-failed": { action: "identity-check-failed", from: ["approved"], to: "approved", phase: "identity", meaning: "wrong evidence; sessions are left" },
  "identity-failed": { action: "identity-failed", from: ["approved"], to: "identity_failed", phase: "identity", meaning: "the last session is used up (final)" },
  "verify-identity": { action: "verify-identity", from: ["approved"], to: "identity_verified", phase: "identity", meaning: "the applicant's identity is verified" },
  "invite": { action: "invite", from: ["identity_verified"], to: "invited", phase: "invitation", meaning: "the invitation SMS (link + code) is queued" },
  "re-invite": { action: "re-invite", from: ["invited"], to: "invited", phase: "invitation", meaning: "a new invitation replaces the previous one" },
  "activate": { action: "activate", from: ["invited"], to: "activated", phase: "activation", meaning: "the device proves its key with the link and code; its DID is bound" },
  "registration-intent": { action: "registration-intent", from: ["activated"], to: "registering", phase: "issuance", meaning: "the credential is drafted and the registration intent recorded (digest, nonce, block)" },
  "registration-refused": { action: "registration-refused", from: ["registering"], to: "activated", phase: "issuance", meaning: "the contract refused the registration: nothing registered, retryable" },
  "register": { action: "register", from: ["registering"], to: "registered", phase: "issuance", meaning: "the registration was mined; credential id recorded" },
  "issue": { action: "issue", from: ["registered"], to: "issued", phase: "issuance", meaning: "the credential JWT is signed and stored (final)" },
  "registration-recovered": { action: "registration-recovered", from: ["registering"], to: "registered", phase: "reconcile", meaning: "an interrupted registration is found by its log and recorded" },
  "registration-retry": { action: "registration-retry", from: ["registering"], to: "registering", phase: "reconcile", meaning: "a registration that provably was never mined gets a new intent" },
} as const satisfies Record<string, Transition>;

export type TransitionAction = keyof typeof TRANSITIONS;

export function transitionOf(action: TransitionAction): Transition {
  return TRANSITIONS[action];
}

/** States with no transition out: a request never leaves them. */
export const FINAL_STATES: readonly WorkflowState[] = WORKFLOW_STATES.filter(
  (s) => !Object.values(TRANSITIONS).some((t: Transition) => t.from.includes(s) && t.to !== s),
);

/** States a request can be cancelled from. */
export const CANCELLABLE_STATES: readonly WorkflowState[] = TRANSITIONS.cancel.from;

/** The states from which any of `actions` may start (what a public step accepts). */
export function statesFor(...actions: TransitionAction[]): WorkflowState[] {
  return WORKFLOW_STATES.filter((s) => actions.some((a) => (TRANSITIONS[a].from as readonly WorkflowState[]).includes(s)));
}

/** What has to happen next in each state, in words (shown with a record and in wrong-state errors). */
export const NEXT_STEP: Record<WorkflowState, string> = {
  requested: "approve or reject (department head)",
  refused: "none: refused for good (HR submits a new request)",
  rejected: "none: rejected for good (HR submits a new request)",
  approved: "verify the applicant's identity (startIdentityVerification, then verifyIdentity)",
  identity_failed: "none: identity verification failed for good (HR submits a new request)",
  identity_verified: "invite (sends the activation SMS)",
  invited: "activate on the device with the link and code from the SMS (or invite again)",
  activated: "issue",
  cancelled: "none: cancelled (HR submits a new request)",
  registering: "reconcile (the issuance was interrupted during registration)",
  registered: "reconcile (the issuance was interrupted before the credential was signed)",
  issued: "none: issued (a new device needs a reissue request from HR)",
};

/** The transition table as docs/ISSUANCE.md shows it (a test checks the doc holds exactly this). */
export function transitionTableMarkdown(): string {
  const rows = Object.values(TRANSITIONS).map((t: Transition) =>
    `| \`${t.action}\` | ${t.from.length === 0 ? "(new)" : t.from.map((s) => `\`${s}\``).join(", ")} | \`${t.to}\` | ${t.phase} | ${t.meaning} |`);
  return ["| Action (audit) | From | To | Phase | Meaning |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
