//! Command-line mistakes on one line, `sockspec: error: MESSAGE (try
//! 'sockspec --help')`, exit status 2: clap's own errors are several lines
//! (a tip, the usage, a pointer to --help), which a script reading stderr or
//! a person scanning a CI log should not have to parse.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// A command-line mistake: printed on one line, exit status 2.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage(pub String);

impl Usage {
    pub fn line(&self) -> String {
        format!("sockspec: error: {} (try 'sockspec --help')", self.0)
    }
}

/// One context value of a clap error, as text.
fn text(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::Strings(v) => v.first().cloned(),
        ContextValue::StyledStrs(v) => v.first().map(|s| s.to_string()),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn list(err: &clap::Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        _ => Vec::new(),
    }
}

/// "a, b or c".
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// " (did you mean 'run'?)" when clap has a suggestion.
fn suggestion(err: &clap::Error) -> String {
    [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|k| text(err, k))
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

/// " for run" when the mistake was made in a command's arguments.
fn within(command: Option<&str>) -> String {
    command.map(|c| format!(" for {c}")).unwrap_or_default()
}

/// The option of "--format <FORMAT>" ("--format"), or a positional's name ("<SHELL>").
fn option_of(arg: &str) -> &str {
    if arg.starts_with('-') {
        arg.split([' ', '=']).next().unwrap_or(arg)
    } else {
        arg
    }
}

/// What the value of "--format <FORMAT>" is ("format").
fn noun_of(arg: &str) -> String {
    arg.rsplit_once('<')
        .and_then(|(_, v)| v.strip_suffix('>'))
        .unwrap_or(arg)
        .to_lowercase()
}

/// The usage line clap would print under the error ("sockspec explain <ID>").
fn usage_of(err: &clap::Error) -> Option<String> {
    let u = text(err, ContextKind::Usage)?;
    let line = u.lines().next()?.trim();
    Some(
        line.strip_prefix("Usage:")
            .unwrap_or(line)
            .trim()
            .to_string(),
    )
}

/// The one-line message of a parse error; `command` is the subcommand whose
/// arguments were being parsed, if any.
pub fn from_clap(err: &clap::Error, command: Option<&str>) -> Usage {
    let arg = text(err, ContextKind::InvalidArg).unwrap_or_default();
    let value = text(err, ContextKind::InvalidValue).unwrap_or_default();
    let msg = match err.kind() {
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "no command given".to_string()
        }
        ErrorKind::InvalidSubcommand => format!(
            "unknown command '{}'{}",
            text(err, ContextKind::InvalidSubcommand).unwrap_or_default(),
            suggestion(err)
        ),
        ErrorKind::UnknownArgument if arg.starts_with('-') => format!(
            "unknown option '{arg}'{}{}",
            within(command),
            suggestion(err)
        ),
        ErrorKind::UnknownArgument => format!(
            "unexpected argument '{arg}'{}{}",
            within(command),
            suggestion(err)
        ),
        ErrorKind::InvalidValue if value.is_empty() => format!("{} needs a value", option_of(&arg)),
        ErrorKind::InvalidValue => format!(
            "unknown {} '{value}' (use {})",
            noun_of(&arg),
            either(&list(err, ContextKind::ValidValue))
        ),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(err)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "another value".into());
            format!("{} takes {why}, not '{value}'", option_of(&arg))
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = either(&list(err, ContextKind::InvalidArg));
            match usage_of(err) {
                Some(u) => format!("missing {missing} (usage: {u})"),
                None => format!("missing {missing}"),
            }
        }
        _ => {
            // Whatever else clap says: its first line, without its own prefix.
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or("bad command line");
            first.strip_prefix("error: ").unwrap_or(first).to_string()
        }
    };
    Usage(msg)
}
