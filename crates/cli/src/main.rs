//! `ocflow`: compile Conductor workflows to Step Functions and run them locally.

fn main() {}
