//! JOSE for Tessera: JWK/JWKS, RFC 7638 thumbprints, compact JWS verify/sign with an algorithm allow-list. Pure: no I/O, no clock.
