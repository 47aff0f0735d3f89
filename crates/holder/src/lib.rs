//! The Data Holder: token endpoint (RFC 8693), FHIR R4 API, discovery, audit.
