//! Command output on stdout. A reader that closes the pipe early (`tessera … | head`) ends
//! the command quietly instead of panicking inside `println!`.

use std::fmt::Display;
use std::io::{self, Write};

/// Writes `text` and a newline to stdout; a closed pipe is not an error.
pub fn line(text: impl Display) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
