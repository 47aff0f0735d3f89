//! How a failed command reports itself on stderr: `error: <message>: <cause>: ...`, each cause
//! once, multi-line messages (such as the TOML parser's excerpt with its caret) kept intact.

/// The text after `error: ` for `err`.
///
/// Library errors differ in convention: some print their cause inside their own message
/// (`cannot read config file X: No such file or directory`) and also expose it as `source`, so
/// a naive `{:#}` repeats it. A cause whose text already ends the message is not repeated.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !text.is_empty() && !out.trim_end().ends_with(text.trim_end()) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::render;

    fn missing() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        // The shape of a thiserror `#[error("cannot read {path}: {source}")]` with `source`.
        let err = anyhow::Error::new(missing()).context(format!("cannot read /x: {}", missing()));
        assert_eq!(render(&err), "cannot read /x: entity not found");
    }

    #[test]
    fn causes_not_in_the_message_are_appended_once_each() {
        let err = anyhow::Error::new(missing())
            .context("reading /x")
            .context("loading keys");
        assert_eq!(render(&err), "loading keys: reading /x: entity not found");
    }

    #[test]
    fn multi_line_messages_keep_their_lines() {
        let err =
            anyhow::anyhow!("config file f: TOML parse error\n  |\n1 | a = \n  |    ^\nbad\n");
        assert_eq!(
            render(&err),
            "config file f: TOML parse error\n  |\n1 | a = \n  |    ^\nbad"
        );
    }
}
