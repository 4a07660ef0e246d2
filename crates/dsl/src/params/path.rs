//! The JSONPath inside a reference: `workflow.input.items[0]['x-y']`.

use std::fmt;

/// Where a reference starts reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Root {
    /// `workflow`: the execution's input, output, variables and metadata.
    Workflow,
    /// `CPEWF_TASK_ID`: the id of the task being scheduled.
    TaskId,
    /// A task reference name.
    Task(String),
    /// The whole document (`$[0]`, `$..x`): no single named root.
    Document,
}

impl Root {
    /// The root a first path name denotes.
    pub fn from_name(name: &str) -> Root {
        match name {
            "workflow" => Root::Workflow,
            "CPEWF_TASK_ID" => Root::TaskId,
            other => Root::Task(other.to_owned()),
        }
    }
}

/// One step of a path after its root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`; negative counts from the end.
    Index(i64),
    /// `[*]` or `.*`: every member or item.
    Wildcard,
    /// `..name`: `name` at any depth below.
    Descendant(String),
}

/// A parsed reference path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    /// The root.
    pub root: Root,
    /// Steps below the root.
    pub steps: Vec<Step>,
}

/// Why a reference's text is not a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct PathError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the path text.
    pub offset: usize,
}

impl Path {
    /// Parses path text such as `t.output.items[0].id` or `$.workflow.input['a b']`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let text = text.trim();
        let mut parser = Parser { text, pos: 0 };
        let mut steps = Vec::new();
        if parser.eat("$") {
            if parser.at_end() {
                return Ok(Path {
                    root: Root::Document,
                    steps,
                });
            }
        } else {
            let name = parser.name();
            if name.is_empty() {
                return Err(parser.error("expected a name"));
            }
            steps.push(Step::Field(name.to_owned()));
        }
        while !parser.at_end() {
            steps.push(parser.step()?);
        }
        let root = match steps.first() {
            Some(Step::Field(name)) => {
                let root = Root::from_name(name);
                steps.remove(0);
                root
            }
            _ => Root::Document,
        };
        Ok(Path { root, steps })
    }

    /// The first step below the root, when it is a field (`input` in `t.input.x`).
    pub fn first_field(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Field(name)) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Workflow => f.write_str("workflow")?,
            Root::TaskId => f.write_str("CPEWF_TASK_ID")?,
            Root::Task(name) => f.write_str(name)?,
            Root::Document => f.write_str("$")?,
        }
        for step in &self.steps {
            match step {
                Step::Field(name) if is_plain_name(name) => write!(f, ".{name}")?,
                Step::Field(name) => write!(f, "['{}']", name.replace('\'', "\\'"))?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::Wildcard => f.write_str("[*]")?,
                Step::Descendant(name) => write!(f, "..{name}")?,
            }
        }
        Ok(())
    }
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn error(&self, message: &str) -> PathError {
        PathError {
            message: message.to_owned(),
            offset: self.pos,
        }
    }

    /// A dot-notation name: everything up to the next `.` or `[`.
    fn name(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(['.', '[']).unwrap_or(rest.len());
        self.pos += len;
        rest[..len].trim_end()
    }

    fn step(&mut self) -> Result<Step, PathError> {
        if self.eat("..") {
            if self.eat("*") {
                return Err(self.error("`..*` is not supported"));
            }
            let name = self.name();
            if name.is_empty() {
                return Err(self.error("expected a name after `..`"));
            }
            return Ok(Step::Descendant(name.to_owned()));
        }
        if self.eat(".") {
            if self.eat("*") {
                return Ok(Step::Wildcard);
            }
            let name = self.name();
            if name.is_empty() {
                return Err(self.error("expected a name after `.`"));
            }
            return Ok(Step::Field(name.to_owned()));
        }
        if self.eat("[") {
            let step = self.bracket()?;
            if !self.eat("]") {
                return Err(self.error("expected `]`"));
            }
            return Ok(step);
        }
        Err(self.error("expected `.` or `[`"))
    }

    fn bracket(&mut self) -> Result<Step, PathError> {
        let rest = self.rest().trim_start();
        self.pos = self.text.len() - rest.len();
        if self.eat("*") {
            return Ok(Step::Wildcard);
        }
        for quote in ['\'', '"'] {
            if rest.starts_with(quote) {
                self.pos += 1;
                let mut name = String::new();
                let mut chars = self.rest().char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == '\\' {
                        if let Some((_, escaped)) = chars.next() {
                            name.push(escaped);
                        }
                    } else if c == quote {
                        self.pos += i + 1;
                        return Ok(Step::Field(name));
                    } else {
                        name.push(c);
                    }
                }
                return Err(self.error("unterminated quoted name"));
            }
        }
        let len = rest.find(']').unwrap_or(rest.len());
        let index = rest[..len].trim();
        match index.parse::<i64>() {
            Ok(i) => {
                self.pos += len;
                Ok(Step::Index(i))
            }
            Err(_) if index.is_empty() => {
                Err(self.error("expected an index, a quoted name or `*` after `[`"))
            }
            Err(_) => Err(self.error(&format!(
                "`[{index}]` is not an index, a quoted name or `*`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let shown = match Path::parse(text) {
            Ok(path) => path.to_string(),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(shown, expect, "path {text:?}");
    }

    #[test]
    fn paths() {
        check("workflow.input.a.b", "workflow.input.a.b");
        check("t.output.items[0].id", "t.output.items[0].id");
        check("t.output['x-y']", "t.output['x-y']");
        check("t.output[\"x y\"]", "t.output['x y']");
        check("t.output.items[*].id", "t.output.items[*].id");
        check("t.output.*", "t.output[*]");
        check("t.output..id", "t.output..id");
        check("$.workflow.input", "workflow.input");
        check("$[0].name", "$[0].name");
        check("$..externalId", "$..externalId");
        check(" CPEWF_TASK_ID ", "CPEWF_TASK_ID");
        check("t.output.items[-1]", "t.output.items[-1]");
        check(
            "t.output[",
            "error: expected an index, a quoted name or `*` after `[` at offset 9",
        );
        check(
            "t.output[?(@.a)]",
            "error: `[?(@.a)]` is not an index, a quoted name or `*` at offset 9",
        );
        check("t..", "error: expected a name after `..` at offset 3");
        check(".a", "error: expected a name at offset 0");
    }
}
