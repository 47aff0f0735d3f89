//! Integration tests of the demo: the whole run in-process (real HTTP on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod run;
mod workbench;
