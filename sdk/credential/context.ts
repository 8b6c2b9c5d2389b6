/**
 * The JSON-LD context of our vocabulary, the document `https://w3id.org/mobile-civil-id/v1` resolves to. The same
 * document ships as `contexts/mobile-civil-id-v1.jsonld` for the services to serve (a test keeps the two equal).
 * JSON-LD 1.1, every term protected, and every term the credential uses defined here or in the VC 1.1 context, so
 * a JSON-LD processor expands the credential without dropping a claim.
 */
const NS = "https://w3id.org/mobile-civil-id/vocab#";

export const CIVIL_ID_CONTEXT_DOCUMENT = {
  "@context": {
    "@version": 1.1,
    "@protected": true,
    CivilServantIdCredential: `${NS}CivilServantIdCredential`,
    CivilIdStatusRegistry2026: {
      "@id": `${NS}CivilIdStatusRegistry2026`,
      "@context": {
        "@version": 1.1,
        "@protected": true,
        chainId: { "@id": `${NS}chainId`, "@type": "http://www.w3.org/2001/XMLSchema#integer" },
        statusRegistry: `${NS}statusRegistry`,
        credentialId: `${NS}credentialId`,
      },
    },
    name: "https://schema.org/name",
    agencyCode: { "@id": `${NS}agencyCode`, "@type": "http://www.w3.org/2001/XMLSchema#integer" },
    organisation: `${NS}organisation`,
    department: `${NS}department`,
    position: `${NS}position`,
    employeeRef: `${NS}employeeRef`,
    deviceKey: { "@id": `${NS}deviceKey`, "@type": "@json" },
  },
} as const;
