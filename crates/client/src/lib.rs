//! Client library: private_key_jwt assertions, DPoP proofs, token exchange, FHIR fetch.
