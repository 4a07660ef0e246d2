//! Amazon States Language (JSONata mode): model and structural checks.
