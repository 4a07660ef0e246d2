//! The contract between compiled state machines and the task functions: function names, payloads, error names, ARN placeholders.
