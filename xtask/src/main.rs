//! Project automation: `cargo xtask vectors [--check]`, `cargo xtask tidy`.

fn main() {}
