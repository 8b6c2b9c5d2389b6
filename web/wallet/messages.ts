/** The wallet's texts, Korean first, English beside (web/common/dom.ts `translator`). */
import type { Messages } from "../common/dom.js";

export const MESSAGES = {
  ko: {
    title: "모바일 공무원증", subtitle: "공무원증 지갑", language: "English",
    offline: "오프라인: 저장된 공무원증은 볼 수 있고, 받아 둔 요청에는 제시를 만들 수 있습니다.",
    offerLabel: "문자(SMS)로 받은 링크", offerHint: "문자로 받은 발급 링크를 붙여 넣으세요.", next: "다음",
    identityTitle: "본인 확인", identityHint: "인사 시스템에 등록된 휴대전화로 확인 코드를 보냅니다.", name: "성명", employeeRef: "직원 번호",
    sendCode: "확인 코드 받기", code: "확인 코드", verify: "확인",
    activateTitle: "공무원증 발급", issuer: "발급 기관", txCode: "활성화 코드 (8자리)", pin: "새 PIN (숫자 6자리)", pinEnter: "PIN (숫자 6자리)", pinConfirm: "PIN 다시 입력",
    activate: "발급받기", activating: "발급 중… 기기 키를 만들고 공무원증을 받는 중입니다.", pinMismatch: "두 PIN이 다릅니다.",
    cardTitle: "공무원증", status: "상태", holder: "소유자 DID", expires: "유효기간",
    present: "출입문 QR 제시", sign: "문서 서명", enrolBio: "생체 인증 등록", bioEnrolled: "생체 인증이 등록되었습니다.",
    history: "제시 기록", requestLabel: "QR 코드 또는 요청 링크", check: "요청 확인", camera: "카메라로 스캔",
    asks: "요청하는 곳", use: "용도", willSee: "상대가 보게 될 정보", presentWithPin: "PIN으로 제시", presentWithBio: "생체 인증으로 제시", cancel: "취소",
    accepted: "확인되었습니다", refused: "거부되었습니다", requestRefused: "이 요청에는 응답하지 않습니다",
    offlineBuilt: "오프라인: 제시를 만들었습니다. 오프라인 출입 단말에 이 코드를 보여 주세요.",
    docFile: "서명할 문서", purpose: "서명 목적 (선택)", signNow: "서명", signed: "서명되었습니다. 서명 파일을 문서와 함께 보내세요.", download: "서명 파일 받기",
    lockedTitle: "지갑이 잠겼습니다", lockedText: "PIN을 5번 틀려 기기 키가 삭제되었습니다. 인사 담당자에게 재발급을 요청하고 다시 활성화하세요.",
    reactivate: "새로 활성화", back: "돌아가기", wrongPin: "PIN이 틀렸습니다", attemptsLeft: "남은 시도",
    "claim.name": "성명", "claim.agencyCode": "기관코드", "claim.organisation": "기관", "claim.department": "부서", "claim.position": "직위", "claim.employeeRef": "직원 번호", "claim.credentialId": "공무원증 식별자",
    "use.building-gate": "청사 출입", "use.mail-login": "메일 로그인", "use.business-system-login": "업무 시스템 로그인", "use.library-card": "도서관 회원증", "use.on-duty-identity": "공무 수행 신분 확인", "use.document-signature": "문서 서명",
  },
  en: {
    title: "Mobile civil-servant ID", subtitle: "ID wallet", language: "한국어",
    offline: "Offline: your ID is shown and presentations can be built for requests already received.",
    offerLabel: "Link from the SMS", offerHint: "Paste the issuance link from your SMS.", next: "Next",
    identityTitle: "Identity check", identityHint: "A code is texted to the phone your HR record lists.", name: "Name", employeeRef: "Employee reference",
    sendCode: "Text me a code", code: "Code", verify: "Verify",
    activateTitle: "Activate your ID", issuer: "Issuer", txCode: "Activation code (8 digits)", pin: "New PIN (6 digits)", pinEnter: "PIN (6 digits)", pinConfirm: "PIN again",
    activate: "Activate", activating: "Activating… creating the device key and collecting your ID.", pinMismatch: "The two PINs differ.",
    cardTitle: "Civil-servant ID", status: "Status", holder: "Holder DID", expires: "Valid until",
    present: "Present at a gate", sign: "Sign a document", enrolBio: "Enable biometrics", bioEnrolled: "Biometrics enabled.",
    history: "Presentations", requestLabel: "QR code or request link", check: "Check request", camera: "Scan with camera",
    asks: "Who asks", use: "Use", willSee: "What they will see", presentWithPin: "Present with PIN", presentWithBio: "Present with biometrics", cancel: "Cancel",
    accepted: "Accepted", refused: "Refused", requestRefused: "This request is refused",
    offlineBuilt: "Offline: the presentation is built. Show this code to an offline-capable gate.",
    docFile: "Document to sign", purpose: "Purpose (optional)", signNow: "Sign", signed: "Signed. Send the signature file with the document.", download: "Download signature",
    lockedTitle: "Wallet locked", lockedText: "Five wrong PINs destroyed the device key. Ask HR to reissue your ID, then activate again.",
    reactivate: "Activate again", back: "Back", wrongPin: "Wrong PIN", attemptsLeft: "attempts left",
    "claim.name": "Name", "claim.agencyCode": "Agency code", "claim.organisation": "Organisation", "claim.department": "Department", "claim.position": "Position", "claim.employeeRef": "Employee reference", "claim.credentialId": "Credential id",
    "use.building-gate": "Building gate", "use.mail-login": "Mail login", "use.business-system-login": "Business-system login", "use.library-card": "Library card", "use.on-duty-identity": "On-duty identity", "use.document-signature": "Document signature",
  },
} as const satisfies Messages<string>;

export type MessageKey = keyof (typeof MESSAGES)["ko"];
