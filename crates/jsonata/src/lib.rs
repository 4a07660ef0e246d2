//! JSONata evaluation with the functions Step Functions adds.
