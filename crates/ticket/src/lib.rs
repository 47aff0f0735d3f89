//! Permission Ticket model, per-type rules, verification and minting.
//! Pure: no I/O, no async, no clock (time is passed in).

pub mod claims;
