/**
 * Why a verifier refused a civil-servant ID, in plain Korean and English: one table for every page that shows a
 * refusal (gate kiosk, wallet). Keys are the SDK's RefusalCode names (sdk/verifier/results.ts); an unknown code
 * falls back to a generic "cannot be verified" (never to a green).
 */
export interface Bilingual {
  readonly ko: string;
  readonly en: string;
}

const NOT_ACCREDITED: Bilingual = { ko: "인가되지 않은 기관이 발급한 신분증입니다", en: "Issued by an organisation that is not accredited" };
const FORGED: Bilingual = { ko: "위조되었거나 손상된 신분증입니다", en: "Forged or damaged ID" };
const RETRY: Bilingual = { ko: "요청이 만료되었거나 재사용되었습니다. 다시 대 주세요", en: "The request expired or was reused: please tap again" };
const OTHER_LEDGER: Bilingual = { ko: "다른 원장의 신분증입니다", en: "An ID of another ledger" };

const REFUSALS: Record<string, Bilingual> = {
  CREDENTIAL_LOCKED: { ko: "분실 신고로 정지된 신분증입니다", en: "Locked: this phone was reported lost" },
  CREDENTIAL_REVOKED: { ko: "폐기된 신분증입니다", en: "This ID has been revoked" },
  CREDENTIAL_SUPERSEDED: { ko: "새 휴대전화로 재발급되어 더 이상 쓸 수 없는 신분증입니다", en: "Replaced by a newer phone: this ID is no longer valid" },
  CREDENTIAL_EXPIRED: { ko: "유효기간이 지난 신분증입니다", en: "This ID has expired" },
  CREDENTIAL_NOT_YET_VALID: { ko: "아직 유효기간이 시작되지 않은 신분증입니다", en: "This ID is not valid yet" },
  CREDENTIAL_ISSUED_IN_FUTURE: { ko: "발급 시각이 올바르지 않은 신분증입니다", en: "This ID has an impossible issuance time" },
  CREDENTIAL_NOT_REGISTERED: { ko: "원장에 등록되지 않은 신분증입니다", en: "This ID is not registered on the ledger" },
  CREDENTIAL_BINDING_MISMATCH: { ko: "원장 등록 내용과 다른 신분증입니다", en: "This ID does not match its ledger registration" },
  CREDENTIAL_TYPE_NOT_ACCEPTED: { ko: "이 출입구에서 받지 않는 종류의 신분증입니다", en: "This kind of ID is not accepted here" },
  ISSUER_NOT_ACCREDITED: NOT_ACCREDITED,
  ISSUER_KEY_COMPROMISED: { ko: "발급기관 키가 유출되어 무효인 신분증입니다", en: "The issuer's key was compromised: this ID is void" },
  ISSUER_KEY_NOT_VALID_AT_ISSUANCE: NOT_ACCREDITED,
  ORGANISATION_SUSPENDED: { ko: "발급기관의 인가가 정지되었습니다", en: "The issuing organisation is suspended" },
  ORGANISATION_REMOVED: { ko: "발급기관의 인가가 취소되었습니다", en: "The issuing organisation is no longer accredited" },
  ORGANISATION_NOT_ALLOWED: { ko: "이 출입구에서 허용되지 않은 기관입니다", en: "This organisation is not admitted here" },
  CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER: NOT_ACCREDITED,
  INDEX_STALE: { ko: "원장 정보가 오래되어 확인할 수 없습니다", en: "Ledger data is stale: cannot verify" },
  LEDGER_UNAVAILABLE: { ko: "원장에 연결할 수 없어 확인할 수 없습니다", en: "Ledger unavailable: cannot verify" },
  LEDGER_DISAGREEMENT: { ko: "원장 노드의 응답이 서로 달라 확인할 수 없습니다", en: "Ledger nodes disagree: cannot verify" },
  WRONG_CHAIN: OTHER_LEDGER,
  WRONG_STATUS_REGISTRY: OTHER_LEDGER,
  MALFORMED_PRESENTATION: FORGED,
  MALFORMED_CREDENTIAL: FORGED,
  ALGORITHM_NOT_ALLOWED: FORGED,
  BAD_PRESENTATION_SIGNATURE: FORGED,
  BAD_CREDENTIAL_SIGNATURE: FORGED,
  HOLDER_MISMATCH: { ko: "신분증 소유자의 휴대전화가 아닙니다", en: "Not presented by the ID's own phone" },
  CHALLENGE_MISSING: RETRY,
  CHALLENGE_MISMATCH: RETRY,
  CHALLENGE_UNKNOWN: RETRY,
  CHALLENGE_REPLAYED: RETRY,
  CHALLENGE_EXPIRED: RETRY,
  AUDIENCE_MISSING: RETRY,
  AUDIENCE_MISMATCH: { ko: "다른 출입구에 제시된 신분증입니다", en: "Presented to another gate" },
  PRESENTATION_EXPIRED: RETRY,
  PRESENTATION_NOT_YET_VALID: { ko: "휴대전화 시계를 확인해 주세요", en: "Check the phone's clock" },
  PRESENTATION_ISSUED_IN_FUTURE: { ko: "휴대전화 시계를 확인해 주세요", en: "Check the phone's clock" },
  PRESENTATION_LIFETIME_TOO_LONG: FORGED,
  INTERNAL_ERROR: { ko: "확인 중 오류가 발생했습니다", en: "Verification error" },
};

const UNKNOWN: Bilingual = { ko: "확인할 수 없는 신분증입니다", en: "This ID cannot be verified" };

/** The plain-language reason for a refusal code. */
export function refusalText(code: string): Bilingual {
  return Object.prototype.hasOwnProperty.call(REFUSALS, code) ? REFUSALS[code]! : UNKNOWN;
}

/**
 * The reasons to show, most telling first (a lock or supersession says more to the guard than a signature detail),
 * without repeating the same sentence.
 */
export function refusalTexts(codes: readonly string[]): Bilingual[] {
  const order = Object.keys(REFUSALS);
  const rank = (c: string) => (order.includes(c) ? order.indexOf(c) : order.length);
  const seen = new Set<string>();
  const out: Bilingual[] = [];
  for (const code of [...codes].sort((a, b) => rank(a) - rank(b))) {
    const text = refusalText(code);
    if (seen.has(text.ko)) continue;
    seen.add(text.ko);
    out.push(text);
  }
  return out.length === 0 ? [UNKNOWN] : out;
}
