//! Access algebra: SMART v2 scopes and ticket constraints combined into a Grant that judges
//! resources and compiles to storage filters. Pure: no I/O, no clock, no HTTP.

mod facts;
mod filter;

pub use facts::{ResourceFacts, Token};
pub use filter::{Filter, TokenDim};
