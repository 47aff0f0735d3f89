//! The `tessera` binary: a thin clap front end over the library crates.

fn main() {}
