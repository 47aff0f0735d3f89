//! Rebuilds the crate when a migration is added: `refinery::embed_migrations!` reads the
//! `migrations/` directory at compile time, and cargo otherwise tracks only files the build
//! already knew, so a new `V{n}__*.sql` would be missing from a test binary built before it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
