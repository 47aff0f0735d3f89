//! The ticket issuer: minting API, JWKS publication, revocation status lists.
