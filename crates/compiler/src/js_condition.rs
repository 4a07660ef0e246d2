//! JavaScript conditions to JSONata, so that simple SWITCH expressions and DO_WHILE loop
//! conditions run as a free Choice instead of a call to the script function.
//!
//! Conductor evaluates these scripts with `$` bound to the task's resolved input (for DO_WHILE
//! also `$.<loopRef>.iteration` and each body task's latest output under its reference name).
//! [`translate`] turns a script into a JSONata expression whose value is the script's completion
//! value; [`translate_condition`] turns it into a boolean the way Conductor's DO_WHILE reads the
//! result. Anything outside the subset below is [`Untranslatable`] and runs in the script function.
//!
//! ```
//! use ocflow_compiler::js_condition::translate;
//!
//! let params = |name: &str| (name == "x").then(|| "$states.input.x".to_owned());
//! let jsonata = translate("$.x === 'big' ? 1 : 2", &params)?;
//! assert_eq!(jsonata, "$states.input.x = 'big' ? 1 : 2");
//! assert!(translate("$.x.map(f)", &params).is_err());
//! # Ok::<(), ocflow_compiler::js_condition::Untranslatable>(())
//! ```
//!
//! # The subset
//!
//! - Programs: one expression, or `if (c) S else S` (`else if` chains, blocks, missing
//!   semicolons, trailing `;`), whose completion value is the result. With a `return` anywhere
//!   at top level, or inside `(function () { ... })()` / `(() => { ... })()`, the body is read as
//!   a function body: `if (c) { return a; } return b;` is `c ? a : b`, falling off the end is
//!   `undefined`. Each statement list holds at most one statement with an effect, so no value is
//!   computed and discarded (a discarded property read could still throw in JavaScript).
//! - Literals: decimal numbers (a leading `-` included), strings in either quote style with all
//!   JavaScript escapes, `true`, `false`, `null`, `undefined`.
//! - Input: `$.name`, `$['name']` (the `params` callback names the JSONata expression of each
//!   top-level parameter), then `.key`, `['key']`, `[n]` and `.length` on any value.
//! - Operators: `==` `!=` `===` `!==` `<` `<=` `>` `>=` `&&` `||` `!` `?:` and parentheses.
//!
//! Refused: calls, arithmetic, assignments, other identifiers, template literals, regular
//! expressions, property names that JavaScript inherits from a prototype (`toString`, `map`,
//! `indexOf`, ...), equality between two values that may both be objects (JavaScript compares
//! references), and parameters that use the `$js` prefix the helpers below reserve.
//!
//! # Equivalences
//!
//! JSONata's operators differ from JavaScript's, so wherever a type is not known statically the
//! translation calls small helpers defined at the head of the expression; each implements the
//! ECMAScript algorithm over JSON values (JSONata's undefined stands for `undefined`):
//!
//! - `$jsGet(v, k)`: property read. Objects give their own property; arrays an element or their
//!   `$count` for `length`; strings a character or their `$length`; numbers and booleans
//!   undefined; `null` and undefined fail with `$error`, as JavaScript throws a `TypeError`.
//!   JSONata's own paths would map over arrays and treat `5[0]` as `5`, hence the helper.
//! - `$jsTruthy(v)`: JavaScript truthiness (`[]` and `{}` are truthy, unlike `$boolean`).
//! - `$jsPrim(v)`: `ToPrimitive`: an array becomes its elements joined with `,` (`null` as
//!   empty), an object `[object Object]`.
//! - `$jsNum(v)`: `ToNumber` of a primitive; undefined stands for `NaN`, so every comparison
//!   with it is false, as in JavaScript.
//! - `$jsCmp(a, b)`: the abstract relational comparison: two strings compare as strings, else
//!   both sides as numbers; `-1`, `0`, `1` or undefined (`NaN`). `a < b` is `$jsCmp(a, b) = -1`,
//!   `a <= b` is `$jsCmp(a, b) in [-1, 0]`.
//! - `$jsEq(a, b, same)` / `$jsLooseEq(a, b, same)`: `===` and `==`; `same` says whether two
//!   objects would be the same reference, which is known statically: both sides are the same
//!   input path (scripts see a fresh parse of their input, so different paths are different
//!   objects).
//!
//! `&&` and `||` return an operand, as in JavaScript (`($jsA := a; $jsTruthy($jsA) ? b : $jsA)`);
//! when both sides are booleans they become `and`/`or`. Comparisons with a literal of known type
//! use JSONata's operators directly where they agree: `x === 'a'` is `x = 'a'` (JSONata's `=`
//! is false across types and for undefined, as `===` is), `x == null` is "undefined or null".
//!
//! Known differences, all on inputs conditions hardly meet: `.length` and indexing count
//! Unicode characters where JavaScript counts UTF-16 code units (they differ for characters
//! outside the Basic Multilingual Plane, which also order differently in string comparisons);
//! numbers inside arrays are joined with `$string`, which rounds to 15 significant digits;
//! `ToNumber` of strings that JavaScript reads as numbers but JSON does not (`+5`, `.5`, `0x1f`,
//! `Infinity`, or padded with non-ASCII white space) fails with `$error` instead of guessing.

use std::fmt;

/// Why a condition could not be translated (it then runs in the script function).
#[derive(Debug, Clone, PartialEq)]
pub struct Untranslatable {
    /// What stopped the translation.
    pub reason: String,
}

impl fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "untranslatable condition: {}", self.reason)
    }
}

impl std::error::Error for Untranslatable {}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Untranslatable> {
    Err(Untranslatable {
        reason: reason.into(),
    })
}

/// Translates `source` into a JSONata expression (without the `{% %}` delimiters) whose value is
/// the script's completion value (JSONata's undefined where JavaScript gives `undefined`).
///
/// `params(name)` gives the JSONata expression for the top-level `$.name` (None: the name is
/// unknown and reads as undefined).
pub fn translate(
    source: &str,
    params: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Untranslatable> {
    let program = Parser::new(source)?.program()?;
    let mut emitter = Emitter::new(params);
    let value = emitter.program(&program)?;
    Ok(emitter.finish(value.code))
}

/// Like [`translate`], but always a boolean, read the way Conductor reads a DO_WHILE condition
/// (`ScriptEvaluator.evalBool`): a boolean as is, a number when greater than zero, anything else
/// false.
pub fn translate_condition(
    source: &str,
    params: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Untranslatable> {
    let program = Parser::new(source)?.program()?;
    let mut emitter = Emitter::new(params);
    let value = emitter.program(&program)?;
    let code = match value.ty {
        Ty::Bool => value.code,
        Ty::Num => format!("{} > 0", value.operand()),
        Ty::Str | Ty::Null | Ty::Undef | Ty::Any => format!(
            "($jsR := {}; $type($jsR) = 'boolean' ? $jsR : $type($jsR) = 'number' and $jsR > 0)",
            value.code
        ),
    };
    Ok(emitter.finish(code))
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Str(String),
    Ident(String),
    Punct(&'static str),
    Eof,
}

const PUNCTUATORS: [&str; 25] = [
    "===", "!==", "=>", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "?", ":", "(", ")", "{",
    "}", "[", "]", ".", ",", ";", "-", "=",
];

fn lex(source: &str) -> Result<Vec<Token>, Untranslatable> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() || c == '\u{feff}' {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && !matches!(chars[i], '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let end = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .ok_or_else(|| Untranslatable {
                    reason: "unterminated comment".into(),
                })?;
            i = end + 2;
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            if c == '0' && next.is_some_and(|n| n.is_ascii_alphanumeric() && n != 'e' && n != 'E') {
                return refuse("only decimal number literals are supported");
            }
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                i += 1;
                if i < chars.len() && matches!(chars[i], '+' | '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                return refuse(format!("malformed number `{text}{}`", chars[i]));
            }
            match text.parse::<f64>() {
                Ok(n) if n.is_finite() && text.matches('.').count() <= 1 => {
                    tokens.push(Token::Num(n));
                }
                _ => return refuse(format!("malformed number `{text}`")),
            }
        } else if c == '\'' || c == '"' {
            let (text, end) = lex_string(&chars, i)?;
            tokens.push(Token::Str(text));
            i = end;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if let Some(p) = PUNCTUATORS.iter().find(|p| {
            p.chars()
                .enumerate()
                .all(|(k, pc)| chars.get(i + k) == Some(&pc))
        }) {
            tokens.push(Token::Punct(p));
            i += p.chars().count();
        } else {
            return refuse(format!("unsupported character `{c}`"));
        }
    }
    tokens.push(Token::Eof);
    Ok(tokens)
}

/// Lexes the string literal opening at `start`; returns its value and the index after it.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), Untranslatable> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    let hex = |from: usize, len: usize| -> Result<u32, Untranslatable> {
        let digits: String = chars
            .get(from..from + len)
            .unwrap_or_default()
            .iter()
            .collect();
        if digits.len() != len || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
            return refuse("malformed escape in a string");
        }
        u32::from_str_radix(&digits, 16).or_else(|_| refuse("malformed escape in a string"))
    };
    loop {
        let Some(&c) = chars.get(i) else {
            return refuse("unterminated string");
        };
        i += 1;
        match c {
            c if c == quote => return Ok((text, i)),
            '\n' | '\r' => return refuse("unterminated string"),
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return refuse("unterminated string");
                };
                i += 1;
                match e {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    'b' => text.push('\u{8}'),
                    'f' => text.push('\u{c}'),
                    'v' => text.push('\u{b}'),
                    '0' if !chars.get(i).is_some_and(char::is_ascii_digit) => text.push('\0'),
                    '1'..='9' | '0' => return refuse("octal escapes are not supported"),
                    'x' => {
                        let code = hex(i, 2)?;
                        i += 2;
                        text.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    'u' => {
                        let code = if chars.get(i) == Some(&'{') {
                            let close = (i..chars.len()).find(|&j| chars[j] == '}');
                            let Some(close) = close else {
                                return refuse("malformed escape in a string");
                            };
                            let code = hex(i + 1, close - i - 1)?;
                            i = close + 1;
                            code
                        } else {
                            let code = hex(i, 4)?;
                            i += 4;
                            code
                        };
                        match char::from_u32(code) {
                            Some(ch) => text.push(ch),
                            None if (0xd800..0xdc00).contains(&code)
                                && chars.get(i) == Some(&'\\')
                                && chars.get(i + 1) == Some(&'u') =>
                            {
                                let low = hex(i + 2, 4)?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return refuse("lone surrogate in a string");
                                }
                                i += 6;
                                let pair = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                                text.push(char::from_u32(pair).unwrap_or('\u{fffd}'));
                            }
                            None => return refuse("lone surrogate in a string"),
                        }
                    }
                    // A line continuation adds nothing.
                    '\n' | '\u{2028}' | '\u{2029}' => {}
                    '\r' => {
                        if chars.get(i) == Some(&'\n') {
                            i += 1;
                        }
                    }
                    other => text.push(other),
                }
            }
            other => text.push(other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree and parser

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    Undefined,
    /// `$`, the script's input.
    Input,
    Member(Box<Expr>, Key),
    Not(Box<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A function without parameters, not called (yet): its body.
    Function(Vec<Stmt>),
    /// An immediately invoked function without parameters: its body.
    Invoke(Vec<Stmt>),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CompareOp {
    LooseEq,
    LooseNe,
    StrictEq,
    StrictNe,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Stmt {
    Expr(Expr),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    Block(Vec<Stmt>),
    Return(Option<Expr>),
    Empty,
}

/// A parsed script: its statements, and whether they are read as a function body (a top-level
/// `return`, which the script function runs wrapped in a function, as Conductor does).
#[derive(Debug)]
struct Program {
    body: Vec<Stmt>,
    function_body: bool,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn new(source: &str) -> Result<Self, Untranslatable> {
        Ok(Self {
            tokens: lex(source)?,
            pos: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&Token::Eof)
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        self.pos += 1;
        token
    }

    fn at(&self, punct: &str) -> bool {
        matches!(self.peek(), Token::Punct(p) if *p == punct)
    }

    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Ident(w) if w == word)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.at(punct);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, punct: &str) -> Result<(), Untranslatable> {
        if self.eat(punct) {
            Ok(())
        } else {
            refuse(format!(
                "expected `{punct}`, found {}",
                describe(self.peek())
            ))
        }
    }

    fn enter(&mut self) -> Result<(), Untranslatable> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return refuse("the script nests too deeply");
        }
        Ok(())
    }

    fn program(&mut self) -> Result<Program, Untranslatable> {
        let mut body = Vec::new();
        while *self.peek() != Token::Eof {
            body.push(self.statement()?);
        }
        let function_body = body.iter().any(has_return);
        Ok(Program {
            body,
            function_body,
        })
    }

    fn statement(&mut self) -> Result<Stmt, Untranslatable> {
        self.enter()?;
        let stmt = if self.eat(";") {
            Stmt::Empty
        } else if self.eat("{") {
            Stmt::Block(self.block_rest()?)
        } else if self.at_keyword("if") {
            self.bump();
            self.expect("(")?;
            let test = self.expression()?;
            self.expect(")")?;
            let then = self.statement()?;
            let otherwise = if self.at_keyword("else") {
                self.bump();
                Some(Box::new(self.statement()?))
            } else {
                None
            };
            Stmt::If(test, Box::new(then), otherwise)
        } else if self.at_keyword("return") {
            self.bump();
            let value = if self.at(";") || self.at("}") || *self.peek() == Token::Eof {
                None
            } else {
                Some(self.expression()?)
            };
            self.end_of_statement()?;
            Stmt::Return(value)
        } else if let Token::Ident(word) = self.peek()
            && is_unsupported_statement(word)
        {
            return refuse(format!("`{word}` statements are not supported"));
        } else {
            let expr = self.expression()?;
            self.end_of_statement()?;
            Stmt::Expr(expr)
        };
        self.depth -= 1;
        Ok(stmt)
    }

    /// Automatic semicolon insertion, as far as this subset needs it: a statement ends at `;`,
    /// before `}`, at the end, or (since the subset has no operator that continues a line into
    /// a new statement) before the next statement's first token.
    fn end_of_statement(&mut self) -> Result<(), Untranslatable> {
        if self.eat(";") || self.at("}") || *self.peek() == Token::Eof {
            return Ok(());
        }
        refuse(format!("expected `;`, found {}", describe(self.peek())))
    }

    fn block_rest(&mut self) -> Result<Vec<Stmt>, Untranslatable> {
        let mut body = Vec::new();
        while !self.eat("}") {
            if *self.peek() == Token::Eof {
                return refuse("expected `}`");
            }
            body.push(self.statement()?);
        }
        Ok(body)
    }

    fn expression(&mut self) -> Result<Expr, Untranslatable> {
        self.enter()?;
        let expr = self.conditional()?;
        if self.at(",") || self.at("=") || self.at("=>") {
            return refuse(format!(
                "the `{}` operator is not supported",
                describe_raw(self.peek())
            ));
        }
        self.depth -= 1;
        Ok(expr)
    }

    fn conditional(&mut self) -> Result<Expr, Untranslatable> {
        let test = self.binary(0)?;
        if !self.eat("?") {
            return Ok(test);
        }
        self.enter()?;
        let then = self.conditional()?;
        self.expect(":")?;
        let otherwise = self.conditional()?;
        self.depth -= 1;
        Ok(Expr::Conditional(
            Box::new(test),
            Box::new(then),
            Box::new(otherwise),
        ))
    }

    /// Pratt loop over the binary operators, by JavaScript's precedence.
    fn binary(&mut self, min_power: u8) -> Result<Expr, Untranslatable> {
        let mut lhs = self.unary()?;
        loop {
            let (power, op) = match self.peek() {
                Token::Punct("||") => (1, None),
                Token::Punct("&&") => (2, None),
                Token::Punct("==") => (3, Some(CompareOp::LooseEq)),
                Token::Punct("!=") => (3, Some(CompareOp::LooseNe)),
                Token::Punct("===") => (3, Some(CompareOp::StrictEq)),
                Token::Punct("!==") => (3, Some(CompareOp::StrictNe)),
                Token::Punct("<") => (4, Some(CompareOp::Lt)),
                Token::Punct("<=") => (4, Some(CompareOp::Le)),
                Token::Punct(">") => (4, Some(CompareOp::Gt)),
                Token::Punct(">=") => (4, Some(CompareOp::Ge)),
                Token::Punct("-") => return refuse("arithmetic is not supported"),
                Token::Ident(word) if word == "in" || word == "instanceof" => {
                    return refuse(format!("the `{word}` operator is not supported"));
                }
                _ => return Ok(lhs),
            };
            if power <= min_power {
                return Ok(lhs);
            }
            let token = self.bump();
            self.enter()?;
            let rhs = self.binary(power)?;
            self.depth -= 1;
            lhs = match (token, op) {
                (_, Some(op)) => Expr::Compare(op, Box::new(lhs), Box::new(rhs)),
                (Token::Punct("&&"), None) => Expr::And(Box::new(lhs), Box::new(rhs)),
                _ => Expr::Or(Box::new(lhs), Box::new(rhs)),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, Untranslatable> {
        if self.eat("!") {
            self.enter()?;
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(operand)));
        }
        if self.eat("-") {
            return match self.bump() {
                Token::Num(n) => self.postfix(Expr::Num(-n)),
                _ => refuse("negation is only supported on number literals"),
            };
        }
        if let Token::Ident(word) = self.peek()
            && matches!(
                word.as_str(),
                "typeof" | "void" | "delete" | "new" | "await"
            )
        {
            return refuse(format!("the `{word}` operator is not supported"));
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn primary(&mut self) -> Result<Expr, Untranslatable> {
        match self.bump() {
            Token::Num(n) => Ok(Expr::Num(n)),
            Token::Str(s) => Ok(Expr::Str(s)),
            Token::Ident(word) => match word.as_str() {
                "$" => Ok(Expr::Input),
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "null" => Ok(Expr::Null),
                "undefined" => Ok(Expr::Undefined),
                "function" => {
                    self.expect("(")?;
                    self.expect(")")?;
                    self.expect("{")?;
                    Ok(Expr::Function(self.block_rest()?))
                }
                _ => refuse(format!("unknown identifier `{word}`")),
            },
            Token::Punct("(") => {
                // An arrow function without parameters: `() => ...`.
                if self.eat(")") {
                    self.expect("=>")?;
                    let body = if self.eat("{") {
                        self.block_rest()?
                    } else {
                        vec![Stmt::Return(Some(self.expression()?))]
                    };
                    return Ok(Expr::Function(body));
                }
                let inner = self.expression()?;
                self.expect(")")?;
                Ok(inner)
            }
            other => refuse(format!("unexpected {}", describe(&other))),
        }
    }

    fn postfix(&mut self, mut expr: Expr) -> Result<Expr, Untranslatable> {
        loop {
            if self.eat(".") {
                match self.bump() {
                    Token::Ident(name) => expr = Expr::Member(Box::new(expr), Key::Name(name)),
                    other => return refuse(format!("unexpected {} after `.`", describe(&other))),
                }
            } else if self.eat("[") {
                let key = match self.bump() {
                    Token::Str(s) => match s.parse::<u32>() {
                        Ok(n) if n.to_string() == s && n < u32::MAX => Key::Index(n),
                        _ => Key::Name(s),
                    },
                    Token::Num(n) if n >= 0.0 && n.fract() == 0.0 && n < f64::from(u32::MAX) => {
                        // In range and integral, so the conversion is exact.
                        Key::Index(n as u32)
                    }
                    other => {
                        return refuse(format!(
                            "computed property {} is not supported",
                            describe(&other)
                        ));
                    }
                };
                self.expect("]")?;
                expr = Expr::Member(Box::new(expr), key);
            } else if self.at("(") {
                let Expr::Function(body) = expr else {
                    return refuse("function calls are not supported");
                };
                self.bump();
                if !self.eat(")") {
                    return refuse("function arguments are not supported");
                }
                expr = Expr::Invoke(body);
            } else {
                return Ok(expr);
            }
        }
    }
}

fn is_unsupported_statement(word: &str) -> bool {
    matches!(
        word,
        "var"
            | "let"
            | "const"
            | "for"
            | "while"
            | "do"
            | "switch"
            | "try"
            | "throw"
            | "function"
            | "class"
            | "break"
            | "continue"
    )
}

fn has_return(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Return(_) => true,
        Stmt::If(_, then, otherwise) => {
            has_return(then) || otherwise.as_deref().is_some_and(has_return)
        }
        Stmt::Block(body) => body.iter().any(has_return),
        Stmt::Expr(_) | Stmt::Empty => false,
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Eof => "the end of the script".to_owned(),
        Token::Num(n) => format!("number {n}"),
        Token::Str(s) => format!("string {s:?}"),
        Token::Ident(w) => format!("`{w}`"),
        Token::Punct(p) => format!("`{p}`"),
    }
}

fn describe_raw(token: &Token) -> String {
    match token {
        Token::Punct(p) => (*p).to_owned(),
        other => describe(other),
    }
}

/// Names JavaScript values inherit from `Object`, `Array`, `String`, `Number` or `Boolean`
/// prototypes (plus the `get`/`size` list interop the script function adds): reading one gives
/// a function (or a prototype), which has no JSON counterpart.
const INHERITED: &[&str] = &[
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "anchor",
    "at",
    "big",
    "blink",
    "bold",
    "charAt",
    "charCodeAt",
    "codePointAt",
    "concat",
    "constructor",
    "copyWithin",
    "endsWith",
    "entries",
    "every",
    "fill",
    "filter",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "fixed",
    "flat",
    "flatMap",
    "fontcolor",
    "fontsize",
    "forEach",
    "get",
    "hasOwnProperty",
    "includes",
    "indexOf",
    "isPrototypeOf",
    "isWellFormed",
    "italics",
    "join",
    "keys",
    "lastIndexOf",
    "link",
    "localeCompare",
    "map",
    "match",
    "matchAll",
    "normalize",
    "padEnd",
    "padStart",
    "pop",
    "propertyIsEnumerable",
    "push",
    "reduce",
    "reduceRight",
    "repeat",
    "replace",
    "replaceAll",
    "reverse",
    "search",
    "shift",
    "size",
    "slice",
    "small",
    "some",
    "sort",
    "splice",
    "split",
    "startsWith",
    "strike",
    "sub",
    "substr",
    "substring",
    "sup",
    "toExponential",
    "toFixed",
    "toLocaleLowerCase",
    "toLocaleString",
    "toLocaleUpperCase",
    "toLowerCase",
    "toPrecision",
    "toReversed",
    "toSorted",
    "toSpliced",
    "toString",
    "toUpperCase",
    "toWellFormed",
    "trim",
    "trimEnd",
    "trimLeft",
    "trimRight",
    "trimStart",
    "unshift",
    "valueOf",
    "values",
    "with",
];

/// `Object.prototype`'s names: the only inherited ones the input object `$` itself has.
const OBJECT_INHERITED: &[&str] = &[
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
];

// ---------------------------------------------------------------------------------------------
// Emitter

/// What is statically known of a translated value's JavaScript type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Num,
    Str,
    Null,
    Undef,
    /// Any JSON value or undefined (read from the input, or a mix of the above).
    Any,
}

impl Ty {
    fn join(self, other: Ty) -> Ty {
        if self == other { self } else { Ty::Any }
    }

    /// Primitive values are compared by value, so equality needs no reference identity.
    fn is_primitive(self) -> bool {
        self != Ty::Any
    }
}

/// A translated expression.
#[derive(Debug, Clone)]
struct Js {
    code: String,
    ty: Ty,
    /// The canonical input path the value was read from, if it is one (for `===` identity).
    path: Option<String>,
    /// Whether `code` needs parentheses as an operand.
    compound: bool,
    /// Whether `code` may be a conditional, which needs parentheses even inside another.
    ternary: bool,
}

impl Js {
    fn atom(code: impl Into<String>, ty: Ty) -> Self {
        Self {
            code: code.into(),
            ty,
            path: None,
            compound: false,
            ternary: false,
        }
    }

    fn compound(code: String, ty: Ty) -> Self {
        Self {
            code,
            ty,
            path: None,
            compound: true,
            ternary: false,
        }
    }

    /// `code` as the test or a branch of `? :`, where only a conditional needs parentheses.
    fn in_conditional(&self) -> String {
        if self.ternary {
            format!("({})", self.code)
        } else {
            self.code.clone()
        }
    }

    fn operand(&self) -> String {
        if self.compound {
            format!("({})", self.code)
        } else {
            self.code.clone()
        }
    }
}

/// The JSONata helpers, in dependency order: each is defined only if the expression uses it.
const HELPERS: &[(&str, &str)] = &[
    (
        "$jsGet",
        "function($v, $k) { $type($v) = 'object' ? $lookup($v, $string($k)) : $type($v) = 'array' ? ($k = 'length' ? $count($v) : $type($k) = 'number' ? $v[$k]) : $type($v) = 'string' ? ($k = 'length' ? $length($v) : $type($k) = 'number' and $k < $length($v) ? $substring($v, $k, 1)) : $type($v) = 'null' or $not($exists($v)) ? $error('cannot read properties of ' & ($exists($v) ? 'null' : 'undefined') & ' (reading ' & $string($k) & ')') }",
    ),
    (
        "$jsTruthy",
        "function($v) { $type($v) in ['array', 'object'] or ($type($v) = 'boolean' and $v) or ($type($v) = 'number' and $v != 0) or ($type($v) = 'string' and $v != '') }",
    ),
    (
        "$jsPrim",
        "function($v) { $type($v) = 'array' ? ($count($v) = 0 ? '' : $join($map($v, function($e) { $type($e) = 'null' ? '' : $string($jsPrim($e)) }), ',')) : $type($v) = 'object' ? '[object Object]' : $v }",
    ),
    (
        "$jsNum",
        "function($v) { $type($v) = 'number' ? $v : $type($v) = 'boolean' ? ($v ? 1 : 0) : $type($v) = 'null' ? 0 : $type($v) = 'string' ? ($t := $trim($v); $contains($v, /[\u{b}\u{c}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\u{feff}]/) ? $error('cannot convert a string with non-ASCII white space to a number as JavaScript does') : $t = '' ? 0 : $contains($t, /^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$/) ? $number($t) : $contains($t, /^[-+]?(Infinity|([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?)$|^0[xXoObB]/) ? $error('cannot convert ' & $t & ' to a number as JavaScript does')) }",
    ),
    (
        "$jsCmp",
        "function($a, $b) { ($pa := $jsPrim($a); $pb := $jsPrim($b); $type($pa) = 'string' and $type($pb) = 'string' ? ($pa < $pb ? -1 : $pa > $pb ? 1 : 0) : ($na := $jsNum($pa); $nb := $jsNum($pb); $exists($na) and $exists($nb) ? ($na < $nb ? -1 : $na > $nb ? 1 : 0))) }",
    ),
    (
        "$jsEq",
        "function($a, $b, $same) { $not($exists($a)) or $not($exists($b)) ? $not($exists($a)) and $not($exists($b)) : $type($a) != $type($b) ? false : $type($a) in ['array', 'object'] ? $same : $a = $b }",
    ),
    (
        "$jsLooseEq",
        "function($a, $b, $same) { ($xa := $not($exists($a)) or $type($a) = 'null'; $xb := $not($exists($b)) or $type($b) = 'null'; $xa or $xb ? $xa and $xb : $type($a) = $type($b) ? ($type($a) in ['array', 'object'] ? $same : $a = $b) : $type($a) in ['array', 'object'] or $type($b) in ['array', 'object'] ? $jsLooseEq($jsPrim($a), $jsPrim($b), false) : ($na := $jsNum($a); $nb := $jsNum($b); $exists($na) and $exists($nb) and $na = $nb)) }",
    ),
];

/// Which helpers each helper calls.
fn helper_dependencies(name: &str) -> &'static [&'static str] {
    match name {
        "$jsCmp" => &["$jsPrim", "$jsNum"],
        "$jsLooseEq" => &["$jsPrim", "$jsNum"],
        _ => &[],
    }
}

/// Statement results larger than this are refused: `if` chains in function bodies duplicate
/// the statements that follow them.
const MAX_OUTPUT: usize = 64 * 1024;

struct Emitter<'a> {
    params: &'a dyn Fn(&str) -> Option<String>,
    used: Vec<&'static str>,
}

impl<'a> Emitter<'a> {
    fn new(params: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            params,
            used: Vec::new(),
        }
    }

    fn helper(&mut self, name: &'static str) -> &'static str {
        if !self.used.contains(&name) {
            for dependency in helper_dependencies(name) {
                self.helper(dependency);
            }
            self.used.push(name);
        }
        name
    }

    /// `code` with the helpers it calls defined ahead of it.
    fn finish(&self, code: String) -> String {
        if self.used.is_empty() {
            return code;
        }
        let mut out = String::from("(");
        for (name, body) in HELPERS {
            if self.used.contains(name) {
                out.push_str(&format!("{name} := {body}; "));
            }
        }
        out.push_str(&code);
        out.push(')');
        out
    }

    fn program(&mut self, program: &Program) -> Result<Js, Untranslatable> {
        let value = if program.function_body {
            self.function_body(&program.body)?
        } else {
            self.completion(&program.body)?
        };
        if value.code.len() > MAX_OUTPUT {
            return refuse("the translation is too large");
        }
        Ok(value)
    }

    /// The completion value of a statement list, which must hold at most one statement with
    /// an effect (JavaScript's value of the list is then that statement's).
    fn completion(&mut self, body: &[Stmt]) -> Result<Js, Untranslatable> {
        let mut effective = body.iter().filter(|s| !is_empty(s));
        let (Some(stmt), None) = (effective.next(), effective.next()) else {
            return if body.iter().all(is_empty) {
                Ok(undefined())
            } else {
                refuse("more than one statement")
            };
        };
        match stmt {
            Stmt::Expr(expr) => self.value(expr),
            Stmt::Block(inner) => self.completion(inner),
            Stmt::If(test, then, otherwise) => {
                let test = self.truthy(test)?;
                let then = self.completion(std::slice::from_ref(then))?;
                let otherwise = match otherwise {
                    Some(otherwise) => self.completion(std::slice::from_ref(otherwise))?,
                    None => undefined(),
                };
                Ok(conditional(test, then, otherwise))
            }
            Stmt::Return(_) => refuse("`return` outside a function"),
            Stmt::Empty => Ok(undefined()),
        }
    }

    /// The value a function body returns.
    fn function_body(&mut self, body: &[Stmt]) -> Result<Js, Untranslatable> {
        let Some((first, rest)) = body.split_first() else {
            return Ok(undefined());
        };
        match first {
            Stmt::Empty => self.function_body(rest),
            Stmt::Return(None) => Ok(undefined()),
            Stmt::Return(Some(expr)) => self.value(expr),
            Stmt::Block(inner) => {
                let joined: Vec<Stmt> = inner.iter().chain(rest).cloned().collect();
                self.function_body(&joined)
            }
            Stmt::If(test, then, otherwise) => {
                let test = self.truthy(test)?;
                let then_path: Vec<Stmt> = std::iter::once((**then).clone())
                    .chain(rest.iter().cloned())
                    .collect();
                let else_path: Vec<Stmt> = otherwise
                    .iter()
                    .map(|s| (**s).clone())
                    .chain(rest.iter().cloned())
                    .collect();
                let then = self.function_body(&then_path)?;
                let otherwise = self.function_body(&else_path)?;
                if then.code.len() + otherwise.code.len() > MAX_OUTPUT {
                    return refuse("the translation is too large");
                }
                Ok(conditional(test, then, otherwise))
            }
            Stmt::Expr(expr) if is_literal(expr) => self.function_body(rest),
            Stmt::Expr(_) => refuse("an expression statement whose value is discarded"),
        }
    }

    /// `expr` read for its JavaScript truthiness, as a JSONata boolean.
    fn truthy(&mut self, expr: &Expr) -> Result<Js, Untranslatable> {
        let value = self.value(expr)?;
        Ok(self.truthy_of(value))
    }

    fn truthy_of(&mut self, value: Js) -> Js {
        match value.ty {
            Ty::Bool => value,
            Ty::Null | Ty::Undef if matches!(value.code.as_str(), "null" | "()") => {
                Js::atom("false", Ty::Bool)
            }
            // Evaluated all the same: reading it may fail.
            Ty::Null | Ty::Undef => Js::atom(format!("({}; false)", value.code), Ty::Bool),
            Ty::Num => Js::compound(format!("{} != 0", value.operand()), Ty::Bool),
            Ty::Str => Js::compound(format!("{} != ''", value.operand()), Ty::Bool),
            Ty::Any => {
                let helper = self.helper("$jsTruthy");
                Js::atom(format!("{helper}({})", value.code), Ty::Bool)
            }
        }
    }

    /// `expr` translated to a JSONata expression with the same value.
    fn value(&mut self, expr: &Expr) -> Result<Js, Untranslatable> {
        Ok(match expr {
            Expr::Num(n) => Js::atom(number(*n), Ty::Num),
            Expr::Str(s) => Js::atom(string(s), Ty::Str),
            Expr::Bool(b) => Js::atom(b.to_string(), Ty::Bool),
            Expr::Null => Js::atom("null", Ty::Null),
            Expr::Undefined => undefined(),
            Expr::Input => return refuse("the whole input `$` as a value"),
            Expr::Member(base, key) => self.member(base, key)?,
            Expr::Not(operand) => {
                let operand = self.truthy(operand)?;
                Js::atom(format!("$not({})", operand.code), Ty::Bool)
            }
            Expr::And(lhs, rhs) => self.logical(lhs, rhs, true)?,
            Expr::Or(lhs, rhs) => self.logical(lhs, rhs, false)?,
            Expr::Conditional(test, then, otherwise) => {
                let test = self.truthy(test)?;
                let then = self.value(then)?;
                let otherwise = self.value(otherwise)?;
                conditional(test, then, otherwise)
            }
            Expr::Compare(op, lhs, rhs) => self.compare(*op, lhs, rhs)?,
            Expr::Invoke(body) => self.function_body(body)?,
            Expr::Function(_) => return refuse("a function as a value"),
        })
    }

    fn member(&mut self, base: &Expr, key: &Key) -> Result<Js, Untranslatable> {
        if *base == Expr::Input {
            let name = match key {
                Key::Name(name) => name.clone(),
                Key::Index(n) => n.to_string(),
            };
            if OBJECT_INHERITED.contains(&name.as_str()) {
                return refuse(format!("`{name}` is inherited from a JavaScript prototype"));
            }
            let Some(code) = (self.params)(&name) else {
                return Ok(undefined());
            };
            if code.contains("$js") {
                return refuse(format!(
                    "the expression for `$.{name}` uses the reserved `$js` prefix"
                ));
            }
            let compound = !is_simple_path(&code);
            return Ok(Js {
                code,
                ty: Ty::Any,
                path: Some(format!("{name:?}")),
                compound,
                ternary: compound,
            });
        }
        if let Key::Name(name) = key
            && INHERITED.contains(&name.as_str())
        {
            return refuse(format!("`{name}` is inherited from a JavaScript prototype"));
        }
        let base = self.value(base)?;
        let (key_code, key_path) = match key {
            Key::Name(name) => (string(name), format!("{name:?}")),
            Key::Index(n) => (n.to_string(), format!("{:?}", n.to_string())),
        };
        match base.ty {
            Ty::Null | Ty::Undef => {
                return refuse("reading a property of null or undefined always throws");
            }
            Ty::Bool | Ty::Num => return Ok(undefined()),
            Ty::Str | Ty::Any => {}
        }
        let helper = self.helper("$jsGet");
        Ok(Js {
            code: format!("{helper}({}, {key_code})", base.code),
            ty: Ty::Any,
            path: base.path.map(|p| format!("{p}/{key_path}")),
            compound: false,
            ternary: false,
        })
    }

    fn logical(&mut self, lhs: &Expr, rhs: &Expr, and: bool) -> Result<Js, Untranslatable> {
        let lhs = self.value(lhs)?;
        let rhs = self.value(rhs)?;
        let word = if and { "and" } else { "or" };
        if lhs.ty == Ty::Bool && rhs.ty == Ty::Bool {
            return Ok(Js::compound(
                format!("{} {word} {}", lhs.operand(), rhs.operand()),
                Ty::Bool,
            ));
        }
        // `a && b` is `b` when `a` is truthy, else `a`; `a || b` the other way round.
        let ty = lhs.ty.join(rhs.ty);
        let test = self.truthy_of(Js::atom("$jsA", lhs.ty));
        let (then, otherwise) = if and {
            (rhs.operand(), "$jsA".to_owned())
        } else {
            ("$jsA".to_owned(), rhs.operand())
        };
        Ok(Js::atom(
            format!(
                "($jsA := {}; {} ? {then} : {otherwise})",
                lhs.code, test.code
            ),
            ty,
        ))
    }

    fn compare(&mut self, op: CompareOp, lhs: &Expr, rhs: &Expr) -> Result<Js, Untranslatable> {
        let lhs = self.value(lhs)?;
        let rhs = self.value(rhs)?;
        let negate = |js: Js| Js::atom(format!("$not({})", js.code), Ty::Bool);
        Ok(match op {
            CompareOp::StrictEq => self.strict_eq(lhs, rhs)?,
            CompareOp::StrictNe => negate(self.strict_eq(lhs, rhs)?),
            CompareOp::LooseEq => self.loose_eq(lhs, rhs)?,
            CompareOp::LooseNe => negate(self.loose_eq(lhs, rhs)?),
            CompareOp::Lt => self.relational(lhs, rhs, "<", "= -1"),
            CompareOp::Gt => self.relational(lhs, rhs, ">", "= 1"),
            CompareOp::Le => self.relational(lhs, rhs, "<=", "in [-1, 0]"),
            CompareOp::Ge => self.relational(lhs, rhs, ">=", "in [0, 1]"),
        })
    }

    fn strict_eq(&mut self, lhs: Js, rhs: Js) -> Result<Js, Untranslatable> {
        Ok(match (lhs.ty, rhs.ty) {
            (Ty::Undef, _) | (_, Ty::Undef) => {
                let other = if lhs.ty == Ty::Undef { rhs } else { lhs };
                Js::atom(format!("$not($exists({}))", other.code), Ty::Bool)
            }
            // JSONata's `=` is false across types, for undefined, and deep on values.
            (a, b) if a.is_primitive() || b.is_primitive() => {
                Js::compound(format!("{} = {}", lhs.operand(), rhs.operand()), Ty::Bool)
            }
            _ => {
                let same = same_reference(&lhs, &rhs)?;
                let helper = self.helper("$jsEq");
                Js::atom(
                    format!("{helper}({}, {}, {same})", lhs.code, rhs.code),
                    Ty::Bool,
                )
            }
        })
    }

    fn loose_eq(&mut self, lhs: Js, rhs: Js) -> Result<Js, Untranslatable> {
        let nullish = |js: &Js| matches!(js.ty, Ty::Null | Ty::Undef);
        Ok(match (lhs.ty, rhs.ty) {
            _ if nullish(&lhs) && nullish(&rhs) => Js::atom("true", Ty::Bool),
            _ if nullish(&lhs) || nullish(&rhs) => {
                let other = if nullish(&lhs) { rhs } else { lhs };
                Js::atom(
                    format!(
                        "($jsV := {}; $not($exists($jsV)) or $type($jsV) = 'null')",
                        other.code
                    ),
                    Ty::Bool,
                )
            }
            (a, b) if a == b && a != Ty::Any => {
                Js::compound(format!("{} = {}", lhs.operand(), rhs.operand()), Ty::Bool)
            }
            _ => {
                let same = if lhs.ty.is_primitive() || rhs.ty.is_primitive() {
                    false
                } else {
                    same_reference(&lhs, &rhs)?
                };
                let helper = self.helper("$jsLooseEq");
                Js::atom(
                    format!("{helper}({}, {}, {same})", lhs.code, rhs.code),
                    Ty::Bool,
                )
            }
        })
    }

    fn relational(&mut self, lhs: Js, rhs: Js, op: &str, on_cmp: &str) -> Js {
        if lhs.ty == rhs.ty && matches!(lhs.ty, Ty::Num | Ty::Str) {
            return Js::compound(
                format!("{} {op} {}", lhs.operand(), rhs.operand()),
                Ty::Bool,
            );
        }
        let helper = self.helper("$jsCmp");
        Js::compound(
            format!("{helper}({}, {}) {on_cmp}", lhs.code, rhs.code),
            Ty::Bool,
        )
    }
}

/// Whether two values that may be objects are the same object: only when read from the same
/// input path; other mixes (a value picked by `?:` or `&&`) cannot be told apart statically.
fn same_reference(lhs: &Js, rhs: &Js) -> Result<bool, Untranslatable> {
    match (&lhs.path, &rhs.path) {
        (Some(a), Some(b)) => Ok(a == b),
        _ => refuse("equality between two values that may both be objects"),
    }
}

fn conditional(test: Js, then: Js, otherwise: Js) -> Js {
    if test.code == "true" {
        return then;
    }
    if test.code == "false" {
        return otherwise;
    }
    let ty = then.ty.join(otherwise.ty);
    let code = if otherwise.ty == Ty::Undef && otherwise.code == "()" {
        format!("{} ? {}", test.in_conditional(), then.in_conditional())
    } else {
        format!(
            "{} ? {} : {}",
            test.in_conditional(),
            then.in_conditional(),
            otherwise.in_conditional()
        )
    };
    Js {
        ternary: true,
        ..Js::compound(code, ty)
    }
}

fn undefined() -> Js {
    Js::atom("()", Ty::Undef)
}

fn is_empty(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Empty => true,
        Stmt::Block(body) => body.iter().all(is_empty),
        _ => false,
    }
}

fn is_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null | Expr::Undefined
    )
}

/// Whether a parameter expression can be an operand without parentheses: a variable or a dotted
/// path of plain names.
fn is_simple_path(code: &str) -> bool {
    !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
}

/// A number as a JSONata literal.
fn number(n: f64) -> String {
    if n == 0.0 {
        // -0 and 0 behave alike in every comparison of the subset.
        "0".to_owned()
    } else if n < 0.0 {
        // JSONata reads `-5` as negation, which is fine everywhere but after `? :`, so wrap it.
        format!("({n})")
    } else {
        format!("{n}")
    }
}

/// A string as a single-quoted JSONata literal (JSONata has no `\'` escape).
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\u0027"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(name: &str) -> Option<String> {
        match name {
            "unknown" => None,
            "odd-name" => Some("$lookup($states.input, 'odd-name')".to_owned()),
            "reserved" => Some("$jsGet".to_owned()),
            _ => Some(format!("$states.input.{name}")),
        }
    }

    fn check(source: &str, expected: &str) {
        assert_eq!(
            translate(source, &params).as_deref(),
            Ok(expected),
            "{source}"
        );
    }

    fn check_refused(source: &str, reason: &str) {
        assert_eq!(
            translate(source, &params),
            Err(Untranslatable {
                reason: reason.to_owned()
            }),
            "{source}"
        );
    }

    #[test]
    fn translations() {
        for (source, expected) in [
            ("$.x === 5", "$states.input.x = 5"),
            ("$.x !== 'a'", "$not($states.input.x = 'a')"),
            ("$.x === null", "$states.input.x = null"),
            ("$.x === undefined", "$not($exists($states.input.x))"),
            (
                "$.x == null",
                "($jsV := $states.input.x; $not($exists($jsV)) or $type($jsV) = 'null')",
            ),
            ("'a' == 'a'", "'a' = 'a'"),
            ("1 < 2", "1 < 2"),
            ("-1.5 <= 2e3", "(-1.5) <= 2000"),
            ("true && false", "true and false"),
            ("!true || false", "$not(true) or false"),
            ("$.unknown === undefined", "$not($exists(()))"),
            ("$.unknown == null", "true"),
            (
                "$['odd-name'] === 1",
                "($lookup($states.input, 'odd-name')) = 1",
            ),
            ("'it\\'s' === \"\\u00e9\\n\"", "'it\\u0027s' = 'é\\n'"),
            (
                "$.x ? 'yes' : 'no'",
                "($jsTruthy := function($v) { $type($v) in ['array', 'object'] or ($type($v) = 'boolean' and $v) or ($type($v) = 'number' and $v != 0) or ($type($v) = 'string' and $v != '') }; $jsTruthy($states.input.x) ? 'yes' : 'no')",
            ),
            ("if (true) { 1 } else { 2 };", "1"),
            (
                "if ($.x === 1) { true; } else { false; }",
                "$states.input.x = 1 ? true : false",
            ),
            (
                "if ($.x === 1) true; else if ($.x === 2) false",
                "$states.input.x = 1 ? true : ($states.input.x = 2 ? false)",
            ),
            (
                "if ($.x === 1) { return 'a'; } return 'b';",
                "$states.input.x = 1 ? 'a' : 'b'",
            ),
            (
                "(function () { if ($.x === 1) { return true } return false })();",
                "$states.input.x = 1 ? true : false",
            ),
            ("(() => $.x === 1)()", "$states.input.x = 1"),
            ("// note\n$.x /* inline */ === 1", "$states.input.x = 1"),
        ] {
            check(source, expected);
        }
    }

    #[test]
    fn helpers_are_defined_once_with_their_dependencies() {
        let out = translate("$.a < $.b && $.c <= 1", &params).expect("translates");
        assert!(out.starts_with("($jsPrim := function"), "{out}");
        assert_eq!(out.matches("$jsCmp :=").count(), 1, "{out}");
        assert!(out.ends_with(
            "($jsCmp($states.input.a, $states.input.b) = -1) and ($jsCmp($states.input.c, 1) in [-1, 0]))"
        ), "{out}");
        let out = translate("$.a.b['c'][0].length", &params).expect("translates");
        assert!(
            out.ends_with(
                "$jsGet($jsGet($jsGet($jsGet($states.input.a, 'b'), 'c'), 0), 'length'))"
            ),
            "{out}"
        );
    }

    #[test]
    fn conditions_read_results_as_conductor_does() {
        let cond = |s: &str| translate_condition(s, &params);
        assert_eq!(cond("$.x === 1").as_deref(), Ok("$states.input.x = 1"));
        assert_eq!(cond("2").as_deref(), Ok("2 > 0"));
        assert_eq!(
            cond("'yes'").as_deref(),
            Ok(
                "($jsR := 'yes'; $type($jsR) = 'boolean' ? $jsR : $type($jsR) = 'number' and $jsR > 0)"
            )
        );
    }

    #[test]
    fn refusals() {
        for (source, reason) in [
            ("$.x.indexOf('a') >= 0", "function calls are not supported"),
            (
                "$.x.indexOf",
                "`indexOf` is inherited from a JavaScript prototype",
            ),
            (
                "$.toString",
                "`toString` is inherited from a JavaScript prototype",
            ),
            ("$.a + 1", "unsupported character `+`"),
            ("$.a - 1", "arithmetic is not supported"),
            ("$.a * 2", "unsupported character `*`"),
            ("Math.max(1, 2)", "unknown identifier `Math`"),
            ("$.a = 1", "the `=` operator is not supported"),
            ("var x = 1; x", "`var` statements are not supported"),
            ("`t${1}`", "unsupported character ```"),
            ("$.a[$.b]", "computed property `$` is not supported"),
            ("$", "the whole input `$` as a value"),
            (
                "$.unknown.b",
                "reading a property of null or undefined always throws",
            ),
            (
                "$.reserved",
                "the expression for `$.reserved` uses the reserved `$js` prefix",
            ),
            ("$.a; $.b", "more than one statement"),
            ("(function (x) { return x; })(1)", "expected `)`, found `x`"),
            ("0x1f", "only decimal number literals are supported"),
            ("'\\u{d800}'", "lone surrogate in a string"),
            ("'open", "unterminated string"),
            (
                "if ($.a) { $.b; } return 1;",
                "an expression statement whose value is discarded",
            ),
            (
                "($.a && $.b) === ($.c || $.d)",
                "equality between two values that may both be objects",
            ),
            ("$.a(1)", "function calls are not supported"),
            ("typeof $.a", "the `typeof` operator is not supported"),
            ("'a' in $", "the `in` operator is not supported"),
        ] {
            check_refused(source, reason);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        check_refused(&deep, "the script nests too deeply");
        let deep = format!("{}1", "!".repeat(500));
        check_refused(&deep, "the script nests too deeply");
    }
}
