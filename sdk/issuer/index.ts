/** The issuer side of the mobile civil-servant ID: credential format and the persistent issuance workflow. */
export * from "../credential/index.js";
export * from "./hr-import.js";
export { parseCsv, type CsvRecord } from "./csv.js";
export * from "./identity.js";
export * from "./sms.js";
export * from "../protocol/activation.js";
export * from "../protocol/collection.js";
export { deriveCodeKey } from "./secrets.js";
export { WORKFLOW_STATES, FINAL_STATES, TRANSITIONS, NEXT_STEP, transitionTableMarkdown, type WorkflowState, type Transition, type TransitionAction } from "./transitions.js";
export { readHrExportFile } from "./hr-file.js";
export * from "./workflow.js";
